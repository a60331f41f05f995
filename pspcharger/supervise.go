package pspcharger

import (
	"context"

	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// supervisor is the bridge as the box's external supervisor. The box's
// own limiting algorithm (ControlStrategy 1) applies the dynamics — ramp,
// pause, resume — to the available power it is given; the bridge decides
// that power: the lease while it lasts, else the configured fallback
// (limiter.fallback), pushed on every change and at least every 10 s
// (pspbox.PushPolicy). It is owned by Run's goroutine.
type supervisor struct {
	c      *Charger
	policy pspbox.PushPolicy
	setup  bool // SetSupervisor is due before the next push
}

func newSupervisor(c *Charger) *supervisor {
	return &supervisor{c: c, policy: c.o.Push, setup: true}
}

// resync starts over after the box was unreachable (or at start): set up
// again (the box may have been reset) and push at once, whatever the
// backoff said while it was away.
func (s *supervisor) resync() {
	s.policy = s.c.o.Push
	s.setup = true
}

// want is the power the box may use now: the least of a valid lease and
// what a fresh control meter leaves (either alone when only one is
// valid), else the fallback. It reports whether an input was valid.
func (s *supervisor) want(now time.Time) (units.Watts, bool) {
	c := s.c
	c.mu.RLock()
	l, cfg, site, siteOK, ev := c.lease, c.cfg, c.site, c.siteOK, c.raw
	c.mu.RUnlock()
	phases := 1
	if cfg.Charge3Phase {
		phases = 3
	}
	p := c.o.Limiter
	w, ok := units.Watts(0), false
	if l.valid && now.Before(l.expires) {
		w, ok = l.power, true
	}
	if c.o.ControlMeter && siteOK && now.Sub(site.At) <= p.MeterStale {
		m := meterPower(&cfg, site, ev, phases)
		if !ok || m < w {
			w = m
		}
		ok = true
	}
	if ok {
		return w, true
	}
	switch p.Fallback {
	case controller.FallbackPause:
		return 0, false
	case controller.FallbackFixed:
		return units.PowerFor(p.FallbackCurrent, phases), false
	}
	return units.PowerFor(settings.MinCurrent, phases), false
}

// meterPower is what the control meter leaves for the car, by the issue-6
// formula the local limiter uses: ControlLimit − site + EV, and per phase
// PhaseCurrentLimit − (I_phase − I_EV,phase), whichever is less. The car's
// draw is the box's own ActualPower and ActualCurrent. The box's
// algorithm applies the dynamics (ramp, pause, resume) to it.
func meterPower(cfg *settings.Settings, site hw.MeterReading, ev pspbox.Status, phases int) units.Watts {
	w := units.Watts(1e9)
	if cfg.ControlLimit > 0 {
		w = units.Watts(cfg.ControlLimit) - site.Power + ev.ActualPower
	}
	if cfg.PhaseCurrentLimit > 0 && site.HasPhases {
		head := units.Amps(1e6)
		for i := 0; i < 3; i++ {
			evA := units.Amps(0)
			if i < phases {
				evA = ev.ActualCurrent
			}
			head = min(head, units.Amps(cfg.PhaseCurrentLimit)-(site.PhaseCurrent[i]-evA))
		}
		w = min(w, units.PowerFor(max(head, 0), phases))
	}
	if w == 1e9 {
		// Neither limit set: the meter limits nothing; the box's own
		// settings do.
		w = pspbox.MaxPower
	}
	return max(w, 0)
}

// step sets the box up if needed and pushes when the policy says so. It
// returns the failure, if any (the caller acts only on an unreachable box).
func (s *supervisor) step(ctx context.Context, now time.Time) error {
	c := s.c
	if !c.o.Supervise {
		return nil
	}
	w, leased := s.want(now)
	if !s.policy.Due(now, w) {
		return nil
	}
	if s.setup {
		if err := s.setUp(ctx); err != nil {
			s.policy.Done(now, w, err) // back off before trying again
			c.setSuperErr(err.Error())
			c.log.Warn().Err(err).Time("retry_at", s.policy.RetryAt()).Msg("supervisor not set up on the box; retrying")
			return err
		}
		s.setup = false
	}
	got, err := c.c.SetPowerAvailable(ctx, w)
	switch s.policy.Done(now, w, err) {
	case pspbox.PushOK:
		c.mu.Lock()
		c.pushed = got
		c.mu.Unlock()
		c.setSuperErr("")
		c.log.Debug().Float64("watts", float64(got)).Bool("lease", leased).Msg("available power pushed")
	case pspbox.PushSetup:
		s.setup = true
		c.setSuperErr(err.Error())
		c.log.Warn().Err(err).Time("retry_at", s.policy.RetryAt()).Msg("box refused the supervisor's power; setting up again after the backoff")
	default:
		c.setSuperErr(err.Error())
		c.log.Warn().Err(err).Time("retry_at", s.policy.RetryAt()).Msg("available power not pushed")
	}
	return err
}

// setUp makes the bridge the box's supervisor with the address the box
// sees, and logs what it changed on the box.
func (s *supervisor) setUp(ctx context.Context) error {
	c := s.c
	local, err := c.c.LocalAddr(ctx)
	if err != nil {
		return err
	}
	changes, err := c.c.SetSupervisor(ctx, local)
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		ev := c.log.Warn().Str("supervisor", local.String())
		for _, ch := range changes {
			ev = ev.Str(ch.Name, ch.String())
		}
		ev.Msg("changed on the box to supervise it (a control meter on Meter2 is no longer read by the box)")
		if sc, err := c.c.SystemConfig(ctx); err == nil {
			c.setConfig(sc)
		}
	}
	return nil
}

func (c *Charger) setSuperErr(msg string) {
	c.mu.Lock()
	c.superErr = msg
	c.mu.Unlock()
}

// SetControlMeter takes a reading of the bridge's own control meter (from
// the meter's poller goroutine; it never blocks on the box).
func (c *Charger) SetControlMeter(r hw.MeterReading) {
	c.mu.Lock()
	c.site, c.siteOK = r, true
	c.mu.Unlock()
}
