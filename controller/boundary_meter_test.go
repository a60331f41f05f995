package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// withMeter1 configures a statistics meter (RTU SDM72D).
func withMeter1(_ *Params, s *settings.Settings) { s.Meter1Type = settings.MeterRTUSDM72D }

// TestEarlyOpenAfterStop: after Stop, a statistics meter that shows the
// car no longer draws opens the contactor exactly 1 s after the PWM went,
// instead of waiting StopTimeout. "No longer draws" is every phase at
// most 0.5 A, or — for a meter without phase currents — under 50 W; the
// reading may be up to 2 s old.
func TestEarlyOpenAfterStop(t *testing.T) {
	p := DefaultParams()
	for _, c := range []struct {
		name  string
		r     hw.MeterReading
		age   time.Duration
		early bool
	}{
		{"no phases, 49 W", hw.MeterReading{Power: 49}, 0, true},
		{"no phases, 50 W", hw.MeterReading{Power: 50}, 0, false},
		{"no phases, 0 W", hw.MeterReading{}, 0, true},
		{"phases at 0.5 A", hw.MeterReading{HasPhases: true, Power: 300, PhaseCurrent: [3]units.Amps{0.5, 0.5, 0.5}}, 0, true},
		{"one phase at 1 A", hw.MeterReading{HasPhases: true, Power: 230, PhaseCurrent: [3]units.Amps{0, 1, 0}}, 0, false},
		{"phases at 0.6 A", hw.MeterReading{HasPhases: true, Power: 400, PhaseCurrent: [3]units.Amps{0.6, 0, 0}}, 0, false},
		{"reading 2 s old", hw.MeterReading{Power: 0}, 2 * time.Second, true},
		{"reading 2.01 s old", hw.MeterReading{Power: 0}, 2*time.Second + tick, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t, withMeter1)
			withdrawn := stopCharging(t, b)
			for b.closed {
				r := c.r
				r.At = b.now.Add(tick - c.age) // as old as c.age at the next step
				b.m.SetMeter(1, r)
				b.step()
				if b.now.Sub(withdrawn) > 10*time.Second {
					t.Fatal("contactor never opened")
				}
			}
			want := p.StopTimeout
			if c.early {
				want = time.Second
			}
			exactly(t, "open", withdrawn, b.closedAt, want)
		})
	}
}

// TestActualPowerFromFreshMeter: the status reports the statistics
// meter's power while its reading is at most MeterStale old, then the
// estimate from the pilot; a meter removed from the settings is no
// longer believed, however fresh its last reading.
func TestActualPowerFromFreshMeter(t *testing.T) {
	stale := DefaultParams().Limiter.MeterStale
	b := newBench(t, withMeter1)
	b.charge()
	b.run(3 * time.Second) // the car draws its 16 A
	estimate := units.PowerFor(CurrentForDuty(b.duty), 3)
	b.m.SetMeter(1, hw.MeterReading{At: b.now.Add(tick - stale), Power: 5000, HasPhases: true, PhaseCurrent: [3]units.Amps{7, 7, 7}})
	b.step()
	if !b.st.PowerFromMeter || b.st.ActualPower != 5000 || b.st.ActualCurrent != 7 {
		t.Fatalf("reading exactly MeterStale old: from meter %v, %v W, %v A; want the meter's 5000 W, 7 A",
			b.st.PowerFromMeter, b.st.ActualPower, b.st.ActualCurrent)
	}
	b.step()
	if b.st.PowerFromMeter || b.st.ActualPower != estimate {
		t.Fatalf("reading a tick past MeterStale: from meter %v, %v W; want the estimate %v W", b.st.PowerFromMeter, b.st.ActualPower, estimate)
	}
	b.m.SetMeter(1, hw.MeterReading{At: b.now, Power: 5000})
	b.step()
	if !b.st.PowerFromMeter || b.st.ActualCurrent != units.CurrentFor(5000, 3) {
		t.Fatalf("fresh reading without phases: from meter %v, %v A; want %v A", b.st.PowerFromMeter, b.st.ActualCurrent, units.CurrentFor(5000, 3))
	}
	s := b.m.Settings()
	s.Meter1Type = settings.MeterNone
	b.m.ApplySettings(s)
	b.step()
	if b.st.PowerFromMeter || b.st.ActualPower != estimate {
		t.Fatalf("meter removed: from meter %v, %v W; want the estimate %v W", b.st.PowerFromMeter, b.st.ActualPower, estimate)
	}
}

// limiterBench charges at 10 A on three phases under an 11 kW limit with
// a control meter fed every step (no house load) and a statistics meter
// configured but silent, for 20 s: the limiter is active, the draw is
// steady.
func limiterBench(t *testing.T) *bench {
	b := newBench(t, func(p *Params, s *settings.Settings) {
		withMeter1(p, s)
		s.ChargeCurrent, s.ControlStrategy, s.Meter2Type, s.ControlLimit = 10, 1, settings.MeterRTUNMID30, 11000
	})
	feed := func() {
		b.m.SetMeter(2, hw.MeterReading{At: b.now, Power: units.PowerFor(units.Amps(b.sim.State().EvCurrent), 3)})
	}
	feed()
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	for end := b.now.Add(20 * time.Second); b.now.Before(end); {
		b.step()
		feed()
	}
	// The limiter allows more than the configured 10 A: the configuration
	// is what limits, and the status says so.
	if !b.st.LimiterActive || b.st.LimiterStale || b.duty != DutyFor(10) || !b.closed || b.st.LimitSource != SourceConfig {
		t.Fatalf("setup: limiter active %v stale %v, duty %d, contactor %v, source %v", b.st.LimiterActive, b.st.LimiterStale, b.duty, b.closed, b.st.LimitSource)
	}
	return b
}

