package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

func TestWalkABCA(t *testing.T) {
	r := newRig(t, nil)
	r.run(100 * time.Millisecond)
	if r.st.State != StateIdle {
		t.Fatalf("state %v, want idle", r.st.State)
	}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
	r.until(time.Second, "B", func() bool { return r.st.State == StateConnected })
	if !r.st.ChargerStarted || r.st.DutyPermille != 266 {
		t.Fatalf("auto start: started %v duty %d, want true 266", r.st.ChargerStarted, r.st.DutyPermille)
	}
	r.vehicle(func(v *sim.Vehicle) { v.RequestCharge = true })
	d := r.until(5*time.Second, "contactor", func() bool { return r.st.ContactorFeedback })
	if d > 3*time.Second || d < 300*time.Millisecond {
		t.Fatalf("contactor closed %v after C request, want 0.3…3 s", d)
	}
	r.run(3 * time.Second)
	if got := r.sim.State().EvCurrent; got != 16 {
		t.Fatalf("EV current %v, want 16", got)
	}
	if r.st.ActualCurrent < 15.9 || r.st.ActualPower < 11000 || r.st.PowerFromMeter {
		t.Fatalf("estimate: %v A %v W fromMeter %v", r.st.ActualCurrent, r.st.ActualPower, r.st.PowerFromMeter)
	}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
	d = r.until(time.Second, "open", func() bool { return !r.st.ContactorFeedback && r.st.State == StateIdle })
	if d > 100*time.Millisecond {
		t.Fatalf("contactor opened %v after unplug, want ≤ 100 ms", d)
	}
	if r.st.Energy <= 0 {
		t.Fatalf("session energy %v", r.st.Energy)
	}
}

// TestSimInvalidPilotIsGeneralError: the simulator's cp_invalid fault (a
// level between the bands) gives EVSE_EV_GENERAL_ERR, cleared on unplug.
func TestSimInvalidPilotIsGeneralError(t *testing.T) {
	r := newRig(t, nil)
	r.plugAndCharge()
	r.sim.SetFault(sim.FaultCPInvalid)
	d := r.until(time.Second, "general error", func() bool { return r.st.State == StateGeneralErr })
	if r.st.ContactorClosed || d > 100*time.Millisecond {
		t.Fatalf("general error after %v, contactor commanded %v", d, r.st.ContactorClosed)
	}
	r.sim.SetFault(sim.FaultNone)
	r.run(2 * time.Second)
	if r.st.State != StateGeneralErr {
		t.Fatalf("state %v: a general error must hold until unplug", r.st.State)
	}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
	r.until(2*time.Second, "idle after unplug", func() bool { return r.st.State == StateIdle })
}
