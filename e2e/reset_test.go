package e2e

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// extStatus is the part of /api/v1/status and the vendor's Status these
// tests read.
type extStatus struct {
	State          string `json:"state"`
	Reason         string `json:"reason"`
	ChargerStarted bool   // from /webapi/v1/Status
}

func (d *daemon) ext() extStatus {
	var s extStatus
	if code := d.get("/api/v1/status", &s); code != 200 {
		d.t.Fatalf("GET /api/v1/status: %d", code)
	}
	var v struct{ ChargerStarted bool }
	if code := d.get("/webapi/v1/Status", &v); code != 200 {
		d.t.Fatalf("GET /webapi/v1/Status: %d", code)
	}
	s.ChargerStarted = v.ChargerStarted
	return s
}

// TestResetKeepsAStop: issue 9 item 3 on the built binary. After a stop,
// SystemInfo Reset (with auto start on) must not start charging again:
// once the fresh controller's 3 s hold is over the session is still
// stopped. Before the fix it was auto-started by the fresh controller.
func TestResetKeepsAStop(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		if s := d.sim(); !s.Contactor {
			return fmt.Sprintf("not charging: %+v", s)
		}
		return ""
	})
	var ans map[string]string
	if code := d.post("/webapi/v1/EvseCtrl", `{"ChargeStartToggle": true}`, &ans); code != 200 || ans["ChargeStartToggle"] != "Set=>False" {
		t.Fatalf("stop: %d %v", code, ans)
	}
	if code := d.post("/webapi/v1/SystemInfo", `{"SCode":"Reset"}`, &ans); code != 200 || ans["Reset"] != "Performing" {
		t.Fatalf("Reset: %d %v", code, ans)
	}
	eventually(t, 10*time.Second, func() string { // the fresh controller holds X1
		if s := d.ext(); s.Reason != "restarting: pause in X1" {
			return fmt.Sprintf("not in the restart hold: %+v", s)
		}
		return ""
	})
	eventually(t, 10*time.Second, func() string { // … and the hold ends
		if s := d.ext(); s.Reason == "restarting: pause in X1" {
			return "still in the restart hold"
		}
		return ""
	})
	if s, sim := d.ext(), d.sim(); s.ChargerStarted || sim.Contactor || sim.PilotDuty != 100 {
		t.Fatalf("after the Reset following a stop: %+v, %+v; want stopped, contactor open, pilot steady", s, sim)
	}
}

// TestFinalRetainedStatusAfterSIGTERM: issue 9 item 16. The status the
// daemon leaves retained on the broker when it stops while charging must
// agree with itself: not "charging" next to Charging false.
func TestFinalRetainedStatusAfterSIGTERM(t *testing.T) {
	d, b, _ := mqttDaemon(t)
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		if s := d.sim(); !s.Contactor {
			return fmt.Sprintf("not charging: %+v", s)
		}
		return ""
	})
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var st struct {
		State          string
		EvseState      int
		Charging       bool
		ChargerStarted bool
		ActualCurrent  float64
	}
	payload := mqtttest.RetainedPayload(t, b.URL(), base+"/status")
	if err := json.Unmarshal([]byte(payload), &st); err != nil {
		t.Fatalf("status %q: %v", payload, err)
	}
	if st.State != "connected" || st.EvseState != 4 || st.Charging || st.ChargerStarted || st.ActualCurrent != 0 {
		t.Fatalf("final retained status %s; want connected (4), not charging, not started, 0 A", payload)
	}
}
