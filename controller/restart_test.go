package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Issue 9 items 1 and 3: SystemInfo Reset is Controller.Restart (the path
// the daemon takes), and it must neither cut a fault's F hold short nor
// undo a stop, an EPO stop or a fault.

// restarted steps until the fresh machine is in force and returns how
// long that took.
func (r *rig) restarted(limit time.Duration) time.Duration {
	r.t.Helper()
	old := r.m
	return r.until(limit, "restart", func() bool { return r.m != old })
}

// TestResetKeepsTheFHold: issue 9 item 1's repro. Before the fix the swap
// ran as soon as the contactor was open and the fresh machine drove the
// pilot steady at once: F lasted 10–20 ms instead of ≥ 300 ms.
func TestResetKeepsTheFHold(t *testing.T) {
	for _, f := range []string{sim.FaultCPShort, sim.FaultDiodeShort, sim.FaultEPO} {
		t.Run(f, func(t *testing.T) {
			r := newRig(t, nil)
			r.guard = &safety{}
			r.plugAndCharge()
			fault(f)(r)
			r.until(time.Second, "F", func() bool { return r.st.DutyPermille == DutyNegative })
			entered := r.now
			fault(sim.FaultNone)(r)
			r.restart()
			r.until(5*time.Second, "F ends", func() bool { return r.st.DutyPermille != DutyNegative })
			if d := r.now.Sub(entered); d < r.m.p.FHold {
				t.Fatalf("F held %v across the Reset, want ≥ %v (invariant 14: ≥ 300 ms)", d, r.m.p.FHold)
			}
			r.run(RestartHold + 5*time.Second) // the guard checks every step
		})
	}
}

// TestResetKeepsAStop: a session the user stopped stays stopped across a
// Reset, auto start or not (before the fix the fresh machine took the car
// for a new plug-in and auto-started it).
func TestResetKeepsAStop(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	stop(r)
	r.run(time.Second)
	r.restart()
	r.restarted(10 * time.Second)
	r.run(RestartHold + 10*time.Second)
	if r.st.ChargerStarted || r.st.ContactorFeedback || !r.st.VehicleConnected {
		t.Fatalf("after Reset following a stop: started %v contactor %v connected %v; want stopped, open, still connected",
			r.st.ChargerStarted, r.st.ContactorFeedback, r.st.VehicleConnected)
	}
	start(r)
	r.until(5*time.Second, "charging after Start", func() bool { return r.st.ContactorFeedback })
}

// TestResetResumesARunningSession: Reset while charging withdraws the PWM,
// waits for the contactor, pauses 3 s in X1 and resumes the same session
// (the README: "restarts the control logic … without cutting the load").
func TestResetResumesARunningSession(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	began := r.now.Add(-r.st.Duration)
	r.restart()
	r.until(time.Second, "PWM withdrawn", func() bool { return r.st.DutyPermille == DutySteady })
	r.restarted(10 * time.Second)
	if r.st.DutyPermille != DutySteady || r.st.ContactorClosed {
		t.Fatalf("fresh machine: duty %d contactor %v, want steady and open for the restart hold", r.st.DutyPermille, r.st.ContactorClosed)
	}
	d := r.until(RestartHold+5*time.Second, "charging again", func() bool { return r.st.ContactorFeedback })
	if d < RestartHold {
		t.Fatalf("charging again %v after the restart, want ≥ %v in X1", d, RestartHold)
	}
	if !r.st.ChargerStarted || !r.now.Add(-r.st.Duration).Equal(began) {
		t.Fatalf("session: started %v, began %v, want the same session (began %v)", r.st.ChargerStarted, r.now.Add(-r.st.Duration), began)
	}
}

// TestResetDuringEPOKeepsTheEPOStop: Reset while the emergency stop is
// pressed; releasing it afterwards must not resume charging (before the
// fix the fresh machine auto-started the car on release).
func TestResetDuringEPOKeepsTheEPOStop(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	fault(sim.FaultEPO)(r)
	r.run(time.Second)
	r.restart()
	r.restarted(10 * time.Second)
	r.run(2 * time.Second)
	if r.st.Fault != FaultEPO {
		t.Fatalf("after Reset with the EPO pressed: fault %q, want the EPO", r.st.Fault)
	}
	fault(sim.FaultNone)(r)
	r.run(RestartHold + 10*time.Second)
	if r.st.ChargerStarted || r.st.ContactorFeedback || r.st.Fault != FaultNone {
		t.Fatalf("after EPO release: started %v contactor %v fault %q; want stopped, open, no fault", r.st.ChargerStarted, r.st.ContactorFeedback, r.st.Fault)
	}
}

// TestResetKeepsUnplugFaults: Reset does not clear a fault that only an
// unplug may clear; it still clears on the unplug.
func TestResetKeepsUnplugFaults(t *testing.T) {
	r := newRig(t, nil)
	r.guard = &safety{}
	r.plugAndCharge()
	fault(sim.FaultCPInvalid)(r)
	r.until(time.Second, "general error", func() bool { return r.st.Fault == FaultGeneral })
	fault(sim.FaultNone)(r)
	r.restart()
	r.restarted(10 * time.Second)
	r.run(RestartHold + 5*time.Second)
	if r.st.Fault != FaultGeneral || r.st.State != StateGeneralErr {
		t.Fatalf("after Reset: fault %q state %v, want the general error until unplug", r.st.Fault, r.st.State)
	}
	unplug(r)
	r.run(time.Second)
	if r.st.Fault != FaultNone || r.st.State != StateIdle {
		t.Fatalf("after unplug: fault %q state %v", r.st.Fault, r.st.State)
	}
}

// TestStopDuringTheRestartHoldHolds: the Controller's own SetCharging(false)
// during the 3 s hold (issue 9 item 3: MQTT charging/set OFF was answered
// ok and auto start started the session again 2 s later).
func TestStopDuringTheRestartHoldHolds(t *testing.T) {
	o := newOwnerRig(t)
	v := o.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	o.sim.SetVehicle(v)
	o.run(3 * time.Second)
	if st := o.c.Status(); !st.ContactorFeedback {
		t.Fatalf("not charging: %+v", st)
	}
	p, s := o.c.Params(), o.c.Settings()
	if err := o.c.Restart(p, func() settings.Settings { return s }); err != nil {
		t.Fatal(err)
	}
	// The car stops, the contactor opens, the fresh machine holds X1.
	for end := o.now.Add(10 * time.Second); o.c.Status().Reason != "restarting: pause in X1"; o.run(tick) {
		if o.now.After(end) {
			t.Fatalf("not in the restart hold: reason %q", o.c.Status().Reason)
		}
	}
	if err := o.c.SetCharging(false); err != nil {
		t.Fatal(err)
	}
	o.run(RestartHold + 10*time.Second)
	if st := o.c.Status(); st.ChargerStarted || st.ContactorFeedback {
		t.Fatalf("stop during the restart hold did not hold: started %v contactor %v", st.ChargerStarted, st.ContactorFeedback)
	}
}
