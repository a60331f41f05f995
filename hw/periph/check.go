package periph

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// Reading is one look at every input, for commissioning (hwcheck).
type Reading struct {
	PilotHigh, PilotLow float64 // V, through the calibration
	ADCHigh, ADCLow     float64 // V at the ADC input, for calibrating
	Level               string  // band of the high level: A…F or invalid
	PPOhms              float64 // NaN without a PP circuit
	Contactor           bool    // feedback
	Contactor2          *bool   // nil without C2
	Locked              *bool   // nil without a lock
	EPO                 *bool   // nil without an EPO input
	RCMTripped          *bool   // nil without an RCM
}

var bandNames = [...]string{"F", "invalid", "E", "D", "C", "B", "A"}

// bandName names the pilot band of v.
func bandName(v float64) string {
	if math.IsNaN(v) {
		return "invalid"
	}
	return bandNames[band(v)]
}

// Wait lets time pass (a sleep on a board, a virtual clock in tests);
// false means stop (interrupted).
type Wait func(time.Duration) bool

// ErrInterrupted is returned by Pulse when wait says stop.
var ErrInterrupted = errors.New("interrupted; outputs left safe")

// Read samples the pilot in three bursts a millisecond apart and reads
// every other input once.
func (d *Driver) Read(wait Wait) Reading {
	for i := 0; i < 3; i++ {
		for j := 0; j < 64; j++ {
			_ = d.SampleOnce()
		}
		wait(time.Millisecond)
	}
	for j := 0; j < 8; j++ {
		_ = d.SampleOnce() // the PP is read every eighth pass
	}
	s := d.pilot.Sample()
	r := Reading{PilotHigh: float64(s.High), PilotLow: float64(s.Low), PPOhms: math.NaN(), Contactor: d.c1.Closed()}
	r.ADCHigh = r.PilotHigh/d.cfg.Pilot.Scale + d.cfg.Pilot.Offset
	r.ADCLow = r.PilotLow/d.cfg.Pilot.Scale + d.cfg.Pilot.Offset
	r.Level = bandName(r.PilotHigh)
	if d.pp != nil {
		r.PPOhms = d.pp.Ohms()
	}
	b := func(v bool) *bool { return &v }
	if d.c2 != nil {
		r.Contactor2 = b(d.c2.Closed())
	}
	if d.lk != nil {
		r.Locked = b(d.lk.Locked())
	}
	if d.epo != nil {
		r.EPO = b(d.epo.held())
	}
	if d.rcm != nil {
		r.RCMTripped = b(d.rcm.held())
	}
	return r
}

// Print writes the reading for people.
func (r Reading) Print(w io.Writer) {
	yn := func(p *bool, yes, no string) string {
		switch {
		case p == nil:
			return "not configured"
		case *p:
			return yes
		}
		return no
	}
	fmt.Fprintf(w, "pilot:       high %+.2f V, low %+.2f V (state %s); at the ADC %.3f V / %.3f V\n", r.PilotHigh, r.PilotLow, r.Level, r.ADCHigh, r.ADCLow)
	if math.IsNaN(r.PPOhms) {
		fmt.Fprintln(w, "proximity:   not configured")
	} else {
		fmt.Fprintf(w, "proximity:   %.0f Ω\n", r.PPOhms)
	}
	fmt.Fprintf(w, "contactor:   feedback %s\n", yn(&r.Contactor, "CLOSED", "open"))
	fmt.Fprintf(w, "contactor2:  %s\n", yn(r.Contactor2, "feedback CLOSED", "feedback open"))
	fmt.Fprintf(w, "lock:        %s\n", yn(r.Locked, "locked", "unlocked"))
	fmt.Fprintf(w, "emergency:   %s\n", yn(r.EPO, "PRESSED", "released"))
	fmt.Fprintf(w, "rcm:         %s\n", yn(r.RCMTripped, "TRIPPED", "ok"))
}

// ErrVehicle is returned by Pulse when the pilot does not read a steady
// state A: outputs are pulsed only with no vehicle connected.
var ErrVehicle = errors.New("the pilot does not read a steady +12 V (state A): unplug the vehicle before pulsing outputs")

// Pulse drives each output once for commissioning and reports what the
// feedback inputs saw: the pilot's PWM and −12 V, each contactor, the
// lock both ways and the RCM self-test. It refuses unless the pilot
// reads state A with no PWM, checks that again before each output, and
// leaves every output safe.
func (d *Driver) Pulse(w io.Writer, wait Wait) error {
	defer d.halt()
	stopped := false
	pause := func(t time.Duration) {
		if !stopped && !wait(t) {
			stopped = true
		}
	}
	noCar := func() error {
		if stopped {
			return ErrInterrupted
		}
		d.pilot.SetDuty(1000)
		pause(2 * d.cfg.Pilot.Window) // what the pilot did before leaves the windows
		r := d.Read(wait)
		if r.Level != "A" || r.PilotLow < 10.5 {
			return ErrVehicle
		}
		return nil
	}
	if err := noCar(); err != nil {
		return err
	}
	d.pilot.SetDuty(500)
	pause(2 * d.cfg.Pilot.Window)
	r := d.Read(wait)
	fmt.Fprintf(w, "pilot 50%% PWM: high %+.2f V, low %+.2f V (want about +12 / −12)\n", r.PilotHigh, r.PilotLow)
	if stopped {
		return ErrInterrupted
	}
	d.pilot.SetDuty(0)
	pause(2 * d.cfg.Pilot.Window)
	r = d.Read(wait)
	fmt.Fprintf(w, "pilot −12 V:   %+.2f V (want about −12)\n", r.PilotHigh)
	for _, c := range []struct {
		name string
		c    *contactor
	}{{"contactor", d.c1}, {"contactor2", d.c2}} {
		if c.c == nil {
			continue
		}
		if err := noCar(); err != nil {
			return err
		}
		c.c.Set(true)
		pause(time.Second)
		on := c.c.Closed()
		c.c.Set(false)
		pause(time.Second)
		off := c.c.Closed()
		fmt.Fprintf(w, "%s: feedback %s when driven, %s when released%s\n", c.name, onOff(on), onOff(off), verdict(on && !off))
	}
	if d.lk != nil {
		if err := noCar(); err != nil {
			return err
		}
		m := d.lk.method // the configured LockMethod
		d.lk.Set(true, m)
		pause(d.cfg.Lock.Pulse + 700*time.Millisecond)
		locked := d.lk.Locked()
		d.lk.Set(false, m)
		pause(d.cfg.Lock.Pulse + 700*time.Millisecond)
		unlocked := !d.lk.Locked()
		fmt.Fprintf(w, "lock (%s): locked %v, then unlocked %v%s\n", methodName(m), locked, unlocked, verdict(locked && unlocked))
	}
	if d.rcm != nil {
		if err := noCar(); err != nil {
			return err
		}
		d.rcm.StartTest()
		done, ok := false, false
		for i := 0; i < 300 && !done; i++ {
			pause(10 * time.Millisecond)
			done, ok = d.rcm.TestResult()
		}
		if stopped {
			return ErrInterrupted
		}
		fmt.Fprintf(w, "rcm self-test: %s%s\n", map[bool]string{true: "tripped and recovered", false: "no answer"}[ok], verdict(ok))
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "CLOSED"
	}
	return "open"
}

func verdict(ok bool) string {
	if ok {
		return " — ok"
	}
	return " — CHECK THE WIRING"
}

func methodName(m hw.LockMethod) string {
	if m == hw.LockServo {
		return "servo"
	}
	return "solenoid"
}
