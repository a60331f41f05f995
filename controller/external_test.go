package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// An external cap lowers the offer within a step and is named as the
// source; a cap above the other limits changes nothing; an expired cap
// no longer applies.
func TestExternalLimitIsOneMoreCap(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	if r.st.CurrentLimit != 16 {
		t.Fatalf("before: limit %v, want the configured 16 A", r.st.CurrentLimit)
	}
	r.m.ext = external{limit: 10, limitOn: true, until: r.now.Add(time.Minute)}
	r.step()
	if r.st.CurrentLimit != 10 || r.st.LimitSource != SourceOCPP || r.st.LimitSource.String() != "ocpp" {
		t.Fatalf("after a 10 A cap: limit %v from %v", r.st.CurrentLimit, r.st.LimitSource)
	}
	r.until(time.Second, "duty for 10 A", func() bool { return r.st.DutyPermille == DutyFor(10) })
	r.m.ext.limit = 40
	r.step()
	if r.st.CurrentLimit != 16 || r.st.LimitSource == SourceOCPP {
		t.Fatalf("a 40 A cap raised or named: limit %v from %v", r.st.CurrentLimit, r.st.LimitSource)
	}
	r.m.ext.limit = 8
	r.run(time.Minute)
	if r.st.CurrentLimit != 16 {
		t.Fatalf("an expired cap still applies: limit %v from %v", r.st.CurrentLimit, r.st.LimitSource)
	}
}

// Out of service stops the session and refuses starts, auto start on the
// next plug-in included.
func TestInoperativeBlocksCharging(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	r.m.ext.inoperative = true
	if err := r.m.Stop(r.now); err != nil {
		t.Fatal(err)
	}
	r.until(10*time.Second, "contactor open", func() bool { return !r.st.ContactorFeedback })
	if err := r.m.Start(r.now); err != ErrInoperative {
		t.Fatalf("Start while inoperative: %v", err)
	}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
	r.until(time.Second, "idle", func() bool { return r.st.State == StateIdle })
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
	r.run(5 * time.Second)
	if r.st.ChargerStarted || r.st.ContactorClosed {
		t.Fatalf("auto start while inoperative: %+v", r.st)
	}
	r.m.ext.inoperative = false
	if err := r.m.Start(r.now); err != nil {
		t.Fatal(err)
	}
	r.until(10*time.Second, "charging again", func() bool { return r.st.ContactorFeedback })
}

// The central system does not see an in-process restart: its cap and an
// Inoperative stay in force across one.
func TestExternalSurvivesARestart(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	r.m.ext = external{limit: 10, limitOn: true}
	r.restart()
	r.restarted(10 * time.Second)
	r.run(RestartHold + 10*time.Second)
	if r.st.CurrentLimit != 10 || r.st.LimitSource != SourceOCPP {
		t.Fatalf("after a restart: limit %v from %v, want 10 A from ocpp", r.st.CurrentLimit, r.st.LimitSource)
	}
	r.m.ext.inoperative = true // as SetOperative(false): the session stops
	if err := r.m.Stop(r.now); err != nil {
		t.Fatal(err)
	}
	r.restart()
	r.restarted(10 * time.Second)
	if err := r.m.Start(r.now); err != ErrInoperative {
		t.Fatalf("Start after a restart while inoperative: %v", err)
	}
}
