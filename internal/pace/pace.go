// Package pace spaces work out in time: a Rate hands out start times at
// most n a second after a burst, so whoever waits for them waits parked
// instead of competing for the CPU with the control loop.
package pace

import (
	"sync"
	"time"
)

// Rate is a reservation schedule; safe for concurrent use.
type Rate struct {
	interval time.Duration
	burst    time.Duration // burst·interval: how far next may lag behind now

	mu   sync.Mutex
	next time.Time // when the next reservation may start
}

// New returns a Rate of perSecond reservations a second after a burst of
// burst (perSecond must be positive).
func New(perSecond, burst int) *Rate {
	iv := time.Second / time.Duration(perSecond)
	return &Rate{interval: iv, burst: time.Duration(burst) * iv}
}

// Reserve returns when work asked for at now may start: now during a
// burst, later once it is spent. Every call takes a place in the
// schedule, whether or not the caller then waits for it.
func (r *Rate) Reserve(now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if floor := now.Add(-r.burst); r.next.Before(floor) {
		r.next = floor
	}
	at := r.next
	r.next = r.next.Add(r.interval)
	if at.Before(now) {
		return now
	}
	return at
}
