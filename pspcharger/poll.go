package pspcharger

import (
	"context"
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
	var (
		next      time.Time // next Status read
		infoAt    time.Time // next SystemConfig/SystemInfo read
		meterAt   time.Time // next meter read
		backoff   time.Duration
		reachable bool
		resync    = true
		sup       = newSupervisor(c)
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
			infoAt = time.Time{} // after a write: read the settings back too
		}
		now := c.o.Now()
		ok := c.readStatus(ctx, now)
		switch {
		case !ok:
			reachable, resync = false, true
			backoff = min(max(2*backoff, c.o.Poll/4), c.o.Poll)
			next = now.Add(backoff)
		default:
			backoff = 0
			if !reachable {
				reachable = true
				if !resync {
					resync = true
				}
			}
			if resync || !now.Before(infoAt) {
				if c.readConfig(ctx) && c.readInfo(ctx) {
					infoAt = now.Add(c.o.InfoEvery)
				} else {
					infoAt = time.Time{}
				}
			}
			if resync || !now.Before(meterAt) {
				c.readMeters(ctx)
				meterAt = now.Add(c.o.MeterEvery)
			}
			if resync {
				sup.resync()
				c.log.Info().Msg("box reachable; state read")
			}
			resync = false
			sup.step(ctx, c.o.Now())
			c.refresh(c.o.Now())
			next = now.Add(c.o.Poll)
		}
		timer.Reset(max(next.Sub(c.o.Now()), 0))
	}
}

// statusTimeout bounds one Status read so that a box that stops answering
// is reported within three poll periods even with a long timeout.
func (c *Charger) statusTimeout() time.Duration { return 2 * c.o.Poll }

// readStatus reads Status into the snapshot; on failure the snapshot says
// why the box is unreachable (keeping the last values read).
func (c *Charger) readStatus(ctx context.Context, now time.Time) bool {
	rctx, cancel := context.WithTimeout(ctx, c.statusTimeout())
	st, err := c.c.Status(rctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		why := reason(err)
		if c.Status().Unreachable == "" {
			c.log.Warn().Str("reason", why).Msg("box unreachable")
		}
		c.mu.Lock()
		snap := c.st
		c.mu.Unlock()
		snap.At, snap.Unreachable = now, why
		c.publish(snap)
		return false
	}
	c.mu.Lock()
	c.raw, c.haveStatus = st, true
	c.mu.Unlock()
	return true
}

// reason words a failure as the status shows it: "charger unreachable: …".
func reason(err error) string {
	msg := err.Error()
	const p = "charger unreachable"
	if i := strings.Index(msg, p); i >= 0 {
		return msg[i:]
	}
	return p + ": " + msg
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

func (c *Charger) readConfig(ctx context.Context) bool {
	sc, err := c.c.SystemConfig(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("SystemConfig not read")
		return false
	}
	c.setConfig(sc)
	return true
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

func (c *Charger) readInfo(ctx context.Context) bool {
	si, err := c.c.SystemInfo(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("SystemInfo not read")
		return false
	}
	c.mu.Lock()
	c.info = si
	c.mu.Unlock()
	c.once.Do(func() {
		c.log.Info().Str("mac", si.MAC).Str("product", si.ProductType).Str("version", si.SystemVersion).Msg("box identified")
		close(c.ready)
	})
	return true
}

// readMeters reads the meters the box has (types 1–6); a meter the box
// does not read (0, or 7: the supervisor) is dropped.
func (c *Charger) readMeters(ctx context.Context) {
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
			continue
		}
		c.mu.Lock()
		c.meters[i] = &m
		c.mu.Unlock()
	}
}
