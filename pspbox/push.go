package pspbox

import (
	"errors"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// Defaults of PushPolicy.
const (
	DefaultPushRefresh = 10 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 60 * time.Second
)

// PushAction says what the caller does after a push.
type PushAction int

// Push outcomes.
const (
	PushOK    PushAction = iota // the box took it
	PushRetry                   // the box was not reached; try again after the backoff
	PushSetup                   // the box is not (or no longer) set up for us: SetSupervisor, then push
)

// PushPolicy decides when the supervisor's available power goes to the
// box: on every change, and at least every Refresh, so that the box — whose
// behaviour when its supervisor goes silent the guide does not give —
// never lives on an old value for long. After a failure it waits a backoff
// that doubles from MinBackoff to MaxBackoff, so a box that answers
// "supervisor IP not set" is never hammered. It holds no clock: the
// caller passes the time. The zero value uses the defaults.
type PushPolicy struct {
	Refresh, MinBackoff, MaxBackoff time.Duration

	pushed   bool
	last     units.Watts
	lastAt   time.Time
	failures int
	retryAt  time.Time
}

// Due reports whether want should be pushed at now.
func (p *PushPolicy) Due(now time.Time, want units.Watts) bool {
	if now.Before(p.retryAt) {
		return false
	}
	refresh := p.Refresh
	if refresh <= 0 {
		refresh = DefaultPushRefresh
	}
	return !p.pushed || want != p.last || now.Sub(p.lastAt) >= refresh
}

// Done records the result of pushing want at now and says what to do.
func (p *PushPolicy) Done(now time.Time, want units.Watts, err error) PushAction {
	if err == nil {
		p.pushed, p.last, p.lastAt, p.failures, p.retryAt = true, want, now, 0, time.Time{}
		return PushOK
	}
	p.failures++
	p.retryAt = now.Add(p.backoff())
	p.pushed = false // whatever the box holds now, push again when allowed
	if errors.Is(err, ErrSupervisorNotSet) || errors.Is(err, ErrRefused) {
		return PushSetup
	}
	return PushRetry
}

// Failures is the number of failed pushes in a row.
func (p *PushPolicy) Failures() int { return p.failures }

// RetryAt is when the next push is allowed after a failure (zero if none).
func (p *PushPolicy) RetryAt() time.Time { return p.retryAt }

func (p *PushPolicy) backoff() time.Duration {
	lo, hi := p.MinBackoff, p.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	d := lo
	for i := 1; i < p.failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
