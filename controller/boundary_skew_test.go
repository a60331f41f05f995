package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// carReadingUsed reports whether a car-meter reading of 0 W taken d after
// a control-meter reading of 6 kW changes the limit, compared with a
// charger that got only the control meter reading. recent makes the
// advertised current change just before, so the draw is not settled.
func carReadingUsed(t *testing.T, d time.Duration, recent bool) bool {
	with, without := limiterBench(t), limiterBench(t)
	if recent {
		for _, b := range []*bench{with, without} {
			s := b.m.Settings()
			s.ChargeCurrent = 9
			b.m.ApplySettings(s)
			b.step()
		}
	}
	next := with.now.Add(tick)
	site := hw.MeterReading{At: next.Add(-3 * time.Second), Power: 6000}
	if recent {
		site.At = next.Add(-100 * time.Millisecond)
	}
	for _, b := range []*bench{with, without} {
		b.m.SetMeter(2, site)
	}
	with.m.SetMeter(1, hw.MeterReading{At: site.At.Add(d)})
	for range 10 {
		with.step()
		without.step()
		if with.st.CurrentLimit != without.st.CurrentLimit {
			return true
		}
	}
	return false
}

// TestCarReadingSkewEdges: the car meter's reading stands for the car's
// draw at the control meter's reading when the two are at most 2 s apart
// (either way) and the draw was settled, or at most 50 ms apart however
// the draw was changing; otherwise the limiter bounds the draw from the
// pilot.
func TestCarReadingSkewEdges(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		recent bool
		used   bool
	}{
		{2 * time.Second, false, true},
		{2*time.Second + tick, false, false},
		{-2 * time.Second, false, true},
		{-2*time.Second - tick, false, false},
		{50 * time.Millisecond, true, true},
		{60 * time.Millisecond, true, false},
		{-50 * time.Millisecond, true, true},
		{-60 * time.Millisecond, true, false},
	} {
		t.Run(fmt.Sprintf("%v settled=%v", c.d, !c.recent), func(t *testing.T) {
			if got := carReadingUsed(t, c.d, c.recent); got != c.used {
				t.Fatalf("car reading %v from the control meter's: used %v, want %v", c.d, got, c.used)
			}
		})
	}
}

// TestOnePhaseCarIgnoresOtherPhases: a car charging on one phase is
// limited by that phase's fuse alone; load on the phases it does not use
// does not pause it.
func TestOnePhaseCarIgnoresOtherPhases(t *testing.T) {
	b := newBench(t, func(p *Params, s *settings.Settings) {
		withMeter1(p, s)
		s.Charge3Phase, s.ChargeCurrent = false, 10
		s.ControlStrategy, s.Meter2Type, s.ControlLimit, s.PhaseCurrentLimit = 1, settings.MeterRTUNMID30, 100000, 16
	})
	b.vehicle(func(v *simVehicle) {
		*v = sim.Vehicle{Plugged: true, RequestCharge: true, MaxCurrent: 16, Phases: 1, Response: time.Second, CableRating: 32}
	})
	feed := func() {
		ev := units.Amps(b.sim.State().EvCurrent)
		b.m.SetMeter(2, hw.MeterReading{At: b.now, HasPhases: true, Power: units.PowerFor(ev, 1) + units.PowerFor(15, 1),
			PhaseCurrent: [3]units.Amps{ev, 15, 0}, PhasePower: [3]units.Watts{units.PowerFor(ev, 1), units.PowerFor(15, 1), 0}})
	}
	for end := b.now.Add(20 * time.Second); b.now.Before(end); {
		feed()
		b.step()
	}
	if !b.closed || b.st.LimiterPaused || b.duty != DutyFor(10) {
		t.Fatalf("1-phase car with 15 A on L2: contactor %v, paused %v, duty %d; want charging at 10 A", b.closed, b.st.LimiterPaused, b.duty)
	}
}

// TestThreePhaseCarLimitedByEachPhase: a 3-phase car is limited by the
// fuse of every phase it uses, the third included: 10 A of house load on
// L3 under a 16 A fuse leaves it 6 A.
func TestThreePhaseCarLimitedByEachPhase(t *testing.T) {
	for _, carMeter := range []bool{false, true} {
		t.Run(fmt.Sprintf("car meter %v", carMeter), func(t *testing.T) { threePhaseLimitedByL3(t, carMeter) })
	}
}

// threePhaseLimitedByL3 runs TestThreePhaseCarLimitedByEachPhase, with a
// car meter that reads power only (spread over the car's phases) or none.
func threePhaseLimitedByL3(t *testing.T, carMeter bool) {
	b := newBench(t, func(p *Params, s *settings.Settings) {
		withMeter1(p, s)
		s.ChargeCurrent = 10
		s.ControlStrategy, s.Meter2Type, s.ControlLimit, s.PhaseCurrentLimit = 1, settings.MeterRTUNMID30, 100000, 16
	})
	b.vehicle(func(v *simVehicle) {
		*v = sim.Vehicle{Plugged: true, RequestCharge: true, MaxCurrent: 16, Phases: 3, Response: time.Second, CableRating: 32}
	})
	feed := func() {
		ev := units.Amps(b.sim.State().EvCurrent)
		l3 := ev + 10
		b.m.SetMeter(2, hw.MeterReading{At: b.now, HasPhases: true, Power: units.PowerFor(ev, 2) + units.PowerFor(l3, 1),
			PhaseCurrent: [3]units.Amps{ev, ev, l3}, PhasePower: [3]units.Watts{units.PowerFor(ev, 1), units.PowerFor(ev, 1), units.PowerFor(l3, 1)}})

		if carMeter {
			b.m.SetMeter(1, hw.MeterReading{At: b.now, Power: units.PowerFor(ev, 3)})
		}
	}
	for end := b.now.Add(20 * time.Second); b.now.Before(end); {
		feed()
		b.step()
	}
	if !b.closed || b.duty != DutyFor(6) {
		t.Fatalf("3-phase car with 10 A of house load on L3: contactor %v, paused %v, duty %d; want charging at 6 A (%d)", b.closed, b.st.LimiterPaused, b.duty, DutyFor(6))
	}
}

// TestReactiveLoadIsLoad: a phase that carries current at 0 W real power
// (a reactive load) is load on the fuse, not export: only negative power
// says the current flows outwards. The car is connected but not yet
// drawing, so the phase shows the reactive load alone.
func TestReactiveLoadIsLoad(t *testing.T) {
	for _, w := range []units.Watts{0, 0.5} {
		b := newBench(t, func(p *Params, s *settings.Settings) {
			s.ChargeCurrent = 10
			s.ControlStrategy, s.Meter2Type, s.ControlLimit, s.PhaseCurrentLimit = 1, settings.MeterRTUNMID30, 100000, 16
		})
		b.vehicle(func(v *simVehicle) { v.Plugged = true })
		for end := b.now.Add(5 * time.Second); b.now.Before(end); {
			// L1: 8 A of reactive load at w watts.
			b.m.SetMeter(2, hw.MeterReading{At: b.now, HasPhases: true, Power: w,
				PhaseCurrent: [3]units.Amps{8, 0, 0}, PhasePower: [3]units.Watts{w, 0, 0}})
			b.step()
		}
		// 16 A fuse − 8 A reactive load = 8 A for the car.
		if b.duty != DutyFor(8) {
			t.Fatalf("reactive load at %v W: duty %d, want 8 A (%d)", w, b.duty, DutyFor(8))
		}
	}
}
