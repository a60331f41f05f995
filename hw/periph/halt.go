package periph

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// driverClock is the driver's Parts.Now and Parts.Sleep as an hw.Clock.
type driverClock struct {
	now   func() time.Time
	sleep func(time.Duration)
}

func (c driverClock) Now() time.Time        { return c.now() }
func (c driverClock) Sleep(d time.Duration) { c.sleep(d) }

// releaseC2 drives C2's output safe (open), but only once C1's feedback
// reads open or hw.C1ReleaseTime has passed (hw.WaitOpen): C2 switches
// L2/L3 behind C1 and must never break current (invariant 21). C1 must
// have been commanded open before. Without a C1 feedback input it waits
// the whole bound.
//
// It runs on Open, on Close and when a driver goroutine panics
// (recoverHalt). The wait is bounded in every case; if the process dies
// within it (another goroutine's panic), C2 stays as it was and what
// the pin does after the process — the coil driver's pull-down, the
// next start's Open, the hardware watchdog (docs/hardware.md, "Safe
// state") — is the last resort, with C1 already open.
func (d *Driver) releaseC2() {
	if d.c2Safe == nil {
		return
	}
	closed := d.c1Closed
	if closed == nil {
		closed = func() bool { return true }
	}
	hw.WaitOpen(closed, d.clock)
	if d.c2 != nil {
		d.c2.Halt()
	}
	d.c2Safe()
}
