package periph_test

import (
	"math"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/evse-mqtt/evse-mqtt/controller"
	hwpkg "github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/units"
)

func hw(m int) hwpkg.LockMethod { return hwpkg.LockMethod(m) }

// TestWaveAtRandomPhasesWithNoise drives a PWM of several duties into a
// car in B and in C and reads the wave at random phases with ±0.3 V of
// noise: the high level classifies right and the low level shows the
// diode (−12 V), or its absence.
func TestWaveAtRandomPhasesWithNoise(t *testing.T) {
	for _, duty := range []int{100, 266, 533, 960} {
		for _, c := range []struct {
			name    string
			request bool
			diode   bool
			want    controller.Level
		}{{"B", false, true, controller.LevelB}, {"C", true, true, controller.LevelC}, {"C without diode", true, false, controller.LevelC}} {
			r := newRig(t, int64(duty), nil)
			r.circ.SetRandomPhases()
			r.circ.SetNoise(0.3)
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, c.request })
			if !c.diode {
				r.sim.SetFault(sim.FaultDiodeShort)
			}
			pilot := r.drv.Board().Pilot
			pilot.SetDuty(duty)
			r.now = r.now.Add(time.Second) // the car follows the PWM
			r.clock.Advance(r.now)
			r.sim.Tick(r.now)
			for i := 0; i < 200; i++ {
				if err := r.drv.SampleOnce(); err != nil {
					t.Fatal(err)
				}
			}
			s := pilot.Sample()
			if l := controller.Classify(s.High); l != c.want {
				t.Errorf("duty %d, %s: high %.2f V = %v, want %v", duty, c.name, float64(s.High), l, c.want)
			}
			if gotDiode := s.Low <= -10; gotDiode != c.diode {
				t.Errorf("duty %d, %s: low %.2f V; diode seen %v, want %v", duty, c.name, float64(s.Low), gotDiode, c.diode)
			}
		}
	}
}

// TestDiodeFault: a car without its diode never gets the contactor; the
// controller reports the diode error through the driver's low level.
func TestDiodeFault(t *testing.T) {
	r := newRig(t, 1, nil)
	r.sim.SetFault(sim.FaultDiodeShort)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	for end := r.now.Add(3 * time.Second); r.now.Before(end) && r.st.Fault == controller.FaultNone; r.step() {
		if r.circ.Level(periphtest.PinC1) == gpio.High {
			t.Fatal("contactor closed for a car without a diode")
		}
	}
	if r.st.Fault != controller.FaultDiode || r.st.State != controller.StateDiodeErr {
		t.Fatalf("fault %v state %v, want the diode fault", r.st.Fault, r.st.State)
	}
}

// TestPPRatings reads each cable coding through the pull-up divider and
// the ADC: the resistance lands in its band (iec61851.md §4).
func TestPPRatings(t *testing.T) {
	r := newRig(t, 2, nil)
	pp := r.drv.Board().Proximity
	read := func() float64 {
		for i := 0; i < 8; i++ { // the PP is read every eighth pass
			_ = r.drv.SampleOnce()
		}
		return pp.Ohms()
	}
	if o := read(); !math.IsInf(o, 1) {
		t.Fatalf("no cable: %v Ω, want open", o)
	}
	for _, c := range []struct {
		rating units.Amps
		lo, hi float64
	}{{13, 1000, 2200}, {20, 330, 1000}, {32, 150, 330}, {63, 75, 150}, {0, 2200, math.Inf(1)}} {
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.CableRating = true, c.rating })
		if o := read(); !(o >= c.lo && o < c.hi) {
			t.Errorf("cable %v A: %.0f Ω, want %v…%v Ω", c.rating, o, c.lo, c.hi)
		}
	}
	r.sim.SetFault(sim.FaultPPShort)
	if o := read(); o >= 75 {
		t.Errorf("shorted PP: %.0f Ω, want below 75 Ω", o)
	}
}

