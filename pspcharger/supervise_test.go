package pspcharger_test

import (
	"errors"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
	"github.com/evse-mqtt/evse-mqtt/pspcharger"
	"github.com/evse-mqtt/evse-mqtt/units"
)

func power(b *fakebox.Box) float64 {
	p, _ := b.PowerAvailable()
	return p
}

// Supervising: the bridge sets the box up (Meter2Type 7 with our address,
// ControlStrategy 1), pushes a lease at once, refreshes it, and pushes the
// fallback when the lease lapses.
func TestSupervisorPushesAndFallsBack(t *testing.T) {
	r := newRig(t, supervise(400*time.Millisecond, controller.FallbackFixed))
	r.box.Plug(true)
	r.untilTrue("set up", time.Second, func() bool {
		c := r.box.Config()
		return c.Meter2Type == 7 && c.Meter2Ip == "127.0.0.1" && c.ControlStrategy == 1
	})
	// No lease yet: the fallback, 10 A on three phases.
	r.untilTrue("fallback pushed", time.Second, func() bool { return power(r.box) == 6900 })
	if err := r.ch.SetSupervisorPower(4600); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("lease pushed", 2*poll+slack, func() bool { return power(r.box) == 4600 })
	st := r.until("lease in the status", time.Second, func(st charger.Status) bool { return !st.LimiterStale && !st.SupervisorLeaseEnd.IsZero() })
	if st.LimitSource != controller.SourceSupervisor && st.LimitSource != controller.SourceConfig {
		t.Errorf("source %v", st.LimitSource)
	}
	// Refreshed while the lease lasts (Refresh 200 ms): more pushes of
	// the same value.
	before := len(r.box.Posts("EvseCtrl"))
	r.untilTrue("refresh", time.Second, func() bool { return len(r.box.Posts("EvseCtrl")) > before })
	// The lease lapses: back to the fallback, and the status says so.
	r.untilTrue("fallback after the lease", time.Second, func() bool { return power(r.box) == 6900 })
	r.until("stale", time.Second, func(st charger.Status) bool { return st.LimiterStale })
}

// Someone takes supervision away (the box's app, FactoryDefault): the box
// answers "supervisor IP not set", the bridge reports it and sets itself
// up again after its backoff, never in a quick loop.
func TestSupervisorSetUpAgain(t *testing.T) {
	r := newRig(t, supervise(time.Minute, controller.FallbackMinimum))
	r.untilTrue("set up", time.Second, func() bool { return r.box.Config().Meter2Type == 7 })
	if err := r.ch.SetSupervisorPower(5000); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("pushed", time.Second, func() bool { return power(r.box) == 5000 })
	c := r.box.Config()
	c.Meter2Type, c.Meter2Ip = 0, ""
	r.box.SetConfig(c)
	posts := len(r.box.Posts("SystemConfig"))
	start := time.Now()
	r.untilTrue("set up again", 2*time.Second, func() bool { return r.box.Config().Meter2Type == 7 })
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("set up again after %v", d)
	}
	if n := len(r.box.Posts("SystemConfig")) - posts; n > 2 {
		t.Errorf("%d set-up requests: looping", n)
	}
	r.untilTrue("pushed again", time.Second, func() bool { return power(r.box) == 5000 })
}

// Not supervising: a lease is refused as the vendor's box refuses it.
func TestNoSupervisorNoLease(t *testing.T) {
	r := newRig(t)
	if err := r.ch.SetSupervisorPower(4600); !errors.Is(err, charger.ErrNoSupervisor) {
		t.Fatalf("lease without supervise: %v", err)
	}
	if r.ch.SupervisorRefusal() == "" {
		t.Fatal("no refusal without supervise")
	}
	if c := r.box.Config(); c.Meter2Type != 0 || c.ControlStrategy != 0 {
		t.Fatalf("box changed without supervise: %+v", c)
	}
}

// Supervising, the box coming back after being away gets its power
// pushed again at once, within two poll periods.
func TestSupervisorResyncAfterDown(t *testing.T) {
	// A long refresh and backoff: only the resync can push in time.
	slow := func(o *pspcharger.Options) {
		o.Push = pspbox.PushPolicy{Refresh: 10 * time.Second, MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Second}
	}
	r := newRig(t, supervise(time.Minute, controller.FallbackMinimum), slow)
	if err := r.ch.SetSupervisorPower(5000); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("pushed", time.Second, func() bool { return power(r.box) == 5000 })
	r.box.Down()
	r.until("unreachable", time.Second, func(st charger.Status) bool { return st.Unreachable != "" })
	n := len(r.box.Posts("EvseCtrl"))
	if err := r.box.Up(); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("pushed after the return", 2*poll+slack, func() bool { return len(r.box.Posts("EvseCtrl")) > n && power(r.box) == 5000 })
}

// A control meter the bridge reads itself: ControlLimit − site + EV is
// pushed, the least of it and a lease when both are valid, and the
// fallback once the reading is stale.
func TestSupervisorControlMeter(t *testing.T) {
	meter := func(o *pspcharger.Options) {
		o.ControlMeter = true
		o.Limiter.MeterStale = 500 * time.Millisecond
	}
	r := newRig(t, supervise(time.Minute, controller.FallbackFixed), meter)
	r.untilTrue("set up", time.Second, func() bool { return r.box.Config().Meter2Type == 7 })
	// The box's ControlLimit is 11000 W; no car draws.
	r.ch.SetControlMeter(hw.MeterReading{At: time.Now(), Power: 5000})
	r.untilTrue("meter's power pushed", time.Second, func() bool { return power(r.box) == 6000 })
	// Per phase: 25 A limit, 20 A on L2 → 5 A × 3 × 230 V = 3450 W.
	r.ch.SetControlMeter(hw.MeterReading{At: time.Now(), Power: 5000, HasPhases: true, PhaseCurrent: [3]units.Amps{5, 20, 5}})
	r.untilTrue("phase limit pushed", time.Second, func() bool { return power(r.box) == 3450 })
	// A lease below the meter wins; above it, the meter does.
	if err := r.ch.SetSupervisorPower(2000); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("lease below the meter", time.Second, func() bool { return power(r.box) == 2000 })
	if err := r.ch.SetSupervisorPower(9000); err != nil {
		t.Fatal(err)
	}
	r.untilTrue("meter below the lease", time.Second, func() bool { return power(r.box) == 3450 })
	// A stale meter and no lease: the fallback.
	r2 := newRig(t, supervise(time.Minute, controller.FallbackFixed), meter)
	r2.ch.SetControlMeter(hw.MeterReading{At: time.Now(), Power: 5000})
	r2.untilTrue("meter's power pushed", time.Second, func() bool { return power(r2.box) == 6000 })
	r2.untilTrue("stale meter: fallback", 2*time.Second, func() bool { return power(r2.box) == 6900 })
	r2.until("stale in the status", time.Second, func(st charger.Status) bool { return st.LimiterStale })
}