// TestStaleCarMeterNotFedToLimiter: a statistics meter reading older than
// MeterStale says nothing about the car's draw now, so the limiter must
// decide exactly as if there were no reading at all. Two chargers get the
// same control meter reading (6 kW, 9.99 s old); one of them also gets a
// car reading of 0 W taken with it, 10.01 s old. Exactly MeterStale old,
// the car reading still counts.
func TestStaleCarMeterNotFedToLimiter(t *testing.T) {
	stale := DefaultParams().Limiter.MeterStale
	for _, c := range []struct {
		name string
		age  time.Duration // of the car reading at the next step
		used bool
	}{
		{"a tick past MeterStale", stale + tick, false},
		{"exactly MeterStale", stale, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			with, without := limiterBench(t), limiterBench(t)
			next := with.now.Add(tick)
			site := hw.MeterReading{At: next.Add(-c.age + 20*time.Millisecond), Power: 6000}
			for _, b := range []*bench{with, without} {
				b.m.SetMeter(2, site)
			}
			with.m.SetMeter(1, hw.MeterReading{At: next.Add(-c.age), Power: 0})
			differed := false
			for range 100 {
				with.step()
				without.step()
				if with.st.CurrentLimit != without.st.CurrentLimit {
					differed = true
					if !c.used {
						t.Fatalf("t=%v: limit %v A with a stale car reading, %v A without one", with.now.Sub(epoch), with.st.CurrentLimit, without.st.CurrentLimit)
					}
				}
			}
			if c.used && !differed {
				t.Fatalf("a car reading exactly MeterStale old was not used (limit %v A both)", with.st.CurrentLimit)
			}
		})
	}
}

// TestEnergyIgnoresAStalledLoop: a gap of a minute or more between two
// steps (a stalled or suspended process) adds no estimated energy: the
// machine cannot know what flowed meanwhile, and must not invent it.
func TestEnergyIgnoresAStalledLoop(t *testing.T) {
	b := newBench(t, nil)
	b.charge()
	b.run(5 * time.Second)
	session, life := b.st.Energy, b.st.LifetimeEnergy
	b.now = b.now.Add(time.Minute - tick) // the next step comes exactly a minute after the last
	b.step()
	if b.st.Energy != session || b.st.LifetimeEnergy != life {
		t.Fatalf("a 1 min gap added %v Ws to the session and %v Ws to the lifetime", b.st.Energy-session, b.st.LifetimeEnergy-life)
	}
	b.step()
	if b.st.Energy <= session || b.st.LifetimeEnergy <= life {
		t.Fatal("no energy counted on the next normal step")
	}
}

// TestActualCurrentUsesLatchedPhases: a statistics meter without phase
// currents is turned into a current over the phases the contactor closed
// on — not the phases the settings want now, and never over zero phases
// before the first close.
func TestActualCurrentUsesLatchedPhases(t *testing.T) {
	for _, threePhase := range []bool{true, false} {
		b := newBench(t, func(p *Params, s *settings.Settings) {
			withMeter1(p, s)
			s.Charge3Phase = threePhase
		})
		b.vehicle(func(v *simVehicle) { v.Plugged = true })
		b.run(time.Second)
		b.m.SetMeter(1, hw.MeterReading{At: b.now, Power: 69})
		b.step()
		wanted := 1
		if threePhase {
			wanted = 3
		}
		if want := units.CurrentFor(69, wanted); b.st.ActualCurrent != want {
			t.Fatalf("before any close (3-phase %v): %v A, want %v A", threePhase, b.st.ActualCurrent, want)
		}
		b.vehicle(func(v *simVehicle) { v.RequestCharge = true })
		b.until(5*time.Second, "charging", func() bool { return b.closed })
		s := b.m.Settings()
		s.Charge3Phase = !threePhase
		b.m.ApplySettings(s)
		b.m.SetMeter(1, hw.MeterReading{At: b.now, Power: 6900})
		b.step()
		if want := units.CurrentFor(6900, wanted); b.st.ActualCurrent != want {
			t.Fatalf("closed on %d phases, setting changed: %v A, want %v A", wanted, b.st.ActualCurrent, want)
		}
	}
}

// TestNoEstimatedPowerWithoutFeedback: a contactor commanded closed whose
// feedback stays open carries no current, so no power is estimated for
// it while the relay fault is still being confirmed.
func TestNoEstimatedPowerWithoutFeedback(t *testing.T) {
	b := newBench(t, nil)
	b.sim.SetFault(sim.FaultRelayOpen)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	b.until(5*time.Second, "close command", func() bool { return b.closed })
	b.never(DefaultParams().SwitchGrace-tick, "power estimated with the feedback open", func() bool {
		return b.st.ActualPower != 0 || b.st.ActualCurrent != 0
	})
}
