package controller

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// idleController is a controller on the simulator with no car, stepped by
// hand from a real time.Now (monotonic reading included, as in RunClock).
func idleController(t *testing.T) (c *Controller, sm *sim.Sim, step func(d time.Duration) time.Time) {
	t.Helper()
	t0 := time.Now()
	sm = sim.New(t0)
	c = New(NewMachine(sm.Board(), DefaultParams(), settings.Defaults()), nil, zerolog.Nop())
	var st Status
	now := t0
	return c, sm, func(d time.Duration) time.Time {
		now = now.Add(d)
		sm.Tick(now)
		c.step(now, &st)
		return now
	}
}

// An idle step publishes without allocating: before, every step put a
// new Status on the heap (100 a second, the garbage of an idle daemon).
func TestIdleStepDoesNotAllocate(t *testing.T) {
	_, _, step := idleController(t)
	for range 500 { // past start-up debouncing
		step(10 * time.Millisecond)
	}
	if n := testing.AllocsPerRun(1000, func() { step(10 * time.Millisecond) }); n != 0 {
		t.Fatalf("an idle step allocates %v times", n)
	}
}

// Status().At is the last step's time whether or not the step published
// a new snapshot, and its other fields follow a change at once.
func TestStatusAtFollowsEveryStep(t *testing.T) {
	c, sm, step := idleController(t)
	for range 500 {
		step(10 * time.Millisecond)
	}
	before := c.snap.Load()
	for i := range 300 {
		now := step(10 * time.Millisecond)
		st := c.Status()
		if !st.At.Equal(now) || st.At.Round(0) != now.Round(0) {
			t.Fatalf("step %d: At %v, want the step's time %v", i, st.At, now)
		}
	}
	if c.snap.Load() != before {
		t.Fatal("idle steps published new snapshots: the test no longer measures the age path")
	}
	v := sm.Vehicle()
	v.Plugged = true
	sm.SetVehicle(v)
	for i := 0; ; i++ {
		now := step(10 * time.Millisecond)
		st := c.Status()
		if !st.At.Equal(now) {
			t.Fatalf("At %v, want the step's time %v", st.At, now)
		}
		if st.VehicleConnected != c.m.plugged {
			t.Fatalf("step %d after plugging: Status says connected %v, the machine %v", i, st.VehicleConnected, c.m.plugged)
		}
		if st.VehicleConnected {
			break
		}
		if i > 1000 {
			t.Fatal("the car was never seen")
		}
	}
	if c.snap.Load() == before {
		t.Fatal("a change did not publish a new snapshot")
	}
}

// A wall clock stepped against the monotonic one (NTP setting the time
// after boot) publishes anew, so At's wall time is never off by more than
// wallSkew; a step within it keeps the snapshot.
func TestSameButWallClockStep(t *testing.T) {
	t0 := time.Now()
	s := &snapshot{st: Status{At: t0, Reason: "idle"}}
	next := func(at time.Time) *Status { st := s.st; st.At = at; return &st }
	if !s.sameBut(next(t0.Add(10 * time.Millisecond))) {
		t.Fatal("a later time on both clocks: not the same snapshot")
	}
	if s.sameBut(next(t0.Add(-time.Millisecond))) {
		t.Fatal("an earlier time kept the snapshot")
	}
	changed := next(t0.Add(10 * time.Millisecond))
	changed.Reason = "other"
	if s.sameBut(changed) {
		t.Fatal("a changed field kept the snapshot")
	}
	// A time without a monotonic reading compares by wall clock: build a
	// snapshot whose time has one against a next that differs in wall time
	// only, as after a clock step.
	wallOnly := &snapshot{st: Status{At: t0.Round(0)}}
	if !wallOnly.sameBut(&Status{At: t0.Round(0).Add(10 * time.Millisecond)}) {
		t.Fatal("wall-clock times 10 ms apart: not the same snapshot")
	}
	for _, tc := range []struct {
		mono, wall time.Duration
		same       bool
	}{
		{10 * time.Millisecond, 10 * time.Millisecond, true},
		{10 * time.Millisecond, 10*time.Millisecond + 300*time.Nanosecond, true},
		{10 * time.Millisecond, 10*time.Millisecond + wallSkew, true},
		{10 * time.Millisecond, 10*time.Millisecond + wallSkew + 1, false},
		{10 * time.Millisecond, 10*time.Millisecond - wallSkew - 1, false},
		{10 * time.Millisecond, time.Hour, false},
	} {
		if got := withinSkew(tc.mono, tc.wall); got != tc.same {
			t.Errorf("monotonic %v, wall %v: same %v, want %v", tc.mono, tc.wall, got, tc.same)
		}
	}
}
