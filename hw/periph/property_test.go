package periph_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestSafetyPropertiesThroughTheDriver runs random plug-ins, charge
// requests, faults, emergency stops and RCM trips through the
// controller on the periph driver on the fake circuit, and checks the
// safety invariants of iec61851.md §7 on what the pins really do.
func TestSafetyPropertiesThroughTheDriver(t *testing.T) {
	steps := 60_000
	if testing.Short() {
		steps = 5_000
	}
	seed := time.Now().UnixNano()
	for _, mode := range []struct {
		name   string
		caseB  bool
		method int
	}{{"case C", false, 0}, {"case B solenoid", true, 0}, {"case B servo", true, 1}} {
		t.Run(mode.name, func(t *testing.T) {
			seed := seed + int64(mode.method) + map[bool]int64{true: 10}[mode.caseB]
			t.Logf("seed %d", seed)
			rnd := rand.New(rand.NewSource(seed))
			vent := rnd.Intn(2) == 0
			r := newRig(t, seed, func(c *periph.Config, p *controller.Params, s *settings.Settings) {
				p.Ventilation = vent
				if mode.caseB {
					s.ChargerMode = settings.ModeCaseB
				}
				s.LockMethod = mode.method
			})
			// Start with a car asking for charge, so even a short run
			// has sessions; the random events take it from there.
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
			// C2 closed by hand (this controller has no phase switching)
			// and watched on its coil for the whole run — EPO presses and
			// RCM trips among it, and the Close that ends it in whatever
			// state the run left — with C1 taking c1Dropout to release.
			r.drv.Board().Phases.Set(true)
			r.sim.SetContactorDropout(c1Dropout)
			c2 := watchC2(r.circ)
			h := &harness{r: r, rnd: rnd, caseB: mode.caseB, vent: vent, lastCD: r.now.Add(-time.Hour), byFault: map[controller.Fault]int{}}
			for i := 0; i < steps; i++ {
				h.act()
				h.step()
				if bad := h.check(); bad != "" {
					t.Fatalf("step %d (t=%v, seed %d): %s; status %+v", i, r.now.Sub(epoch), seed, bad, r.st)
				}
			}
			loaded := h.endUnderLoad()
			if err := r.drv.Close(); err != nil {
				t.Fatal(err)
			}
			if bad, n := c2.result(); bad != "" || n == 0 {
				t.Fatalf("seed %d: C2 (%d releases, Close under load %v): %s", seed, n, loaded, bad)
			}
			t.Logf("Close under load: %v", loaded)
			t.Logf("%d steps, %d ADC reads: %d closings, %d faults seen, %d EPO presses, %d RCM trips, %d failed RCM tests",
				steps, r.circ.Reads(), h.closings, h.faults, h.epos, h.trips, h.rcmFails)
			t.Logf("steps in each fault: %v", h.byFault)
			if h.closings == 0 {
				t.Fatal("the contactor never closed: the run proves nothing")
			}
		})
	}
}

type harness struct {
	r     *rig
	rnd   *rand.Rand
	caseB bool
	vent  bool

	fault       string // simulator fault in force
	rcmTrip     bool
	rcmBroken   bool
	epoAtStep   bool
	tripAtStep  bool
	ppBad       bool
	unpluggedAt time.Time
	lastCD      time.Time // the car's pilot last read C or D (or D when ventilation is allowed)
	wasClosed   bool

	closings, faults, epos, trips, rcmFails int
	byFault                                 map[controller.Fault]int
}

// act changes the world at random, rarely enough that sessions happen.
func (h *harness) act() {
	r := h.r
	v := r.sim.Vehicle()
	// One draw, disjoint ranges: per 10 ms step, rare enough that whole
	// sessions happen between the events.
	n := h.rnd.Intn(3000)
	in := func(lo, hi int) bool { return n >= lo && n < hi }
	switch {
	case in(0, 3):
		switch {
		case v.Plugged:
			v.Plugged, h.unpluggedAt = false, r.now
		case r.now.Sub(h.unpluggedAt) >= time.Second:
			// Out long enough for the controller to see A: the new
			// plug-in needs a new RCM test.
			v.Plugged = true
			r.circ.ForgetRCMTest()
		}
	case in(3, 9):
		v.RequestCharge = !v.RequestCharge
	case in(9, 10):
		v.Ventilation = !v.Ventilation
	case in(10, 11):
		v.CableRating = []units.Amps{0, 13, 20, 32, 63}[h.rnd.Intn(5)]
	case in(11, 13):
		if h.fault == sim.FaultNone {
			h.fault = sim.Faults[1+h.rnd.Intn(len(sim.Faults)-1)]
			if h.fault == sim.FaultEPO {
				h.epos++
			}
		}
	case in(13, 40):
		h.fault = sim.FaultNone
	case in(40, 41):
		if !h.rcmTrip {
			h.trips++
		}
		h.rcmTrip = true
	case in(41, 70):
		h.rcmTrip = false
	case in(70, 71):
		if !r.circ.RCMTesting() {
			h.rcmBroken = true
		}
	case in(71, 80):
		if !r.circ.RCMTesting() {
			h.rcmBroken = false
		}
	case in(80, 90):
		// Reset: the daemon's in-process restart puts a fresh machine on
		// the same board (Controller.Restart, whose carry-over the
		// controller's own property tests judge). Only a weld outlives an
		// unplug, so only a latched weld needs one here; the fresh machine
		// detects a weld again at once while the feedback still reads
		// closed.
		if r.m.Fault() == controller.FaultWeld && h.fault != sim.FaultWeld {
			r.m = controller.NewMachine(r.drv.Board(), r.p, r.m.Settings())
		}
	}
	r.sim.SetVehicle(v)
	r.sim.SetFault(h.fault)
	r.circ.SetRCM(h.rcmTrip, h.rcmBroken)
	h.epoAtStep = h.fault == sim.FaultEPO
	h.tripAtStep = h.rcmTrip
	ohms := r.sim.Board().Proximity.Ohms()
	h.ppBad = h.caseB && v.Plugged && !(ohms >= 75 && ohms <= 2200)
}

