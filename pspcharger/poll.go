package pspcharger

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/pspbox"
)

// Run reads the box until ctx ends: Status every Poll (a failure makes the
// snapshot unreachable at once and retries with a backoff capped at one
// poll period), the rest as the package comment says, and — supervising —
// pushes the available power. When the box answers again after a failure,
// everything is read again and the supervisor set up again in the same
// round, so the bridge is in step within two poll periods.
func (c *Charger) Run(ctx context.Context) {
	r := &rounds{c: c, sup: newSupervisor(c), resync: true}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
			r.infoAt = time.Time{} // after a write: read the settings back too
		}
		now := c.o.Now()
		next := now.Add(c.o.Poll)
		if err := r.round(ctx, now); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.markUnreachable(c.o.Now(), err)
			r.resync = true
			r.backoff = min(max(2*r.backoff, c.o.Poll/4), c.o.Poll)
			next = now.Add(r.backoff)
		} else {
			r.backoff = 0
		}
		timer.Reset(max(next.Sub(c.o.Now()), 0))
	}
}

// rounds is Run's state between rounds.
type rounds struct {
	c       *Charger
	sup     *supervisor
	infoAt  time.Time // next SystemConfig/SystemInfo read
	meterAt time.Time // next meter read
	backoff time.Duration
	resync  bool // read everything and set the supervisor up again
}

// round reads Status, what else is due, and pushes. Every call is bounded
// like the Status read, and the first one that finds the box unreachable
// ends the round, so a box that stops answering mid-round still shows in
// the status within three poll periods.
func (r *rounds) round(ctx context.Context, now time.Time) error {
	c := r.c
	if err := c.bounded(ctx, c.readStatus); err != nil {
		return err
	}
	if r.resync || !now.Before(r.infoAt) {
		r.infoAt = time.Time{}
		if err := c.bounded(ctx, c.readConfig); gone(err) {
			return err
		} else if err == nil {
			if err := c.bounded(ctx, c.readInfo); gone(err) {
				return err
			} else if err == nil {
				r.infoAt = now.Add(c.o.InfoEvery)
			}
		}
	}
	if r.resync || !now.Before(r.meterAt) {
		if err := c.bounded(ctx, c.readMeters); gone(err) {
			return err
		}
		r.meterAt = now.Add(c.o.MeterEvery)
	}
	if r.resync {
		r.sup.resync()
		c.log.Info().Msg("box reachable; state read")
		r.resync = false
	}
	if err := c.bounded(ctx, func(ctx context.Context) error { return r.sup.step(ctx, c.o.Now()) }); gone(err) {
		return err
	}
	c.refresh(c.o.Now())
	return nil
}

// gone reports whether err says the box did not answer (or answered
// garbage) rather than refusing something.
func gone(err error) bool {
	return err != nil && (errors.Is(err, pspbox.ErrUnreachable) || errors.Is(err, pspbox.ErrBadAnswer)) && !errors.Is(err, pspbox.ErrUnconfirmed)
}

// bounded runs f with the deadline of one Status read.
func (c *Charger) bounded(ctx context.Context, f func(context.Context) error) error {
	bctx, cancel := context.WithTimeout(ctx, c.statusTimeout())
	defer cancel()
	return f(bctx)
}

// statusTimeout bounds one Status read so that a box that stops answering
// is reported within three poll periods even with a long timeout.
func (c *Charger) statusTimeout() time.Duration { return 2 * c.o.Poll }

// readStatus reads Status.
func (c *Charger) readStatus(ctx context.Context) error {
	st, err := c.c.Status(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.raw, c.haveStatus = st, true
	c.mu.Unlock()
	return nil
}

// markUnreachable makes the snapshot say why the box does not answer,
// keeping the last values read.
func (c *Charger) markUnreachable(now time.Time, err error) {
	why := reason(err)
	if c.Status().Unreachable == "" {
		c.log.Warn().Str("reason", why).Msg("box unreachable")
	}
	c.mu.Lock()
	snap := c.st
	c.mu.Unlock()
	snap.At, snap.Unreachable = now, why
	c.publish(snap)
}

// reason words a failure as the status shows it: "charger unreachable:
// GET Status: no answer within 2s", what failed first after the prefix.
func reason(err error) string {
	msg := err.Error()
	const p = "charger unreachable"
	i := strings.Index(msg, p)
	switch {
	case i < 0:
		return p + ": " + msg
	case i == 0:
		return msg
	}
	return p + ": " + msg[:i] + strings.TrimPrefix(msg[i+len(p):], ": ")
}

// refresh recomputes the snapshot from what was read.
func (c *Charger) refresh(now time.Time) {
	c.mu.RLock()
	in := mapInput{raw: c.raw, cfg: c.cfg, haveCfg: c.haveCfg, supervise: c.o.Supervise, lease: c.lease,
		leaseTTL: c.o.Limiter.LeaseTTL, superErr: c.superErr, pushed: c.pushed,
		meterOK: c.o.ControlMeter && c.siteOK && now.Sub(c.site.At) <= c.o.Limiter.MeterStale}
	ok := c.haveStatus
	c.mu.RUnlock()
	if !ok {
		return
	}
	c.publish(mapStatus(in, now))
}

func (c *Charger) readConfig(ctx context.Context) error {
	sc, err := c.c.SystemConfig(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("SystemConfig not read")
		return err
	}
	c.setConfig(sc)
	return nil
}

// setConfig stores the box's settings and tells the hooks when they
// changed.
func (c *Charger) setConfig(sc pspbox.SystemConfig) {
	c.mu.Lock()
	same := c.haveCfg && c.cfg == sc.Settings
	c.cfg, c.haveCfg = sc.Settings, true
	c.mu.Unlock()
	if !same {
		c.applied(sc.Settings)
	}
}

func (c *Charger) readInfo(ctx context.Context) error {
	si, err := c.c.SystemInfo(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("SystemInfo not read")
		return err
	}
	c.mu.Lock()
	c.info = si
	c.mu.Unlock()
	c.once.Do(func() {
		c.log.Info().Str("mac", si.MAC).Str("product", si.ProductType).Str("version", si.SystemVersion).Msg("box identified")
		close(c.ready)
	})
	return nil
}

// readMeters reads the meters the box has (types 1–6); a meter the box
// does not read (0, or 7: the supervisor) is dropped. It returns the
// first failure to reach the box.
func (c *Charger) readMeters(ctx context.Context) error {
	s := c.Settings()
	for i, t := range []int{s.Meter1Type, s.Meter2Type} {
		n := i + 1
		if t < 1 || t > 6 {
			c.mu.Lock()
			c.meters[i] = nil
			c.mu.Unlock()
			continue
		}
		m, err := c.c.Meter(ctx, n)
		if err != nil {
			c.log.Debug().Err(err).Int("meter", n).Msg("meter not read")
			if gone(err) {
				return err
			}
			continue
		}
		c.mu.Lock()
		c.meters[i] = &m
		c.mu.Unlock()
	}
	return nil
}
