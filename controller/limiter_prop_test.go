package controller

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// limiterRules are the values invariants 15 and 16 are checked against —
// the specification, independent of the parameters the machine runs with.
type limiterRules struct {
	meterStale, leaseTTL, minPause time.Duration
	margin                         units.Amps
	fallback                       Fallback
	fallbackCurrent                units.Amps
}

// limiterChecker watches the status after every step for invariants 15
// and 16 of iec61851.md §7. It learns the inputs from the test driver.
type limiterChecker struct {
	rules    limiterRules
	set      settings.Settings
	reading  hw.MeterReading // last control-meter reading delivered
	haveRead bool
	leaseEnd time.Time // zero: no lease ever
	lease    units.Watts
	pausedAt time.Time // zero: not paused
	prev     Status

	pauses, resumes, staleSteps int
}

func (c *limiterChecker) super() bool { return c.set.Meter2Type == settings.MeterRemoteSuperv }

// stale says whether the specification calls the input stale at now.
func (c *limiterChecker) stale(now time.Time) bool {
	if c.super() {
		return c.leaseEnd.IsZero() || !now.Before(c.leaseEnd)
	}
	return !c.haveRead || now.Sub(c.reading.At) > c.rules.meterStale
}

// available is the oracle for the current per phase the inputs allow with
// the EV drawing nothing (as during a pause), by the formula.
func (c *limiterChecker) available() units.Amps {
	if c.super() {
		return units.CurrentFor(c.lease, 3)
	}
	a := units.CurrentFor(units.Watts(c.set.ControlLimit)-c.reading.Power, 3)
	for i := range 3 {
		other := c.reading.PhaseCurrent[i]
		if c.reading.PhasePower[i] < 0 {
			other = -other
		}
		a = min(a, units.Amps(c.set.PhaseCurrentLimit)-other)
	}
	return a
}

// check returns the first violation at now, given the status st.
func (c *limiterChecker) check(now time.Time, st *Status) error {
	defer func() { c.prev = *st }()
	judged := st.VehicleConnected && st.Fault == FaultNone
	// Invariant 15: stale beyond the timeout → the fallback, never the last value.
	if judged && c.stale(now) {
		c.staleSteps++
		if !st.LimiterStale || st.LimitSource != SourceFallback {
			return fmt.Errorf("inv 15: input stale but status stale=%v source=%v", st.LimiterStale, st.LimitSource)
		}
		limit := settings.MinCurrent * 1.0
		switch c.rules.fallback {
		case FallbackPause:
			limit = 0
		case FallbackFixed:
			limit = float64(c.rules.fallbackCurrent)
		}
		if adv := CurrentForDuty(st.DutyPermille); float64(adv) > limit+0.05 {
			return fmt.Errorf("inv 15: input stale, advertising %.1f A above the %v fallback (%.0f A)", float64(adv), c.rules.fallback, limit)
		}
	}
	// Invariant 16: no restart within the minimum pause; resume with margin.
	if st.LimiterPaused && !c.prev.LimiterPaused {
		c.pausedAt = now
		c.pauses++
	}
	if !c.pausedAt.IsZero() && now.Sub(c.pausedAt) < c.rules.minPause {
		if IsPWM(st.DutyPermille) || !st.LimiterPaused {
			return fmt.Errorf("inv 16: PWM %d ‰ (paused %v) %v after a pause began, before the %v minimum",
				st.DutyPermille, st.LimiterPaused, now.Sub(c.pausedAt), c.rules.minPause)
		}
	}
	if !st.LimiterPaused && c.prev.LimiterPaused && st.LimiterActive {
		c.resumes++
		c.pausedAt = time.Time{}
		if need := settings.MinCurrent + c.rules.margin; !st.LimiterStale && c.available() < need {
			return fmt.Errorf("inv 16: resumed with %.2f A available, need %.1f A", float64(c.available()), float64(need))
		}
	}
	return nil
}