// TestContactorFeedback: the main contactor's weld and failure to close
// through the controller, and C2's through the driver's check.
func TestContactorFeedback(t *testing.T) {
	t.Run("C1 weld", func(t *testing.T) {
		r := newRig(t, 3, nil)
		r.plugAndCharge()
		r.sim.SetFault(sim.FaultWeld)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
		r.until(2*time.Second, "weld fault", func() bool { return r.st.Fault == controller.FaultWeld })
		if r.circ.Level(periphtest.PinC1) != gpio.Low {
			t.Fatal("coil still driven with a weld")
		}
	})
	t.Run("C1 fails to close", func(t *testing.T) {
		r := newRig(t, 4, nil)
		r.sim.SetFault(sim.FaultRelayOpen)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.until(5*time.Second, "relay fault", func() bool { return r.st.Fault == controller.FaultRelayOpen })
	})
	t.Run("C2", func(t *testing.T) {
		r := newRig(t, 5, nil)
		c2 := r.drv.Board().Phases
		check := c2.(interface{ Fault(time.Duration) string })
		grace := 500 * time.Millisecond
		c2.Set(true)
		if !c2.Closed() || check.Fault(grace) != "" {
			t.Fatalf("healthy C2: closed %v, fault %q", c2.Closed(), check.Fault(grace))
		}
		r.circ.SetC2Fault("open")
		if f := check.Fault(grace); f != "" {
			t.Fatalf("within the grace: %q", f)
		}
		r.clock.Advance(r.now.Add(grace))
		if f := check.Fault(grace); f != "failed to close" {
			t.Fatalf("C2 that does not close: %q", f)
		}
		r.circ.SetC2Fault("weld")
		c2.Set(false)
		r.clock.Advance(r.clock.Now().Add(grace))
		if f := check.Fault(grace); f != "welded" || !c2.Closed() {
			t.Fatalf("welded C2: %q, closed %v", f, c2.Closed())
		}
		if r.circ.Level(periphtest.PinC2) != gpio.Low {
			t.Fatal("C2 coil still driven")
		}
	})
}

// TestLockFeedbackBothTypes: a solenoid gets a pulse of each polarity
// and reads locked on a high feedback; a servo gets 50 Hz position
// pulses and reads locked on a low one.
func TestLockFeedbackBothTypes(t *testing.T) {
	r := newRig(t, 6, nil)
	lk := r.drv.Board().Lock
	settle := func(d time.Duration) {
		r.now = r.now.Add(d)
		r.clock.Advance(r.now)
		r.sim.Tick(r.now)
	}
	lk.Set(true, hwpkg.LockSolenoid)
	if r.circ.Level(periphtest.PinLock) != gpio.High || r.circ.Level(periphtest.PinUnlock) != gpio.Low {
		t.Fatal("lock pulse: wrong H-bridge polarity")
	}
	settle(300 * time.Millisecond)
	if r.circ.Level(periphtest.PinLock) != gpio.Low || r.circ.Level(periphtest.PinUnlock) != gpio.Low {
		t.Fatal("solenoid still energised after the pulse")
	}
	if !lk.Locked() {
		t.Fatal("solenoid: not locked after the pulse")
	}
	lk.Set(false, hwpkg.LockSolenoid)
	if r.circ.Level(periphtest.PinUnlock) != gpio.High || r.circ.Level(periphtest.PinLock) != gpio.Low {
		t.Fatal("unlock pulse: wrong H-bridge polarity")
	}
	settle(300 * time.Millisecond)
	if lk.Locked() {
		t.Fatal("solenoid: still locked after the unlock pulse")
	}

	lk.Set(true, hwpkg.LockServo)
	d, f := r.circ.PWM(periphtest.PinLock)
	if f != 50*physic.Hertz || d != gpio.Duty(int64(2000)*int64(gpio.DutyMax)/20000) {
		t.Fatalf("servo drive: duty %v at %v, want 2000 µs at 50 Hz", d, f)
	}
	if lk.Locked() {
		t.Fatal("servo reads locked before it moved")
	}
	settle(700 * time.Millisecond)
	if !lk.Locked() {
		t.Fatal("servo: not locked after its travel")
	}
	lk.Set(false, hwpkg.LockServo)
	settle(700 * time.Millisecond)
	if lk.Locked() {
		t.Fatal("servo: still locked after unlocking")
	}
}

// TestLockPolarityMatters: a servo wired with the solenoid's polarity
// reads the opposite, so the configured polarity is really used.
func TestLockPolarityMatters(t *testing.T) {
	r := newRig(t, 7, nil)
	lk := r.drv.Board().Lock
	lk.Set(true, hwpkg.LockServo)
	r.now = r.now.Add(700 * time.Millisecond)
	r.clock.Advance(r.now)
	r.sim.Tick(r.now)
	fb := r.circ.Parts().Pin(periphtest.PinLockFB).Read()
	if fb != gpio.Low || !lk.Locked() {
		t.Fatalf("servo locked: feedback %v, Locked %v; want low and locked", fb, lk.Locked())
	}
	lk.Set(true, hwpkg.LockSolenoid) // same position, solenoid polarity
	fb = r.circ.Parts().Pin(periphtest.PinLockFB).Read()
	if fb != gpio.High || !lk.Locked() {
		t.Fatalf("solenoid locked: feedback %v, Locked %v; want high and locked", fb, lk.Locked())
	}
}

