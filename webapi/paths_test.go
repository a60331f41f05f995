package webapi

import (
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/openapi"
)

// TestEveryPathDescribed: each path the WebAPI answers is in the list the
// OpenAPI description must describe (openapi's own test checks that
// side) and the guard audit writes to.
func TestEveryPathDescribed(t *testing.T) {
	r := newRig(t, rigOpt{})
	listed := map[string]bool{}
	for _, p := range strings.Fields(openapi.Paths) {
		listed[p] = true
	}
	for p := range r.srv.routes {
		if !listed[p] {
			t.Errorf("%s is served by the WebAPI but not in openapi.Paths", p)
		}
	}
}
