package periph

import (
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// input is a digital input with its asserted level.
type input struct {
	pin       gpio.PinIn
	activeLow bool
}

func (i input) asserted() bool { return i.pin.Read() == level(true, i.activeLow) }

func pull(s string) gpio.Pull {
	switch s {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	}
	return gpio.Float
}

// epo is the emergency-stop input. A watcher goroutine waits for its
// edges (WaitForEdge, an interrupt, not polling) and on a press latches
// it and opens C1 at once (C2 later, after C1: Driver.forceOpen); Pressed reports the latch until
// the control loop has seen it, so even a press shorter than a control
// step stops the charge.
type epo struct {
	in      input
	latched atomic.Bool
	onPress func()
}

// Pressed implements hw.EmergencyStop.
func (e *epo) Pressed() bool {
	if e.latched.Load() {
		if !e.in.asserted() {
			e.latched.Store(false)
		}
		return true
	}
	return e.in.asserted()
}

// held reports a press without consuming the latch.
func (e *epo) held() bool { return e.latched.Load() || e.in.asserted() }

// edge handles one edge seen by the watcher.
func (e *epo) edge() {
	if e.in.asserted() {
		e.latched.Store(true)
		e.onPress()
	}
}

// noEPO is the input of an installation without an EPO wired to the
// board (a mains emergency switch upstream, for example).
type noEPO struct{}

func (noEPO) Pressed() bool { return false }

// rcm is a residual-current monitor module: fault input, test output.
// The self-test drives the test input, expects the fault output to
// assert within the timeout, releases the test input and expects the
// fault output to clear within the timeout again. It advances as the
// controller polls TestResult.
type rcm struct {
	fault         input
	test          gpio.PinOut
	testActiveLow bool
	timeout       time.Duration
	now           func() time.Time
	onTrip        func()

	mu      sync.Mutex
	phase   int // 0 idle, 1 waiting for the trip, 2 waiting for the recovery
	at      time.Time
	done    bool
	passed  bool
	latched atomic.Bool
	err     error
}

const (
	rcmIdle = iota
	rcmWaitTrip
	rcmWaitClear
)

// testing reports a self-test in progress.
func (r *rcm) testing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase != rcmIdle
}

// Tripped implements hw.ResidualCurrentMonitor.
func (r *rcm) Tripped() bool {
	if r.testing() {
		return false
	}
	if r.latched.Load() {
		if !r.fault.asserted() {
			r.latched.Store(false)
		}
		return true
	}
	return r.fault.asserted()
}

// held reports a trip without consuming the latch (contactor inhibit).
func (r *rcm) held() bool {
	return !r.testing() && (r.latched.Load() || r.fault.asserted())
}

// StartTest implements hw.ResidualCurrentMonitor.
func (r *rcm) StartTest() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.test.Out(level(true, r.testActiveLow)); err != nil {
		r.err = err
	}
	r.phase, r.at, r.done, r.passed = rcmWaitTrip, r.now(), false, false
}

// TestResult implements hw.ResidualCurrentMonitor.
func (r *rcm) TestResult() (done, passed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	switch r.phase {
	case rcmWaitTrip:
		switch {
		case r.fault.asserted():
			r.releaseTest()
			r.phase, r.at = rcmWaitClear, now
		case now.Sub(r.at) >= r.timeout:
			r.releaseTest()
			r.finish(false)
		}
	case rcmWaitClear:
		switch {
		case !r.fault.asserted():
			r.finish(true)
		case now.Sub(r.at) >= r.timeout:
			r.finish(false) // stuck tripped: a module fault
		}
	}
	return r.done, r.passed
}

func (r *rcm) releaseTest() {
	if err := r.test.Out(level(false, r.testActiveLow)); err != nil {
		r.err = err
	}
}

func (r *rcm) finish(passed bool) { r.phase, r.done, r.passed = rcmIdle, true, passed }

// edge handles one edge of the fault input seen by the watcher.
func (r *rcm) edge() {
	if r.testing() || !r.fault.asserted() {
		return
	}
	r.latched.Store(true)
	r.onTrip()
}

// halt releases the test output.
func (r *rcm) halt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseTest()
	r.phase = rcmIdle
}
