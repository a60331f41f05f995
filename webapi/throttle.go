package webapi

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Bounds of the credential throttle.
const (
	// FirstBackoff is how long the answer to a client's first wrong
	// credentials is held; it doubles with each further failure.
	FirstBackoff = time.Second
	// MaxBackoff caps the hold.
	MaxBackoff = 60 * time.Second
	// ForgetFailure: a client quiet this long starts afresh.
	ForgetFailure = 15 * time.Minute
	// MaxThrottled bounds the clients the throttle remembers at once.
	MaxThrottled = 1024
	// SlotWait bounds how long an attempt waits for its client's previous
	// one (held after a failure) before it is refused unjudged.
	SlotWait = MaxBackoff + 5*time.Second
)

// throttle slows the guessing of credentials (a Basic password is
// chosen by people) without ever locking out whoever holds them, as
// OpenEVSE's rule asks: every attempt is judged, so the right
// credentials always get in, but the answer to wrong ones is held
// (FirstBackoff doubling to MaxBackoff) and a client (an address, or an
// IPv6 /64) has one attempt judged at a time. A guesser so gets one guess
// per hold, and an attempt refused while another is held was never
// judged, so the refusal tells nothing. Other clients are never held.
// The WebAPI's writes and the page's login share one throttle.
type throttle struct {
	now   func() time.Time
	hold  func(ctx context.Context, d time.Duration) // a timer; tests record it
	wait  time.Duration                              // SlotWait
	mu    sync.Mutex
	fails map[netip.Prefix]failure
	slots map[netip.Prefix]*slot
}

type failure struct {
	n    int
	last time.Time
}

// slot lets one attempt per client be judged at a time.
type slot struct {
	ch    chan struct{} // holds a token while an attempt is judged or held
	users int           // attempts holding or waiting for it
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, hold: sleepCtx, wait: SlotWait,
		fails: map[netip.Prefix]failure{}, slots: map[netip.Prefix]*slot{}}
}

// sleepCtx waits d or until ctx ends (the client left).
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// clientKey is what the throttle counts by: the address, or its /64 for
// IPv6 (one host may use any address of its /64).
func clientKey(a netip.Addr) netip.Prefix {
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// judge runs check for the client once no other attempt of it is being
// judged or held, holds the answer of a failure, and reports the
// verdict. busy is true when the attempt was refused without being
// judged (its client's turn did not come within the wait, or too many
// clients at once).
func (t *throttle) judge(ctx context.Context, a netip.Addr, check func() bool) (ok, busy bool) {
	release, got := t.acquire(ctx, a)
	if !got {
		return false, true
	}
	defer release()
	if check() {
		t.succeeded(a)
		return true, false
	}
	t.hold(ctx, t.failed(a))
	return false, false
}

func (t *throttle) acquire(ctx context.Context, a netip.Addr) (release func(), ok bool) {
	k := clientKey(a)
	t.mu.Lock()
	sl := t.slots[k]
	if sl == nil {
		if len(t.slots) >= MaxThrottled {
			t.mu.Unlock()
			return nil, false
		}
		sl = &slot{ch: make(chan struct{}, 1)}
		t.slots[k] = sl
	}
	sl.users++
	t.mu.Unlock()
	done := func() {
		t.mu.Lock()
		if sl.users--; sl.users == 0 {
			delete(t.slots, k)
		}
		t.mu.Unlock()
	}
	timer := time.NewTimer(t.wait)
	defer timer.Stop()
	select {
	case sl.ch <- struct{}{}:
		return func() { <-sl.ch; done() }, true
	case <-timer.C:
	case <-ctx.Done():
	}
	done()
	return nil, false
}

// failed counts a wrong attempt of the client and returns how long its
// answer is held.
func (t *throttle) failed(a netip.Addr) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := clientKey(a)
	f := t.fails[k]
	if now.Sub(f.last) > ForgetFailure {
		f = failure{}
	}
	f.n++
	d := MaxBackoff
	if f.n < 8 {
		d = min(FirstBackoff<<(f.n-1), MaxBackoff)
	}
	f.last = now
	if _, known := t.fails[k]; !known && len(t.fails) >= MaxThrottled {
		for old, of := range t.fails { // forget a quiet client, or any
			if now.Sub(of.last) > ForgetFailure || len(t.fails) >= MaxThrottled {
				delete(t.fails, old)
				break
			}
		}
	}
	t.fails[k] = f
	return d
}

func (t *throttle) succeeded(a netip.Addr) {
	t.mu.Lock()
	delete(t.fails, clientKey(a))
	t.mu.Unlock()
}
