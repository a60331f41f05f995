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
	// backUnder bounds how long the site or a phase the car uses may stay
	// over its limit, from the first control-meter reading that shows it,
	// while the car draws current and the meter is fresh (issue 9 item 6:
	// the EV's response + 1 s).
	backUnder time.Duration
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
	// overFrom is when the simulated site went over a limit with the car
	// drawing, overSince when a control-meter reading first showed it
	// (zero: not over, not shown); site and ev are the simulator's truth.
	overFrom, overSince time.Time
	site, ev            [3]sim.Phase

	pauses, resumes, staleSteps, overloads int
	longestOver                            time.Duration
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
	// Issue 9 item 6: whatever the car draws (less than offered, fewer
	// phases than configured), a fresh control meter gets the site and
	// every phase back under within backUnder.
	if err := c.checkBackUnder(now, st); err != nil {
		return err
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

// checkBackUnder judges the simulator's site (not what the limiter
// believes) against ControlLimit and PhaseCurrentLimit.
func (c *limiterChecker) checkBackUnder(now time.Time, st *Status) error {
	var total units.Watts
	var drawing, overPhase bool
	for i := range 3 {
		total += c.site[i].Power
		drawing = drawing || c.ev[i].Current > 0
		if c.ev[i].Current > 0 && c.site[i].Power > 0 && c.site[i].Current > units.Amps(c.set.PhaseCurrentLimit) {
			overPhase = true
		}
	}
	over := drawing && (total > units.Watts(c.set.ControlLimit) || overPhase)
	if !over || c.super() || c.stale(now) || !st.LimiterActive {
		c.overFrom, c.overSince = time.Time{}, time.Time{}
		return nil
	}
	if c.overFrom.IsZero() {
		c.overFrom = now
		c.overloads++
	}
	if c.overSince.IsZero() {
		if c.reading.At.Before(c.overFrom) {
			return nil // no control-meter reading has shown it yet (a slow or silent meter)
		}
		c.overSince = c.reading.At
	}
	d := now.Sub(c.overSince)
	c.longestOver = max(c.longestOver, d)
	if d > c.rules.backUnder {
		return fmt.Errorf("item 6: site %.0f W (limit %d W), phases %.1f/%.1f/%.1f A (limit %d A) over for %v with the car drawing %.1f A on %v; want back under within %v",
			float64(total), c.set.ControlLimit, float64(c.site[0].Current), float64(c.site[1].Current), float64(c.site[2].Current),
			c.set.PhaseCurrentLimit, d, float64(c.ev[0].Current), phasesDrawn(c.ev), c.rules.backUnder)
	}
	return nil
}

func phasesDrawn(ev [3]sim.Phase) string {
	n := 0
	for _, p := range ev {
		if p.Current > 0 {
			n++
		}
	}
	return fmt.Sprintf("%d phase(s)", n)
}

// propRun drives a rig with random house load, control-meter gaps and
// supervisor leases for d and checks every step; it returns the first
// violation. p are the parameters the machine runs with.
func propRun(t *testing.T, seed uint64, p LimiterParams, rules limiterRules, d time.Duration) (*limiterChecker, error) {
	rnd := rand.New(rand.NewPCG(seed, 6))
	super := rnd.IntN(3) == 0
	// Half the control-meter runs have no statistics meter: the limiter
	// then only knows what it offers, not what the car draws.
	meter1 := !super && rnd.IntN(2) == 0
	r := newRig(t, func(pp *Params, s *settings.Settings) {
		pp.Limiter = p
		s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUSDM72D, 11000
		s.ChargeCurrent = []int{16, 20, 27, 32}[rnd.IntN(4)]
		s.PhaseCurrentLimit = []int{16, 20, 25, 32}[rnd.IntN(4)]
		s.Meter1Type = settings.MeterNone
		if meter1 {
			s.Meter1Type = settings.MeterRTUSDM72D
		}
		if super {
			s.Meter2Type = settings.MeterRemoteSuperv
		}
	})
	c := &limiterChecker{rules: rules, set: r.m.Settings()}
	// Cars that draw less than they are offered, and on fewer phases
	// than configured (a 1-phase car with Charge3Phase on); the cap moves
	// during the run, as a car's own limit does (battery temperature,
	// state of charge).
	carCap := func() units.Amps { return []units.Amps{6, 8, 10, 13, 16, 32}[rnd.IntN(6)] }
	onePhase := rnd.IntN(3) == 0
	r.vehicle(func(v *sim.Vehicle) {
		v.Plugged, v.RequestCharge, v.MaxCurrent = true, true, carCap()
		if onePhase {
			v.Phases = 1
		}
	})
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
			case rnd.IntN(30) == 0:
				r.vehicle(func(v *sim.Vehicle) { v.MaxCurrent = carCap() })
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
		if meter1 && r.now.Sub(epoch)%time.Second == 320*time.Millisecond { // polled out of phase, as the daemon does
			r.m.SetMeter(1, reading(r.now, r.sim.EVPhases()))
		}
		c.site, c.ev = r.sim.SitePhases(), r.sim.EVPhases()
		if err := c.check(r.now, &r.st); err != nil {
			return c, fmt.Errorf("seed %d (supervisor %v, meter 1 %v, 1-phase car %v, ChargeCurrent %d A) at %v: %w",
				seed, super, meter1, onePhase, c.set.ChargeCurrent, r.now.Sub(epoch), err)
		}
	}
	return c, nil
}