// propRun drives a rig with random house load, control-meter gaps and
// supervisor leases for d and checks every step; it returns the first
// violation. p are the parameters the machine runs with.
func propRun(t *testing.T, seed uint64, p LimiterParams, rules limiterRules, d time.Duration) (*limiterChecker, error) {
	rnd := rand.New(rand.NewPCG(seed, 6))
	super := rnd.IntN(3) == 0
	r := newRig(t, func(pp *Params, s *settings.Settings) {
		pp.Limiter = p
		s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUSDM72D, 11000
		if super {
			s.Meter2Type = settings.MeterRemoteSuperv
		}
	})
	c := &limiterChecker{rules: rules, set: r.m.Settings()}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	var deadUntil time.Time
	// Near the 6 A threshold most of the time, so pause/resume decisions
	// within the 0.5 A margin are exercised.
	near := func() units.Watts {
		w := units.Watts(11000 - 4140)
		switch rnd.IntN(4) {
		case 0:
			return units.Watts(rnd.Float64() * 11000)
		case 1:
			return w - units.Watts(rnd.Float64()*800)
		}
		return w - units.Watts(rnd.Float64()*400) + 200
	}
	for end := r.now.Add(d); r.now.Before(end); {
		r.step()
		if r.now.Sub(epoch)%time.Second == 0 {
			switch {
			case rnd.IntN(40) == 0:
				deadUntil = r.now.Add(time.Duration(rnd.IntN(40)) * time.Second)
			case rnd.IntN(4) == 0:
				r.sim.SetBuilding(near(), 0)
			}
			if super && !r.now.Before(deadUntil) && rnd.IntN(5) == 0 {
				w := 11000 - near() + units.Watts(rnd.Float64()*200)
				if err := r.m.SetSupervisorPower(w, r.now); err != nil {
					t.Fatal(err)
				}
				c.lease, c.leaseEnd = max(w, 0), r.now.Add(rules.leaseTTL)
			}
		}
		if !super && !r.now.Before(deadUntil) && r.now.Sub(epoch)%(500*time.Millisecond) == 0 {
			c.reading, c.haveRead = reading(r.now, r.sim.SitePhases()), true
			r.m.SetMeter(2, c.reading)
		}
		if err := c.check(r.now, &r.st); err != nil {
			return c, fmt.Errorf("seed %d at %v: %w", seed, r.now.Sub(epoch), err)
		}
	}
	return c, nil
}

func specRules(p LimiterParams) limiterRules {
	return limiterRules{meterStale: 10 * time.Second, leaseTTL: 60 * time.Second, minPause: 60 * time.Second,
		margin: 0.5, fallback: p.Fallback, fallbackCurrent: p.FallbackCurrent}
}

func randomParams(seed uint64) LimiterParams {
	p := DefaultLimiterParams()
	p.Fallback = Fallback(seed % 3)
	p.FallbackCurrent = units.Amps(6 + seed%7)
	return p
}

// TestLimiterInvariants15And16 runs random control-meter and lease
// sequences with stale gaps and checks invariants 15 and 16 after every
// step.
func TestLimiterInvariants15And16(t *testing.T) {
	seeds := uint64(24)
	var pauses, resumes, stale int
	for seed := range seeds {
		p := randomParams(seed)
		c, err := propRun(t, seed, p, specRules(p), 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		pauses, resumes, stale = pauses+c.pauses, resumes+c.resumes, stale+c.staleSteps
	}
	t.Logf("%d seeds × 10 min: %d pauses, %d resumes, %d stale steps", seeds, pauses, resumes, stale)
	if pauses < 20 || resumes < 20 || stale < 10000 {
		t.Fatalf("random runs too tame: %d pauses, %d resumes, %d stale steps", pauses, resumes, stale)
	}
}

// TestLimiterCheckersCatch shows each checker failing on a limiter whose
// parameters break the rule it guards.
func TestLimiterCheckersCatch(t *testing.T) {
	for _, c := range []struct {
		name   string
		broken func(*LimiterParams)
		want   string
	}{
		{"value held (inv 15)", func(p *LimiterParams) { p.MeterStale, p.LeaseTTL = time.Hour, time.Hour }, "inv 15"},
		{"short pause (inv 16)", func(p *LimiterParams) { p.MinPause = 5 * time.Second }, "inv 16: PWM"},
		{"no margin (inv 16)", func(p *LimiterParams) { p.ResumeMargin = 0 }, "inv 16: resumed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(24) {
				p := randomParams(seed)
				rules := specRules(p)
				c.broken(&p)
				if _, err := propRun(t, seed, p, rules, 10*time.Minute); err != nil {
					if !strings.Contains(err.Error(), c.want) {
						t.Fatalf("caught %v, want %q", err, c.want)
					}
					t.Logf("caught: %v", err)
					return
				}
			}
			t.Fatalf("no seed caught the broken limiter")
		})
	}
}
