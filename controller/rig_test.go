package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// rig is a machine on a simulator with a virtual clock advanced in 10 ms
// ticks, as the daemon's loop does.
type rig struct {
	probe // recording board; pilot interference on demand
	t     testing.TB
	now   time.Time
	st    Status
	// guard, when set, checks the safety invariants after every step.
	guard *safety
	reset bool // a Reset was accepted before the next step
	// closings counts contactor close commands.
	closings int
}

const tick = 10 * time.Millisecond

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newRig(t testing.TB, mutate func(*Params, *settings.Settings)) *rig {
	p := DefaultParams()
	s := settings.Defaults()
	if mutate != nil {
		mutate(&p, &s)
	}
	r := &rig{t: t, now: epoch}
	r.m = NewMachine(r.wrap(sim.New(epoch)), p, s)
	r.m.Snapshot(r.now, &r.st)
	if r.st.State != StateWaiting {
		t.Fatalf("before the first step: state %v, want waiting", r.st.State)
	}
	r.step()
	return r
}

func (r *rig) step() {
	r.now = r.now.Add(tick)
	r.sim.Tick(r.now)
	was := r.cont.cmd
	o := r.before(r.now, r.reset)
	r.reset = false
	r.m.Step(r.now)
	if r.pilot.glitchN > 0 {
		r.pilot.glitchN--
	}
	if r.cont.cmd && !was {
		r.closings++
	}
	r.m.Snapshot(r.now, &r.st)
	if r.guard != nil {
		r.after(&o, &r.st)
		if bad := r.guard.check(o); len(bad) > 0 {
			r.t.Fatalf("t=%v: %v (status %+v)", r.now.Sub(epoch), bad, r.st)
		}
	}
}

// resetFault calls Machine.Reset and tells the guard when it was accepted.
func (r *rig) resetFault() bool {
	ok := r.m.Reset(r.now)
	r.reset = r.reset || ok
	return ok
}

// run advances d in ticks.
func (r *rig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.step()
	}
}

// until steps until cond holds, failing after limit.
func (r *rig) until(limit time.Duration, what string, cond func() bool) time.Duration {
	r.t.Helper()
	start := r.now
	for !cond() {
		if r.now.Sub(start) > limit {
			r.t.Fatalf("%s: not reached within %v (state %v, fault %q, reason %q, duty %d)", what, limit, r.st.State, r.st.Fault, r.st.Reason, r.st.DutyPermille)
		}
		r.step()
	}
	return r.now.Sub(start)
}

func (r *rig) vehicle(f func(v *sim.Vehicle)) {
	v := r.sim.Vehicle()
	f(&v)
	r.sim.SetVehicle(v)
}

func (r *rig) plugAndCharge() {
	r.t.Helper()
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.until(10*time.Second, "charging", func() bool { return r.st.State == StateCharge && r.st.ContactorFeedback })
}
