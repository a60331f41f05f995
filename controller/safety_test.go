package controller

import (
	"fmt"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// obs is what the property harness observes around one Machine.Step: the
// pilot sample the machine read (before the step), the hardware commands it
// left in force (after the step, as recorded by the board wrappers, not as
// the machine reports them), the simulator's truth and the status.
type obs struct {
	at time.Time

	// inputs, as the machine saw them in this step
	level   Level       // Classify(sample.High) of the sample the step read
	low     units.Volts // sample.Low
	plugged bool        // a vehicle is really connected
	epo     bool        // emergency stop pressed
	hwFault bool        // some simulator fault is injected
	ppValid bool        // PP coding valid (Case B cable)
	caseB   bool        // ChargerMode 1 in force
	vent    bool        // Params.Ventilation
	reset   bool        // a Reset that returned true ran before this step

	// outputs after the step
	duty           int  // last pilot command
	closed         bool // last contactor command
	fb             bool // contactor really closed
	locked         bool // lock feedback
	unlockedLoaded bool // the step commanded an unlock while the contactor was closed or live

	// status after the step
	fault     Fault
	started   bool
	maxAmps   units.Amps // min of every limit invariant 3 names
	limitAmps units.Amps // Status.CurrentLimit
}

// Timings the invariants are judged by (iec61851.md §3, §7).
const (
	invOpenAfterCD  = 100 * time.Millisecond // 6: C/D ended → open
	invStopTimeout  = 6 * time.Second        // 8: PWM withdrawn → open
	invCloseWithin  = 3 * time.Second        // 9: B→C → closed
	invCStable      = 250 * time.Millisecond // 9: C stable before closing
	invDutyInterval = 5 * time.Second        // 11
	invFHold        = 300 * time.Millisecond // 14
	invWakeMin      = 3 * time.Second        // 17: pulse 3–4 s
	invWakeMax      = 4 * time.Second
	invDebounce     = 20 * time.Millisecond // shorter pilot spells are noise
	invDiodeLow     = -10                   // V: a good diode lets the EVSE see −12 V
)

// safety checks invariants 1–14 and 17 of iec61851.md §7 over a sequence
// of observations. It keeps the history the temporal ones need.
type safety struct {
	n    int
	prev obs

	diodeSeen   bool      // −12 V low level seen under PWM since plug-in
	okLevelAt   time.Time // level C (or D with ventilation) since
	notOKAt     time.Time // level not C (nor D with ventilation) since
	leftCDAt    time.Time // level not C/D since (zero: in C/D)
	dNoVentAt   time.Time // level D without ventilation since
	withdrawnAt time.Time // contactor closed with no PWM since
	dutyAt      time.Time // last duty change
	faultAt     time.Time // last fault entry
	weld        bool      // weld sensed
	weldReset   bool      // a reset was accepted since the weld was sensed
	wakes       int       // wake-up pulses this plug-in / resume
	pulseAt     time.Time // wake-up pulse began (zero: none running)
	permitAt    time.Time // everything permitted for closing since
}

// allowedLevel reports whether the pilot level lets the contactor close.
func (o *obs) allowedLevel() bool { return o.level == LevelC || o.level == LevelD && o.vent }

// check records o and returns every invariant it breaks, each prefixed
// with the invariant's number.
func (c *safety) check(o obs) []string {
	var bad []string
	fail := func(inv int, format string, a ...any) {
		bad = append(bad, fmt.Sprintf("invariant %d: ", inv)+fmt.Sprintf(format, a...))
	}
	p := c.prev
	first := c.n == 0
	c.n++
	closing := o.closed && !first && !p.closed // the first look has no history
	adv := CurrentForDuty(o.duty)

	// History the checks below use.
	if !o.plugged {
		c.diodeSeen = false
		c.wakes = 0
	}
	if !first && IsPWM(p.duty) && connected(o.level) && o.low <= invDiodeLow {
		c.diodeSeen = true
	}
	if o.started && (first || !p.started) {
		c.wakes = 0 // a new session is a resume: one more wake-up is allowed
	}
	// A spell shorter than the debounce time is noise, not a level.
	if o.allowedLevel() {
		if c.okLevelAt.IsZero() {
			c.okLevelAt = o.at
		}
		c.notOKAt = time.Time{}
	} else {
		if c.notOKAt.IsZero() {
			c.notOKAt = o.at
		}
		if o.at.Sub(c.notOKAt) >= invDebounce {
			c.okLevelAt = time.Time{}
		}
	}
	if o.level == LevelC || o.level == LevelD {
		c.leftCDAt = time.Time{}
	} else if c.leftCDAt.IsZero() {
		c.leftCDAt = o.at
	}
	if o.level == LevelD && !o.vent {
		if c.dNoVentAt.IsZero() {
			c.dNoVentAt = o.at
		}
	} else {
		c.dNoVentAt = time.Time{}
	}

	// 1: closing only when everything allows it; staying closed only
	// while nothing forbids it.
	if closing {
		switch {
		case !o.allowedLevel():
			fail(1, "contactor closed at pilot level %v (ventilation %v)", o.level, o.vent)
		case !o.started:
			fail(1, "contactor closed without a started session")
		case o.fault != FaultNone || o.epo:
			fail(1, "contactor closed with fault %q / EPO %v", o.fault, o.epo)
		case !IsPWM(o.duty):
			fail(1, "contactor closed without PWM (duty %d‰)", o.duty)
		case !c.diodeSeen:
			fail(1, "contactor closed before the diode check passed")
		case o.caseB && !o.locked:
			fail(1, "Case B: contactor closed with the cable unlocked")
		}
	}
	if o.closed && (o.fault != FaultNone || o.epo) {
		fail(1, "contactor closed during fault %q / EPO %v", o.fault, o.epo)
	}
	if o.closed && o.caseB && !o.locked {
		fail(1, "Case B: contactor closed while the lock reads unlocked")
	}

	// 2: never unlock under load.
	if o.unlockedLoaded {
		fail(2, "cable unlock commanded while the contactor was closed or live")
	}

	// 3 and 4 and 5: what the duty advertises.
	if IsPWM(o.duty) && adv > o.maxAmps+1e-9 {
		fail(3, "duty %d‰ advertises %.2f A, more than the limit %.2f A", o.duty, float64(adv), float64(o.maxAmps))
	}
	if !ValidDuty(o.duty) {
		fail(4, "duty %d‰ is not 0, 5, 100 %% or 10…96 %%", o.duty)
	}
	if adv > 0 && adv < 6 || o.limitAmps > 0 && o.limitAmps < 6 {
		fail(5, "advertised %.2f A / limit %.2f A is between 0 and 6 A", float64(adv), float64(o.limitAmps))
	}

	// 6: C/D ended → open within 100 ms.
	if o.closed && !c.leftCDAt.IsZero() && o.at.Sub(c.leftCDAt) > invOpenAfterCD {
		fail(6, "contactor still closed %v after the pilot left C/D (level %v)", o.at.Sub(c.leftCDAt), o.level)
	}

	// 7: EPO, weld or any fault → open and no PWM at once.
	if (o.epo || o.fault != FaultNone) && (o.closed || IsPWM(o.duty)) {
		fail(7, "fault %q / EPO %v but contactor %v, duty %d‰", o.fault, o.epo, o.closed, o.duty)
	}

	// 8: PWM withdrawn while closed → open by 6 s.
	if o.closed && !IsPWM(o.duty) {
		if c.withdrawnAt.IsZero() {
			c.withdrawnAt = o.at
		}
		if o.at.Sub(c.withdrawnAt) > invStopTimeout {
			fail(8, "contactor closed %v after the PWM was withdrawn", o.at.Sub(c.withdrawnAt))
		}
	} else {
		c.withdrawnAt = time.Time{}
	}

	// 9: everything permitted → closed within 3 s, and only after C was
	// stable.
	if closing && (c.okLevelAt.IsZero() || o.at.Sub(c.okLevelAt) < invCStable) {
		fail(9, "contactor closed after the pilot was in C for only %v", o.at.Sub(c.okLevelAt))
	}
	permitted := o.allowedLevel() && o.started && o.fault == FaultNone && !o.epo && !o.hwFault &&
		IsPWM(o.duty) && c.diodeSeen && (!o.caseB || o.locked && o.ppValid)
	if permitted {
		if c.permitAt.IsZero() {
			c.permitAt = o.at
		}
		if !o.closed && o.at.Sub(c.permitAt) > invCloseWithin {
			fail(9, "everything permitted for %v but the contactor is open", o.at.Sub(c.permitAt))
		}
	} else {
		c.permitAt = time.Time{}
	}

	// 10: D without ventilation → never closed.
	if o.closed && !c.dNoVentAt.IsZero() && (closing || o.at.Sub(c.dNoVentAt) > invOpenAfterCD) {
		fail(10, "contactor closed in state D without ventilation for %v", o.at.Sub(c.dNoVentAt))
	}

	// 11: increases while charging at least 5 s apart.
	if !first && o.duty != p.duty {
		if p.closed && CurrentForDuty(o.duty) > CurrentForDuty(p.duty) && o.at.Sub(c.dutyAt) < invDutyInterval {
			fail(11, "duty raised %d‰ → %d‰ while charging only %v after the last change", p.duty, o.duty, o.at.Sub(c.dutyAt))
		}
		c.dutyAt = o.at
	}

	// 12: weld latched until a reset; no PWM, no closing meanwhile.
	if o.reset && c.weld {
		c.weldReset = true
	}
	if c.weld && o.fault != FaultWeld && !c.weldReset {
		fail(12, "weld latch lost without a reset (fault now %q)", o.fault)
	}
	c.weld = o.fault == FaultWeld
	if !c.weld {
		c.weldReset = false
	} else if o.closed || IsPWM(o.duty) {
		fail(12, "weld latched but contactor %v, duty %d‰", o.closed, o.duty)
	}

	// 13: Case B PP invalid → no PWM, never closed.
	if o.caseB && o.plugged && !o.ppValid && (IsPWM(o.duty) || o.closed) {
		fail(13, "PP invalid but duty %d‰, contactor %v", o.duty, o.closed)
	}

	// 14: F held ≥ 300 ms after every fault entry.
	if o.fault != FaultNone && (first || o.fault != p.fault) {
		c.faultAt = o.at
	}
	if !c.faultAt.IsZero() && o.at.Sub(c.faultAt) < invFHold && o.duty != DutyNegative {
		fail(14, "pilot left F %v after the fault (duty %d‰)", o.at.Sub(c.faultAt), o.duty)
	}

	// 17: wake-up at most once per plug-in / resume, 3–4 s, never under load.
	pulse := o.duty == DutyNegative && o.fault == FaultNone
	prevPulse := !first && p.duty == DutyNegative && p.fault == FaultNone
	if pulse && !prevPulse {
		c.wakes++
		c.pulseAt = o.at
		if c.wakes > 1 {
			fail(17, "wake-up pulse number %d in one plug-in / resume", c.wakes)
		}
		if p.closed || p.fb {
			fail(17, "wake-up pulse started with the contactor closed")
		}
	}
	if pulse && (o.closed || o.fb) {
		fail(17, "contactor closed during the wake-up pulse")
	}
	if !pulse && prevPulse && o.fault == FaultNone {
		if d := o.at.Sub(c.pulseAt); d < invWakeMin || d > invWakeMax {
			fail(17, "wake-up pulse lasted %v, want 3–4 s", d)
		}
	}

	c.prev = o
	return bad
}

// probe builds observations from a machine on the simulator whose board
// is wrapped by the recording devices.
type probe struct {
	sim   *sim.Sim
	raw   hw.Board // the simulator's own devices
	pilot *recPilot
	cont  *recContactor
	lock  *recLock
	m     *Machine
}

// wrap returns the recording board around the simulator's devices.
func (pr *probe) wrap(s *sim.Sim) hw.Board {
	pr.sim, pr.raw = s, s.Board()
	pr.pilot = &recPilot{Pilot: pr.raw.Pilot, duty: DutySteady}
	pr.cont = &recContactor{Contactor: pr.raw.Contactor}
	pr.lock = &recLock{Lock: pr.raw.Lock, contactor: pr.cont}
	return hw.Board{Pilot: pr.pilot, Proximity: pr.raw.Proximity, Contactor: pr.cont, Lock: pr.lock, EPO: pr.raw.EPO}
}

// before records the inputs the next Step will read.
func (pr *probe) before(now time.Time, reset bool) obs {
	sample := pr.pilot.Sample()
	pr.lock.loaded = false
	return obs{
		at:      now,
		level:   Classify(sample.High),
		low:     sample.Low,
		plugged: pr.sim.Vehicle().Plugged,
		epo:     pr.raw.EPO.Pressed(),
		hwFault: pr.sim.State().Fault != sim.FaultNone,
		ppValid: ppRating(pr.raw.Proximity.Ohms()) > 0,
		caseB:   pr.m.Settings().ChargerMode == settings.ModeCaseB,
		vent:    pr.m.p.Ventilation,
		reset:   reset,
	}
}

// after records the outputs and the status of the Step.
func (pr *probe) after(o *obs, st *Status) {
	o.duty, o.closed, o.fb = pr.pilot.duty, pr.cont.cmd, pr.raw.Contactor.Closed()
	o.locked, o.unlockedLoaded = pr.raw.Lock.Locked(), pr.lock.loaded
	o.fault, o.started, o.limitAmps = st.Fault, st.ChargerStarted, st.CurrentLimit
	// The smallest limit invariant 3 names.
	s := pr.m.Settings()
	a := units.Amps(s.ChargeCurrent)
	if st.ChargeBoosted {
		a = units.Amps(s.ChargeCurrentBoost)
	}
	a = min(a, pr.m.p.HardwareMax)
	if cable := ppRating(pr.raw.Proximity.Ohms()); o.caseB && cable > 0 {
		a = min(a, cable)
	}
	if pr.m.lim.active {
		a = min(a, pr.m.lim.out)
	}
	o.maxAmps = a
}
