package pspcharger_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
	"github.com/evse-mqtt/evse-mqtt/pspcharger"
)

// poll is the rig's poll period: short, so that "within n poll periods"
// is checked in milliseconds.
const poll = 50 * time.Millisecond

// slack is what a bound in poll periods may take longer on a loaded
// machine; it stays well below the client's 1 s timeout, so the bounds
// still tell the poll-bounded behaviour from waiting for a timeout.
const slack = 200 * time.Millisecond

type rig struct {
	t   *testing.T
	box *fakebox.Box
	ch  *pspcharger.Charger
}

type rigOpt func(*pspcharger.Options)

func newRig(t *testing.T, opts ...rigOpt) *rig {
	t.Helper()
	box, err := fakebox.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(box.Close)
	cl, err := pspbox.New(pspbox.Options{URL: box.URL(), Timeout: time.Second, ConfirmWithin: 300 * time.Millisecond, ConfirmInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	lim := controller.DefaultLimiterParams()
	o := pspcharger.Options{Client: cl, Poll: poll, Limiter: lim, HardwareMax: 32, Log: zerolog.Nop(),
		Push: pspbox.PushPolicy{Refresh: 200 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}}
	for _, f := range opts {
		f(&o)
	}
	ch, err := pspcharger.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	r := &rig{t: t, box: box, ch: ch}
	r.until("the first read", 2*time.Second, func(st charger.Status) bool { return st.Unreachable == "" })
	select {
	case <-ch.Ready():
	case <-time.After(2 * time.Second):
		t.Fatal("box not identified")
	}
	return r
}

// until waits, on the snapshot's own notifications and at most within,
// for cond to hold; it fails the test with what was seen last.
func (r *rig) until(what string, within time.Duration, cond func(charger.Status) bool) charger.Status {
	r.t.Helper()
	return r.untilTrue(what, within, func() bool { return cond(r.ch.Status()) })
}

// untilTrue waits for cond, checked on every snapshot change and every
// poll period (the box's side of a condition changes without a snapshot
// change), at most within.
func (r *rig) untilTrue(what string, within time.Duration, cond func() bool) charger.Status {
	r.t.Helper()
	sub, stop := r.ch.Subscribe()
	defer stop()
	deadline := time.After(within)
	tick := time.NewTicker(poll / 2)
	defer tick.Stop()
	for !cond() {
		select {
		case <-sub:
		case <-tick.C:
		case <-deadline:
			r.t.Fatalf("%s: not within %v; status %+v", what, within, r.ch.Status())
		}
	}
	return r.ch.Status()
}

func supervise(lease time.Duration, fb controller.Fallback) rigOpt {
	return func(o *pspcharger.Options) {
		o.Supervise = true
		o.Limiter.LeaseTTL = lease
		o.Limiter.Fallback = fb
		o.Limiter.FallbackCurrent = 10
	}
}
