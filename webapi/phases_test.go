package webapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// The phase request travels with the other C2 fields: on <base>/status
// as PhaseRequest and in /api/v1/status as phase_request, with C2 only —
// a charger without C2 (or a bridged box) says nothing about phases.
func TestPhaseRequestInStatusDocuments(t *testing.T) {
	r := newRig(t, rigOpt{})
	for _, c := range []struct {
		c2   bool
		req  controller.PhaseRequest
		want string // "" = absent
	}{
		{true, controller.PhasesFollow, "follow"},
		{true, controller.Phases1, "1"},
		{true, controller.Phases3, "3"},
		{true, controller.PhasesAuto, "auto"},
		{false, controller.PhasesFollow, ""},
		{false, controller.Phases1, ""},
	} {
		st := r.ctl.Status()
		st.PhaseSwitchOK, st.PhaseRequest, st.PhasesActive = c.c2, c.req, 3
		srv, err := New(Options{Controller: gone{st}, Commands: r.srv.o.Commands, Host: r.host, Started: r.start, Now: r.srv.o.Now})
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(srv.MQTTStatusDocument(), &doc); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
		var ext map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &ext); err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]any{"PhaseRequest": doc["PhaseRequest"], "phase_request": ext["phase_request"]} {
			switch {
			case c.want == "" && got != nil:
				t.Errorf("C2 %v, %v: %s %v, want it absent", c.c2, c.req, name, got)
			case c.want != "" && got != c.want:
				t.Errorf("C2 %v, %v: %s %v, want %q", c.c2, c.req, name, got, c.want)
			}
		}
	}
}
