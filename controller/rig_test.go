package controller

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// rig is a Controller on a simulator with a virtual clock advanced in
// 10 ms ticks, as the daemon's loop does. It calls the loop's own step, so
// a Restart swaps machines exactly as in the daemon; probe.m follows the
// machine in force.
type rig struct {
	probe // recording board; pilot interference on demand
	c     *Controller
	t     testing.TB
	now   time.Time
	st    Status
	// guard, when set, checks the safety invariants after every step.
	guard *safety
	// startCmd tells the guard a Start was accepted before the next step.
	startCmd bool
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
	r.c = New(r.m, nil, zerolog.Nop())
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
	o := r.before(r.now, false)
	o.startCmd, r.startCmd = r.startCmd, false
	old := r.m
	r.c.step(r.now, &r.st)
	r.m = r.c.m
	o.reset = r.m != old
	if o.reset {
		r.noteRestart()
	}
	if r.pilot.glitchN > 0 {
		r.pilot.glitchN--
	}
	if r.cont.cmd && !was {
		r.closings++
	}
	if r.guard != nil {
		r.after(&o, &r.st)
		if bad := r.guard.check(o); len(bad) > 0 {
			r.t.Fatalf("t=%v: %v (status %+v)", r.now.Sub(epoch), bad, r.st)
		}
	}
}

// restart is SystemInfo Reset as the daemon runs it: Controller.Restart
// with the same parameters and the settings in force.
func (r *rig) restart() {
	s := r.m.Settings()
	r.c.restartAt(r.now, r.m.p, func() settings.Settings { return s })
}

// start is the Start command (as Controller.Start runs it on the loop).
func (r *rig) start() error {
	err := r.m.Start(r.now)
	r.startCmd = r.startCmd || err == nil
	return err
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
