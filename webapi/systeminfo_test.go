package webapi

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestResetRestartsInProcess: Reset re-reads the persisted settings and
// restarts the control logic with the contactor opened first; the
// handler keeps serving.
func TestResetRestartsInProcess(t *testing.T) {
	r := newRig(t, rigOpt{})
	r.plug(true)
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })
	// Another writer (the daemon's config reload) changed the store.
	s := settings.Defaults()
	s.ChargeCurrent = 20
	s.ChargeCurrentBoost = 20
	if err := r.store.Save(s); err != nil {
		t.Fatal(err)
	}
	x := r.post("/webapi/v1/SystemInfo", `{"SCode":"reset"}`)
	if x.code != 200 || string(x.body) != `{"Reset":"Performing"}` {
		t.Fatalf("%d %s", x.code, x.body)
	}
	// Graceful: the PWM is withdrawn at once and the contactor opens when
	// the car has stopped, not under load; then the fresh controller holds
	// the pilot steady for RestartHold before it offers current again.
	r.until(time.Second, "PWM withdrawn", func(st controller.Status) bool { return st.DutyPermille == controller.DutySteady })
	if !r.ctl.Status().ContactorFeedback {
		t.Fatal("contactor opened under load the moment Reset came")
	}
	r.until(7*time.Second, "restarted", func(controller.Status) bool { return r.ctl.Settings().ChargeCurrent == 20 })
	if st := r.ctl.Status(); st.ContactorClosed || st.ContactorFeedback {
		t.Fatalf("restarted with the contactor closed: %+v", st)
	}
	restarted := r.now
	r.until(15*time.Second, "charging again", func(st controller.Status) bool { return st.ContactorFeedback && st.CurrentLimit == 20 })
	if d := r.now.Sub(restarted); d < controller.RestartHold {
		t.Errorf("charging again %v after the restart, want at least %v in X1", d, controller.RestartHold)
	}
	if x := r.get("/healthz"); x.code != 200 {
		t.Errorf("healthz after reset: %d %s", x.code, x.body)
	}
}

func TestFactoryDefault(t *testing.T) {
	r := newRig(t, rigOpt{})
	if x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":8,"ChargeAutoStart":false}`); x.code != 200 {
		t.Fatal(x.code)
	}
	x := r.post("/webapi/v1/SystemInfo", `{"SCode":"FactoryDefault","SCodeData":""}`)
	if x.code != 200 || string(x.body) != `{"FactoryDefault":"Performing"}` {
		t.Fatalf("%d %s", x.code, x.body)
	}
	if got := r.ctl.Settings(); got != settings.Defaults() {
		t.Errorf("settings %+v, want defaults", got)
	}
	if saved, err := r.store.Load(settings.Settings{}); err != nil || saved != settings.Defaults() {
		t.Errorf("persisted %+v %v", saved, err)
	}
}

func TestUnsupportedCodes(t *testing.T) {
	r := newRig(t, rigOpt{})
	for body, want := range map[string]string{
		`{"SCode":"WiFiSetToAP"}`:                                        `{"WiFiSetToAP":"not supported"}`,
		`{"UpdateCheckToggle":true}`:                                     `{"UpdateCheckToggle":"not supported"}`,
		`{"UpdateRunToggle":true,"UpdateCheckToggle":false}`:             `{"UpdateCheckToggle":"no action","UpdateRunToggle":"not supported"}`,
		`{"updateruntoggle":false}`:                                      `{"updateruntoggle":"no action"}`,
		`{"Scode":"WiFiSetToAP","SCodeData":"x","UpdateRunToggle":true}`: `{"UpdateRunToggle":"not supported","WiFiSetToAP":"not supported"}`,
	} {
		before := r.snap()
		x := r.post("/webapi/v1/SystemInfo", body)
		if x.code != 200 || string(x.body) != want {
			t.Errorf("%s: %d %s, want %s", body, x.code, x.body, want)
		}
		r.unchanged(before, body)
	}
}

func TestHealthz(t *testing.T) {
	r := newRig(t, rigOpt{})
	if x := r.get("/healthz"); x.code != 200 || string(x.body) != `{"status":"ok"}` {
		t.Fatalf("%d %s", x.code, x.body)
	}
	r.now = r.now.Add(6 * time.Second) // the wall clock moves, the loop does not
	if x := r.get("/healthz"); x.code != 503 {
		t.Errorf("stalled loop: %d %s", x.code, x.body)
	}
	r.step()
	if x := r.get("/healthz"); x.code != 200 {
		t.Errorf("after a tick: %d %s", x.code, x.body)
	}
}
