package periph_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// wait lets virtual time pass for the car and the driver's timers.
func (r *rig) wait(d time.Duration) bool {
	r.now = r.now.Add(d)
	r.clock.Advance(r.now)
	r.sim.Tick(r.now)
	return true
}

func TestHWCheckReadsAndPulses(t *testing.T) {
	r := newRig(t, 20, nil)
	rd := r.drv.Read(r.wait)
	if rd.Level != "A" || math.Abs(rd.PilotHigh-12) > 0.1 || !math.IsInf(rd.PPOhms, 1) || rd.Contactor || rd.EPO == nil || *rd.EPO {
		t.Fatalf("reading with no car: %+v", rd)
	}
	var out bytes.Buffer
	rd.Print(&out)
	if !strings.Contains(out.String(), "state A") || !strings.Contains(out.String(), "emergency:   released") {
		t.Fatalf("printed:\n%s", out.String())
	}
	out.Reset()
	if err := r.drv.Pulse(&out, r.wait); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"pilot 50% PWM: high +11.99 V, low -11.99 V",
		"pilot −12 V:   -11.99 V",
		"contactor: feedback CLOSED when driven, open when released — ok",
		"contactor2: feedback CLOSED when driven, open when released — ok",
		"lock (solenoid): locked true, then unlocked true — ok",
		"rcm self-test: tripped and recovered — ok",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pulse report lacks %q:\n%s", want, out.String())
		}
	}
	if r.circ.Level(periphtest.PinC1) != gpio.Low || r.circ.Duty() != 1000 || r.circ.RCMTesting() {
		t.Fatal("outputs not left safe after the pulses")
	}
	// A broken C2 feedback is reported.
	r.circ.SetC2Fault("open")
	out.Reset()
	if err := r.drv.Pulse(&out, r.wait); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "contactor2: feedback open when driven, open when released — CHECK THE WIRING") {
		t.Errorf("C2 that never closes not reported:\n%s", out.String())
	}
}

func TestHWCheckRefusesToPulseWithACar(t *testing.T) {
	r := newRig(t, 21, nil)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
	r.wait(time.Second)
	closed := false
	r.circ.OnContactor(func(c bool) { closed = closed || c })
	var out bytes.Buffer
	if err := r.drv.Pulse(&out, r.wait); !errors.Is(err, periph.ErrVehicle) {
		t.Fatalf("pulse with a car in B: %v", err)
	}
	if closed || r.circ.Duty() != 1000 {
		t.Fatal("an output was driven with a car connected")
	}
}

// TestHWCheckInterrupted: Ctrl-C during the pulses stops them with every
// output safe.
func TestHWCheckInterrupted(t *testing.T) {
	r := newRig(t, 22, nil)
	n := 0
	closed := false
	r.circ.OnContactor(func(c bool) { closed = closed || c })
	err := r.drv.Pulse(&bytes.Buffer{}, func(d time.Duration) bool {
		n++
		r.wait(d)
		return n < 8 // interrupted during the pilot checks
	})
	if !errors.Is(err, periph.ErrInterrupted) {
		t.Fatalf("got %v, want interrupted", err)
	}
	if closed || r.circ.Duty() != 1000 {
		t.Fatal("outputs driven after the interrupt, or not left safe")
	}
}