// TestEPOEdgeOpensInTheSameStep: the EPO watcher opens the contactor at
// the edge, before the control loop runs; the next step reports the
// emergency stop with the contactor open and the pilot at F.
func TestEPOEdgeOpensInTheSameStep(t *testing.T) {
	r := newRig(t, 8, nil)
	r.plugAndCharge()
	opened := make(chan struct{}, 1)
	r.circ.OnContactor(func(closed bool) {
		if !closed {
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	r.drv.WatchInputs()
	r.sim.SetFault(sim.FaultEPO)
	r.circ.Edge(periphtest.PinEPO)
	select {
	case <-opened:
	case <-time.After(2 * time.Second):
		t.Fatal("the EPO edge did not open the contactor")
	}
	if r.sim.State().Contactor {
		t.Fatal("contactor still closed after the EPO edge")
	}
	// The controller may not close it again while the EPO holds.
	r.drv.Board().Contactor.Set(true)
	if r.circ.Level(periphtest.PinC1) != gpio.Low {
		t.Fatal("contactor closed while the EPO is pressed")
	}
	r.step()
	if r.st.Fault != controller.FaultEPO || r.st.ContactorClosed || r.st.DutyPermille != controller.DutyNegative {
		t.Fatalf("after one step: fault %v, contactor %v, duty %d", r.st.Fault, r.st.ContactorClosed, r.st.DutyPermille)
	}
}

// TestEPOShortPressIsSeen: a press released before the next step still
// reaches the controller through the latch.
func TestEPOShortPressIsSeen(t *testing.T) {
	r := newRig(t, 9, nil)
	r.plugAndCharge()
	opened := make(chan struct{}, 1)
	r.circ.OnContactor(func(closed bool) {
		if !closed {
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	r.drv.WatchInputs()
	r.sim.SetFault(sim.FaultEPO)
	r.circ.Edge(periphtest.PinEPO)
	select {
	case <-opened:
	case <-time.After(2 * time.Second):
		t.Fatal("the EPO edge did not open the contactor")
	}
	r.sim.SetFault(sim.FaultNone) // released within the step
	r.step()
	if r.st.Fault != controller.FaultEPO {
		t.Fatalf("a short press was missed: fault %v", r.st.Fault)
	}
}

// TestRCMSelfTestFailure: a monitor that does not trip on its test
// keeps the contactor open and reports EVSE_EV_GENERAL_ERR with the
// reason.
func TestRCMSelfTestFailure(t *testing.T) {
	r := newRig(t, 10, nil)
	r.circ.SetRCM(false, true)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	tested := false
	for end := r.now.Add(3 * time.Second); r.now.Before(end); r.step() {
		tested = tested || r.circ.RCMTesting()
		if r.circ.Level(periphtest.PinC1) == gpio.High {
			t.Fatal("contactor closed with a failed RCM test")
		}
	}
	if !tested {
		t.Fatal("the RCM test input was never driven")
	}
	if r.st.Fault != controller.FaultRCMTest || r.st.State.VendorName() != "EVSE_EV_GENERAL_ERR" || r.st.Reason != controller.FaultRCMTest.String() {
		t.Fatalf("fault %v, state %v, reason %q", r.st.Fault, r.st.State.VendorName(), r.st.Reason)
	}
}

// TestRCMTrip: a trip while charging opens at the edge, and the next
// step reports it as EVSE_EV_GENERAL_ERR.
func TestRCMTrip(t *testing.T) {
	r := newRig(t, 11, nil)
	r.plugAndCharge()
	opened := make(chan struct{}, 1)
	r.circ.OnContactor(func(closed bool) {
		if !closed {
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	r.drv.WatchInputs()
	r.circ.SetRCM(true, false)
	r.circ.Edge(periphtest.PinRCMFault)
	select {
	case <-opened:
	case <-time.After(2 * time.Second):
		t.Fatal("the RCM trip did not open the contactor")
	}
	r.step()
	if r.st.Fault != controller.FaultRCMTrip || r.st.State.VendorName() != "EVSE_EV_GENERAL_ERR" || r.st.ContactorClosed {
		t.Fatalf("fault %v, state %v, contactor %v", r.st.Fault, r.st.State.VendorName(), r.st.ContactorClosed)
	}
}