func (h *harness) step() {
	r := h.r
	r.step()
	st := r.sim.State()
	cd := st.PilotLevel == "C" || st.PilotLevel == "D" && h.vent
	if cd {
		h.lastCD = r.now
	}
	closed := r.circ.Level(periphtest.PinC1) == gpio.High
	if closed && !h.wasClosed {
		h.closings++
	}
	h.wasClosed = closed
	if r.st.Fault != controller.FaultNone {
		h.faults++
		h.byFault[r.st.Fault]++
	}
	if h.rcmBroken && r.st.Fault == controller.FaultRCMTest {
		h.rcmFails++
	}
}

// endUnderLoad takes the run's world back to a healthy car asking for
// charge (unplugged for 2 s first, which ends every fault but a weld's
// latch) and steps, checking, until the car draws or 30 s have passed,
// so the run's Close meets C1 under load where it can; it reports
// whether current flows.
func (h *harness) endUnderLoad() bool {
	r := h.r
	h.fault, h.rcmTrip, h.rcmBroken = sim.FaultNone, false, false
	r.sim.SetFault(h.fault)
	r.circ.SetRCM(false, false)
	h.epoAtStep, h.tripAtStep = false, false
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
	h.ppBad = false
	for end := r.now.Add(40 * time.Second); r.now.Before(end) && r.sim.State().EvCurrent == 0; {
		if !r.sim.Vehicle().Plugged && r.now.Sub(end) >= -38*time.Second {
			r.circ.ForgetRCMTest()
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.Ventilation, v.CableRating = true, true, false, 32 })
		}
		if r.m.Fault() == controller.FaultWeld {
			r.m = controller.NewMachine(r.drv.Board(), r.p, r.m.Settings())
		}
		h.step()
		if bad := h.check(); bad != "" {
			r.t.Fatalf("ending under load (t=%v): %s; status %+v", r.now.Sub(epoch), bad, r.st)
		}
	}
	return r.sim.State().EvCurrent > 0
}

// check returns the first invariant the pins break, or "".
func (h *harness) check() string {
	r := h.r
	closed := r.circ.Level(periphtest.PinC1) == gpio.High
	duty := r.circ.Duty()
	pwm := duty > 0 && duty < 1000
	switch {
	case !(duty == 0 || duty == 50 || duty == 1000 || duty >= 100 && duty <= 960):
		return fmt.Sprintf("inv 4: duty %d‰ on the pin", duty)
	case h.epoAtStep && (closed || pwm):
		return fmt.Sprintf("inv 7: EPO pressed, yet after the step contactor %v, duty %d", closed, duty)
	case h.tripAtStep && closed:
		return "RCM tripped, yet the contactor is closed after the step"
	case closed && r.now.Sub(h.lastCD) > 100*time.Millisecond:
		return fmt.Sprintf("inv 1/6: contactor closed %v after the car left C/D", r.now.Sub(h.lastCD))
	case closed && !pwm:
		// PWM withdrawn in C may keep the contactor for the car's
		// response (inv 8); it must not outlast 6 s.
		if r.st.Fault != controller.FaultNone {
			return fmt.Sprintf("inv 7: fault %v with the contactor closed", r.st.Fault)
		}
	case closed && h.caseB && !r.sim.State().Locked:
		return "inv 2: contactor closed without the lock locked"
	case h.ppBad && (pwm || closed):
		return fmt.Sprintf("inv 13: invalid PP (%.0f Ω), yet PWM %v contactor %v", r.sim.Board().Proximity.Ohms(), pwm, closed)
	case r.st.Fault == controller.FaultWeld && (pwm || closed):
		return "inv 12: welded, yet PWM or the coil driven"
	case closed && !r.circ.RCMTestSeen():
		return "contactor closed without the RCM having answered a self-test since the plug-in"
	}
	return ""
}
