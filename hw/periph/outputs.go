package periph

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// level is the pin level of an asserted (true) or released signal.
func level(asserted, activeLow bool) gpio.Level { return gpio.Level(asserted != activeLow) }

// contactor drives a coil output and reads its feedback input. Closing
// is refused while inhibit reports an emergency stop or a
// residual-current trip, whatever the caller asks.
type contactor struct {
	out         gpio.PinOut
	activeLow   bool
	fb          gpio.PinIn
	fbActiveLow bool
	inhibit     func() bool
	now         func() time.Time

	mu    sync.Mutex
	cmd   bool
	cmdAt time.Time
	err   error
}

// Set implements hw.Contactor.
func (c *contactor) Set(closed bool) {
	if closed && c.inhibit != nil && c.inhibit() {
		closed = false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.out.Out(level(closed, c.activeLow)); err != nil {
		c.err = err
	}
	if closed != c.cmd {
		c.cmd, c.cmdAt = closed, c.now()
	}
}

// forceOpen opens the output from an input watcher, without waiting for
// the control loop.
func (c *contactor) forceOpen() { c.Set(false) }

// Closed implements hw.Contactor: the feedback input.
func (c *contactor) Closed() bool { return c.fb.Read() == level(true, c.fbActiveLow) }

// Halt implements hw.Contactor.
func (c *contactor) Halt() { c.Set(false) }

// Fault says whether the feedback disagrees with the command for longer
// than grace: "welded" (commanded open, reads closed) or "failed to
// close". The controller judges the main contactor itself; this serves
// C2, whose control logic is not in the controller yet, and hwcheck.
func (c *contactor) Fault(grace time.Duration) string {
	c.mu.Lock()
	cmd, at := c.cmd, c.cmdAt
	c.mu.Unlock()
	fb := c.Closed()
	if fb == cmd || c.now().Sub(at) < grace {
		return ""
	}
	if fb {
		return "welded"
	}
	return "failed to close"
}

// afterFunc runs f after d; stop cancels it. time.AfterFunc in
// production, a virtual clock in tests.
type afterFunc func(d time.Duration, f func()) (stop func() bool)

// lock drives a Case B cable lock: a bistable solenoid through an
// H-bridge (a pulse of one polarity locks, of the other unlocks), or a
// servomotor with 50 Hz position pulses for the drive time. The feedback
// switch's locked level depends on the method.
type lock struct {
	a, b  gpio.PinOut // b is nil for a servo-only installation
	fb    gpio.PinIn
	cfg   Lock
	after afterFunc

	mu     sync.Mutex
	method hw.LockMethod
	gen    int
	stop   func() bool
	err    error
}

const servoFreq = 50 * physic.Hertz

// Set implements hw.Lock. It starts the drive and returns; the drive
// ends after cfg.Pulse.
func (l *lock) Set(locked bool, method hw.LockMethod) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		l.stop()
	}
	l.method = method
	var err error
	switch method {
	case hw.LockServo:
		if l.b != nil {
			err = l.b.Out(gpio.Low)
		}
		us := l.cfg.ServoUnlockedUs
		if locked {
			us = l.cfg.ServoLockedUs
		}
		if e := l.a.PWM(gpio.Duty(int64(us)*int64(gpio.DutyMax)/20000), servoFreq); e != nil {
			err = e
		}
	default:
		// Break before make: never both H-bridge inputs high.
		first, second := l.b, l.a
		if !locked {
			first, second = l.a, l.b
		}
		if first != nil {
			err = first.Out(gpio.Low)
		}
		if second != nil {
			if e := second.Out(gpio.High); e != nil {
				err = e
			}
		}
	}
	if err != nil {
		l.err = err
	}
	l.gen++
	g := l.gen
	l.stop = l.after(l.cfg.Pulse, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if g == l.gen {
			l.release()
		}
	})
}

// release de-energises the lock drive; l.mu is held.
func (l *lock) release() {
	_ = l.a.Out(gpio.Low)
	if l.b != nil {
		_ = l.b.Out(gpio.Low)
	}
}

// Locked implements hw.Lock.
func (l *lock) Locked() bool {
	l.mu.Lock()
	want := l.cfg.SolenoidLocked
	if l.method == hw.LockServo {
		want = l.cfg.ServoLocked
	}
	l.mu.Unlock()
	return (l.fb.Read() == gpio.High) == (want == "high")
}

// halt stops any drive in progress.
func (l *lock) halt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		l.stop()
	}
	l.gen++
	l.release()
}

// noLock is the lock of an installation without one: never locked, so
// Case B never closes the contactor.
type noLock struct{}

func (noLock) Set(bool, hw.LockMethod) {}
func (noLock) Locked() bool            { return false }