func specRules(p LimiterParams) limiterRules {
	return limiterRules{meterStale: 10 * time.Second, leaseTTL: 60 * time.Second, minPause: 60 * time.Second,
		margin: 0.5, fallback: p.Fallback, fallbackCurrent: p.FallbackCurrent,
		backUnder: 5*time.Second + time.Second}
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
	var pauses, resumes, stale, overloads int
	var longest time.Duration
	for seed := range seeds {
		p := randomParams(seed)
		c, err := propRun(t, seed, p, specRules(p), 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		pauses, resumes, stale = pauses+c.pauses, resumes+c.resumes, stale+c.staleSteps
		overloads, longest = overloads+c.overloads, max(longest, c.longestOver)
	}
	t.Logf("%d seeds × 10 min: %d pauses, %d resumes, %d stale steps, %d overloads (longest %v after a reading showed it)",
		seeds, pauses, resumes, stale, overloads, longest)
	if pauses < 20 || resumes < 20 || stale < 10000 || overloads < 50 {
		t.Fatalf("random runs too tame: %d pauses, %d resumes, %d stale steps, %d overloads", pauses, resumes, stale, overloads)
	}
}

// TestLimiterCheckersCatch shows each checker failing on a limiter whose
// parameters break the rule it guards.
func TestLimiterCheckersCatch(t *testing.T) {
	for _, c := range []struct {
		name   string
		broken func(*LimiterParams)
		want   string
		rules  func(*limiterRules) // a rule no limiter can keep, instead of a broken limiter
	}{
		{"value held (inv 15)", func(p *LimiterParams) { p.MeterStale, p.LeaseTTL = time.Hour, time.Hour }, "inv 15", nil},
		{"short pause (inv 16)", func(p *LimiterParams) { p.MinPause = 5 * time.Second }, "inv 16: PWM", nil},
		{"no margin (inv 16)", func(p *LimiterParams) { p.ResumeMargin = 0 }, "inv 16: resumed", nil},
		// The car takes 2 s to follow the pilot: back under within 1 s of
		// the reading is beyond any limiter. (The old law, which cut only
		// the excess off an offer the car did not draw, fails the real
		// bound too: seed 2, 6 s over.)
		{"back under faster than the car (item 6)", func(*LimiterParams) {}, "item 6", func(r *limiterRules) { r.backUnder = time.Second }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(24) {
				p := randomParams(seed)
				rules := specRules(p)
				if c.rules != nil {
					c.rules(&rules)
				}
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
