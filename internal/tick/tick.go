// Package tick is the control loop's clock: a periodic tick that one
// goroutine waits for directly, and that other goroutines can interrupt
// (Wake) so the same goroutine also serves commands at once.
//
// On Linux the tick is a timerfd read through the runtime's network
// poller with a raw read, so an idle 100 Hz loop costs one thread wake-up
// per tick: a time.Ticker costs about four here (the poller's millisecond
// timeouts wake it twice, sysmon wakes with every timer, and readying the
// receiver wakes a spinning thread), which measured 0.9 % of a core
// against 0.4 % (README, "Control loop under load"). Elsewhere it is a
// time.Ticker.
package tick

import (
	"errors"
	"time"
)

// ErrClosed is returned by Wait after Close.
var ErrClosed = errors.New("tick: clock closed")

// Event is what Wait returned for.
type Event struct {
	// Tick is false when Wait returned for Wake.
	Tick bool
	// Due is the scheduled instant of the earliest tick this Wait
	// serves: how late the waiter is is time.Since(Due).
	Due time.Time
	// Missed counts the ticks that fell due after Due without a Wait of
	// their own: a late Wait serves them together.
	Missed uint64
}

// Clock is a periodic tick for one waiter. Wait and Close belong to the
// waiting goroutine; Wake may be called from any goroutine.
type Clock interface {
	// Wait blocks until the next tick is due or Wake is called. A Wake
	// that came before Wait makes it return at once.
	Wait() (Event, error)
	// Wake makes the current or next Wait return with Tick false.
	Wake()
	// Close stops the clock.
	Close() error
}

// New returns a clock ticking every period from now.
func New(period time.Duration) (Clock, error) { return newClock(period) }
