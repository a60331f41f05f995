package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// reading turns simulated phases into a meter reading taken at now.
func reading(now time.Time, ph [3]sim.Phase) hw.MeterReading {
	r := hw.MeterReading{At: now, HasPhases: true}
	for i, p := range ph {
		r.Power += p.Power
		r.PhaseCurrent[i], r.PhasePower[i], r.PhaseVoltage[i] = p.Current, p.Power, p.Voltage
	}
	return r
}

// poll feeds the control meter from the simulated site every 500 ms while
// *live is true; call it once per rig step.
func (r *rig) poll(live bool) {
	if live && r.now.Sub(epoch)%(500*time.Millisecond) == 0 {
		r.m.SetMeter(2, reading(r.now, r.sim.SitePhases()))
	}
}

// runPolling advances d, polling the control meter while live.
func (r *rig) runPolling(d time.Duration, live bool) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.step()
		r.poll(live)
	}
}

func limitedRig(t *testing.T, mutate func(*Params, *settings.Settings)) *rig {
	return newRig(t, func(p *Params, s *settings.Settings) {
		s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUSDM72D, 11000
		if mutate != nil {
			mutate(p, s)
		}
	})
}

// TestManualChargingLimiterOffMeterDead: with ControlStrategy 0, a control
// meter that never answers (or answered an hour ago) blocks nothing.
func TestManualChargingLimiterOffMeterDead(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) {
		s.ControlStrategy, s.Meter2Type, s.ChargeAutoStart = 0, settings.MeterRTUSDM72D, false
	})
	r.m.SetMeter(2, hw.MeterReading{At: epoch, Power: 40000})
	r.run(time.Hour)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.run(time.Second)
	if err := r.m.Start(r.now); err != nil {
		t.Fatal(err)
	}
	r.until(5*time.Second, "charging", func() bool { return r.st.ContactorFeedback })
	r.run(5 * time.Second)
	if r.st.DutyPermille != DutyFor(16) || r.st.LimiterActive || r.st.LimiterStale || r.st.LimitSource != SourceConfig {
		t.Fatalf("duty %d active %v stale %v source %v; want %d, limiter inactive, configuration",
			r.st.DutyPermille, r.st.LimiterActive, r.st.LimiterStale, r.st.LimitSource, DutyFor(16))
	}
}

// TestRigPauseAndResume: on the simulator, more house load than the limit
// leaves room for withdraws the PWM at once, opens the contactor within
// 6 s, and charging resumes only after the minimum pause.
func TestRigPauseAndResume(t *testing.T) {
	r := limitedRig(t, nil)
	r.sim.SetBuilding(2000, 0)
	r.runPolling(time.Second, true)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	for !r.st.ContactorFeedback {
		r.runPolling(10*time.Millisecond, true)
	}
	r.runPolling(10*time.Second, true)
	// (11000 − 2000)/690 = 13.04 → 13 A
	if r.st.CurrentLimit != 13 || r.st.LimitSource != SourceLimiter || r.sim.State().EvCurrent != 13 {
		t.Fatalf("limit %v source %v EV %v A; want 13 A from the limiter", r.st.CurrentLimit, r.st.LimitSource, r.sim.State().EvCurrent)
	}
	r.sim.SetBuilding(8000, 0)
	pausedAt := r.now
	for r.st.DutyPermille != DutySteady {
		if r.now.Sub(pausedAt) > time.Second {
			t.Fatalf("PWM not withdrawn 1 s after the load step (duty %d)", r.st.DutyPermille)
		}
		r.runPolling(10*time.Millisecond, true)
	}
	pausedAt = r.now
	if !r.st.LimiterPaused || !strings.Contains(r.st.Reason, "below 6 A") {
		t.Fatalf("paused %v reason %q", r.st.LimiterPaused, r.st.Reason)
	}
	for r.st.ContactorFeedback {
		if r.now.Sub(pausedAt) > 6*time.Second {
			t.Fatal("contactor still closed 6 s after the PWM was withdrawn")
		}
		r.runPolling(10*time.Millisecond, true)
	}
	r.sim.SetBuilding(0, 0)
	for r.st.DutyPermille == DutySteady {
		r.runPolling(10*time.Millisecond, true)
		if r.now.Sub(pausedAt) > 2*time.Minute {
			t.Fatal("no resume within 2 min")
		}
	}
	if d := r.now.Sub(pausedAt); d < time.Minute {
		t.Fatalf("resumed %v after the pause, before the 60 s minimum", d)
	}
	// (11000 − 0)/690 = 15.9 A surely available once the EV has been off for 5 s
	if r.st.DutyPermille != DutyFor(15) {
		t.Fatalf("resumed at duty %d, want 15 A (%d)", r.st.DutyPermille, DutyFor(15))
	}
}

// TestRigStaleMeterFallsBack: a control meter that stops answering puts
// the configured fallback in force after MeterStale and says so.
func TestRigStaleMeterFallsBack(t *testing.T) {
	for _, c := range []struct {
		fb   Fallback
		duty int
	}{{FallbackMinimum, DutyFor(6)}, {FallbackPause, DutySteady}, {FallbackFixed, DutyFor(10)}} {
		t.Run(c.fb.String(), func(t *testing.T) {
			r := limitedRig(t, func(p *Params, s *settings.Settings) {
				p.Limiter.Fallback, p.Limiter.FallbackCurrent = c.fb, 10
			})
			r.runPolling(time.Second, true)
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
			r.runPolling(15*time.Second, true)
			if r.st.DutyPermille != DutyFor(15) || r.st.LimiterStale {
				t.Fatalf("duty %d stale %v before the meter died; want %d", r.st.DutyPermille, r.st.LimiterStale, DutyFor(15))
			}
			last := r.now.Add(-10 * time.Millisecond).Truncate(500 * time.Millisecond)
			r.runPolling(9*time.Second, false)
			if r.st.LimiterStale {
				t.Fatalf("stale %v after the last reading, before MeterStale", r.now.Sub(last))
			}
			r.runPolling(2*time.Second, false)
			if !r.st.LimiterStale || r.st.LimitSource != SourceFallback || r.st.DutyPermille != c.duty {
				t.Fatalf("after %v: stale %v source %v duty %d; want stale, fallback, duty %d",
					r.now.Sub(last), r.st.LimiterStale, r.st.LimitSource, r.st.DutyPermille, c.duty)
			}
			if c.fb == FallbackPause && !strings.Contains(r.st.Reason, "stale") {
				t.Fatalf("reason %q does not say the input is stale", r.st.Reason)
			}
		})
	}
}
