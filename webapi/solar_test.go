package webapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestModeAndGridExtension: POST /api/v1/mode and /api/v1/grid go through
// the write guard and the command table; the mode shows in
// /api/v1/status; a reading without Meter2Type 8 is 409; bad input is 400
// with nothing changed.
func TestModeAndGridExtension(t *testing.T) {
	r := newRig(t, rigOpt{})
	if x := r.do(http.MethodPost, "/api/v1/mode", `{"Mode":"solar"}`, lan); x.code != http.StatusUnauthorized {
		t.Fatalf("mode from the LAN without credentials: %d %s", x.code, x.body)
	}
	if x := r.post("/api/v1/mode", `{"Mode":"solar"}`); x.code != http.StatusOK || !strings.Contains(string(x.body), "Set=>solar") {
		t.Fatalf("mode: %d %s", x.code, x.body)
	}
	r.step()
	if got := r.get("/api/v1/status").obj(t)["mode"]; got != "solar" || r.ctl.Status().Mode != controller.ModeSolar {
		t.Fatalf("status mode %v", got)
	}
	if x := r.post("/api/v1/mode", `{"Mode":"eco"}`); x.code != http.StatusBadRequest || r.ctl.Status().Mode != controller.ModeSolar {
		t.Fatalf("bad mode: %d %s", x.code, x.body)
	}
	if x := r.post("/api/v1/grid", `{"power": -2000}`); x.code != http.StatusConflict || !strings.Contains(string(x.body), "Meter2Type 8") {
		t.Fatalf("grid without the feed: %d %s", x.code, x.body)
	}
	if x := r.post("/webapi/v1/SystemConfig", `{"Meter2Type": 8}`); x.code != http.StatusOK {
		t.Fatalf("Meter2Type 8: %d %s", x.code, x.body)
	}
	if x := r.post("/api/v1/grid", `{"power": -2000, "currents": [-3, -3, -2.7]}`); x.code != http.StatusOK {
		t.Fatalf("grid: %d %s", x.code, x.body)
	}
	if x := r.post("/api/v1/grid", `{"power": "-2000"}`); x.code != http.StatusBadRequest {
		t.Fatalf("grid as a string: %d %s", x.code, x.body)
	}
	if s := r.ctl.Settings(); s.Meter2Type != settings.MeterGridFeed {
		t.Fatalf("Meter2Type %d", s.Meter2Type)
	}
}
