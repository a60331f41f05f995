//go:build !linux

package tick

import (
	"errors"
	"time"
)

// ticker is the portable clock: a time.Ticker and a wake channel.
type ticker struct {
	t      *time.Ticker
	wake   chan struct{}
	period time.Duration
	prev   time.Time
	closed bool
}

func newClock(period time.Duration) (Clock, error) {
	if period <= 0 {
		return nil, errors.New("tick: period must be positive")
	}
	return &ticker{t: time.NewTicker(period), wake: make(chan struct{}, 1), period: period}, nil
}

func (t *ticker) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *ticker) Wait() (Event, error) {
	if t.closed {
		return Event{}, ErrClosed
	}
	select {
	case <-t.wake:
		return Event{}, nil
	case due := <-t.t.C: // a Ticker delivers its due instant and drops ticks
		var missed uint64
		if !t.prev.IsZero() {
			if gap := due.Sub(t.prev); gap > t.period*3/2 {
				missed = uint64((gap+t.period/2)/t.period) - 1
			}
		}
		t.prev = due
		// The Ticker skipped the missed ticks: the earliest one served
		// was due missed periods before the one it delivered.
		return Event{Tick: true, Due: due.Add(-time.Duration(missed) * t.period), Missed: missed}, nil
	}
}

func (t *ticker) Close() error { t.t.Stop(); t.closed = true; return nil }
