package webapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// gone is a bridged charger that stopped answering.
type gone struct{ st charger.Status }

func (g gone) Status() charger.Status      { return g.st }
func (g gone) Settings() settings.Settings { return settings.Defaults() }

// While a bridged box does not answer, the vendor's GETs are 503 with the
// reason — never the last values presented as live — and the MQTT status
// says Reachable false; the extended status and /healthz still answer.
func TestUnreachableVendorGETs(t *testing.T) {
	r := newRig(t, rigOpt{})
	st := r.ctl.Status()
	st.Unreachable = "charger unreachable: connection refused"
	srv, err := New(Options{Controller: gone{st}, Commands: r.srv.o.Commands, Host: r.host, Started: r.start, Now: r.srv.o.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/webapi/v1/Status", "/webapi/v1/SystemConfig", "/webapi/v1/SystemInfo", "/webapi/v1/Meter1"} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), st.Unreachable) {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
	if w.Code != http.StatusOK {
		t.Errorf("/api/v1/status: %d", w.Code)
	}
	var doc struct {
		Reachable         bool
		UnreachableReason string
	}
	if err := json.Unmarshal(srv.MQTTStatusDocument(), &doc); err != nil || doc.Reachable || doc.UnreachableReason != st.Unreachable {
		t.Errorf("MQTT status: %+v %v", doc, err)
	}
	if err := json.Unmarshal(r.srv.MQTTStatusDocument(), &doc); err != nil || !doc.Reachable {
		t.Errorf("local charger's MQTT status: %+v %v", doc, err)
	}
}
