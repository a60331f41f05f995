package controller

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	looptick "github.com/evse-mqtt/evse-mqtt/internal/tick"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

func TestLoopStatsQuantilesAndMax(t *testing.T) {
	var s LoopStats
	for i := 0; i < 98; i++ {
		s.record(120*time.Microsecond, 0) // bucket 2: ≤ 150 µs
	}
	s.record(3*time.Millisecond, 0)
	s.record(time.Second, 2) // beyond the last bucket
	o := s.Snapshot()
	if o.Steps != 100 || o.Lost != 2 {
		t.Fatalf("steps %d lost %d, want 100 and 2", o.Steps, o.Lost)
	}
	if got := o.Quantile(0.5); got != 150*time.Microsecond {
		t.Errorf("p50 %v, want 150µs", got)
	}
	if got := o.Quantile(0.99); got != 3050*time.Microsecond {
		t.Errorf("p99 %v, want 3.05ms", got)
	}
	if got := o.Quantile(1); got != LatenessBuckets*LatenessBucket {
		t.Errorf("p100 %v, want the open last bucket's edge", got)
	}
	if o.Max != time.Second {
		t.Errorf("max %v, want 1s", o.Max)
	}
	var empty LoopSnapshot
	if empty.Quantile(0.99) != 0 {
		t.Error("an empty histogram has no quantile")
	}
}

// fakeClock is a Clock the test drives: Wait returns the events sent on
// ev, and Wake sends a wake event.
type fakeClock struct{ ev chan looptick.Event }

func (f *fakeClock) Wait() (looptick.Event, error) { return <-f.ev, nil }
func (f *fakeClock) Wake() {
	select {
	case f.ev <- looptick.Event{}:
	default: // a wake is pending already
	}
}

// RunClock steps at the real time however late the tick, counts the
// ticks that fell due without a step, and runs a command as soon as it is
// queued (the command wakes the clock; no tick is needed).
func TestRunClockStepsAtRealTimeAndCountsMissedTicks(t *testing.T) {
	sm := sim.New(time.Now())
	c := New(NewMachine(sm.Board(), DefaultParams(), settings.Defaults()), nil, zerolog.Nop())
	clk := &fakeClock{ev: make(chan looptick.Event, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sampled := make(chan time.Time, 1)
	go func() {
		defer close(done)
		c.RunClock(ctx, clk, func(now time.Time) { sm.Tick(now); sampled <- now })
	}()
	due := time.Now().Add(-30 * time.Millisecond) // the tick comes 30 ms late
	clk.ev <- looptick.Event{Tick: true, Due: due, Missed: 2}
	now := <-sampled
	if now.Sub(due) < 30*time.Millisecond {
		t.Fatalf("stepped at %v after the due instant, want the real (later) time", now.Sub(due))
	}
	answered := make(chan error, 1)
	go func() { answered <- c.Start() }() // no vehicle: refused, but answered
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("a command waited for a tick: it must wake the loop")
	}
	st := c.LoopStats()
	if st.Steps != 1 || st.Lost != 2 || st.Max < 30*time.Millisecond {
		t.Fatalf("stats %d steps, %d lost, max %v; want 1, 2, ≥ 30ms", st.Steps, st.Lost, st.Max)
	}
	if got := c.Status().At; !got.Equal(now) {
		t.Fatalf("snapshot at %v, want the step's time %v", got, now)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunClock did not end with its context")
	}
	if c.Status().ContactorClosed || sm.State().Contactor {
		t.Fatal("contactor not open after the loop ended")
	}
}

// A command's answer comes after the snapshot that shows it: a client that
// reads Status right after its own stop must not see "started" (the MQTT
// and WebAPI answers are built that way). Before, the loop answered the
// caller and only then stepped and published.
func TestCommandAnsweredAfterItsSnapshot(t *testing.T) {
	sm := sim.New(time.Now())
	s := settings.Defaults()
	s.ChargeAutoStart = false
	c := New(NewMachine(sm.Board(), DefaultParams(), s), nil, zerolog.Nop())
	clk := &fakeClock{ev: make(chan looptick.Event, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.RunClock(ctx, clk, sm.Tick)
	v := sm.Vehicle()
	v.Plugged = true
	sm.SetVehicle(v)
	// Tick until the controller sees the car (the pilot is debounced).
	t0 := time.Now()
	for i := 0; c.Status().State != StateConnected; i++ {
		if i > 1000 {
			t.Fatalf("the car was never seen: %v", c.Status().State)
		}
		clk.ev <- looptick.Event{Tick: true, Due: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		sm.Tick(t0.Add(time.Duration(i) * 10 * time.Millisecond))
	}
	for i := range 2000 {
		on := i%2 == 0
		if err := c.SetCharging(on); err != nil {
			t.Fatalf("SetCharging(%v): %v", on, err)
		}
		if got := c.Status().ChargerStarted; got != on {
			t.Fatalf("command %d: SetCharging(%v) answered, Status says started %v", i, on, got)
		}
	}
}
