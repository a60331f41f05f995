package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// epoButtonRig is a rig whose EPO is a button of its own, so a press can
// land on a fault the simulator keeps showing.
func epoButtonRig(t *testing.T) (*rig, *epoButton) {
	r := newRig(t, nil)
	b := &epoButton{EmergencyStop: r.raw.EPO}
	r.m.board.EPO = b
	r.c.board.EPO = b
	return r, b
}

// TestEPOReleaseClearsOnlyTheEPO: issue 9 item 4. Before the fix the EPO
// replaced the active fault and its release went straight to "no fault":
// a general error (state 9) became state 4 and a Start charged.
func TestEPOReleaseClearsOnlyTheEPO(t *testing.T) {
	cases := []struct {
		name   string
		enter  func(r *rig)
		fault  Fault
		hwGone bool // the simulator's fault is removed before the EPO
	}{
		{"general error (cp_invalid)", fault(sim.FaultCPInvalid), FaultGeneral, true},
		{"diode", fault(sim.FaultDiodeShort), FaultDiode, true},
		{"relay held after its retries", nil, FaultRelayOpen, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, epo := epoButtonRig(t)
			r.guard = &safety{}
			if tc.fault == FaultRelayOpen {
				fault(sim.FaultRelayOpen)(r)
				plug(32, true)(r)
				r.run(time.Duration(r.m.p.RelayTries+1) * (r.m.p.RelayRetry + 5*time.Second))
			} else {
				r.plugAndCharge()
				tc.enter(r)
			}
			r.until(time.Second, "the fault", func() bool { return r.st.Fault == tc.fault })
			fault(sim.FaultNone)(r)
			r.run(2 * time.Second)
			epo.pressed = true
			r.run(time.Second)
			if r.st.Fault != FaultEPO {
				t.Fatalf("EPO pressed: fault %q", r.st.Fault)
			}
			epo.pressed = false
			r.run(2 * time.Second)
			if r.st.Fault != tc.fault || r.st.State != tc.fault.State() {
				t.Fatalf("EPO released: fault %q state %v, want %q still (clears on unplug only)", r.st.Fault, r.st.State, tc.fault)
			}
			if err := r.start(); err != ErrFaulted {
				t.Fatalf("Start after the EPO release: %v, want ErrFaulted", err)
			}
			r.run(10 * time.Second)
			if r.sim.State().Contactor {
				t.Fatal("contactor closed with the fault still active")
			}
			unplug(r)
			r.run(time.Second)
			if r.st.Fault != FaultNone || r.st.State != StateIdle {
				t.Fatalf("after unplug: fault %q state %v", r.st.Fault, r.st.State)
			}
		})
	}
}

// TestEPOOnAWeldStillStopsTheSession: the EPO stacks on a weld too, so the
// session it stopped stays stopped once the weld is reset.
func TestEPOOnAWeldStillStopsTheSession(t *testing.T) {
	r, epo := epoButtonRig(t)
	r.guard = &safety{}
	r.plugAndCharge()
	fault(sim.FaultWeld)(r)
	request(false)(r)
	r.until(2*time.Second, "weld", func() bool { return r.st.Fault == FaultWeld })
	epo.pressed = true
	r.run(time.Second)
	epo.pressed = false
	r.run(time.Second)
	fault(sim.FaultNone)(r)
	request(true)(r)
	r.restart()
	r.restarted(10 * time.Second)
	r.run(RestartHold + 5*time.Second)
	if r.st.Fault != FaultNone || r.st.ChargerStarted || r.sim.State().Contactor {
		t.Fatalf("after the reset: fault %q started %v contactor %v; want no fault, stopped, open", r.st.Fault, r.st.ChargerStarted, r.sim.State().Contactor)
	}
}

// TestFastReplugEndsThePlugIn: issue 9 item 5, the scenario of seed
// 1796038506874585305. Case B, charging in D; the car is unplugged and
// plugged in again within 20 ms, so the raw pilot reads A, A, B, D and
// the debounced level never left D. Before the fix the old diode check
// and session carried over and the contactor closed 10 ms after D came
// back (invariant 9: C/D must be stable first).
func TestFastReplugEndsThePlugIn(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) {
		p.Ventilation = true
		caseB(0)(p, s)
	})
	r.guard = &safety{}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.Ventilation, v.CableRating = true, true, true, 13 })
	r.until(10*time.Second, "charging in D", func() bool { return r.st.State == StateVent && r.st.ContactorFeedback })
	left := r.now
	unplug(r)
	r.step()
	r.step()
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.CableRating = true, 20 })
	r.until(10*time.Second, "charging again", func() bool { return r.st.ContactorFeedback })
	if began := r.now.Add(-r.st.Duration); began.Before(left) {
		t.Fatalf("the session began at %v, before the unplug at %v: the old plug-in carried over", began.Sub(epoch), left.Sub(epoch))
	}
}
