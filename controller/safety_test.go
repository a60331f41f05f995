package controller

import (
	"fmt"
	"math"
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
	level    Level       // oracleLevel(sample.High) of the sample the step read
	low      units.Volts // sample.Low
	plugged  bool        // a vehicle is really connected
	epo      bool        // emergency stop pressed
	hwFault  bool        // some simulator fault is injected
	ppValid  bool        // PP coding valid (Case B cable)
	caseB    bool        // ChargerMode 1 in force
	vent     bool        // Params.Ventilation
	reset    bool        // a restart swapped machines in this step
	startCmd bool        // a Start was accepted before this step
	ppMin    units.Amps  // lowest valid PP rating (oraclePP) since the vehicle was plugged in; 0 none

	// outputs after the step
	duty           int  // last pilot command
	closed         bool // last contactor command
	fb             bool // contactor really closed
	locked         bool // lock feedback
	unlockedLoaded bool // the step commanded an unlock while the contactor was closed or live

	// phase switching (C2)
	c2      bool       // C2 as commanded
	evAmps  units.Amps // the simulated car's current
	phaseF  bool       // the machine reports F as the switch's (not a wake-up)
	latched bool       // the machine reports a phase mismatch latched
	maxSw   int        // Params.Phases.MaxSwitches

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
	faultsSeen  uint32    // faults reported since the last fault-free step (bit per Fault)
	unplugFault Fault     // a fault that only an unplug (PP: or a valid PP) may clear, while it must stay
	newPlug     bool      // an unplug was seen since the last session start: auto start may start one
	wakes       int       // wake-up pulses this plug-in / resume
	pulseAt     time.Time // wake-up pulse began (zero: none running)
	permitAt    time.Time // everything permitted for closing since

	// 21–24: phase switching.
	fStart    time.Time     // F driven since (zero: not now)
	maxF      time.Duration // longest F run since C1 was last commanded open
	switched  bool          // C2 moved with a car connected since C1 last opened
	switches  int           // C2 switch sequences this plug-in
	countedF  time.Time     // the F run of the last counted switch
	energised bool          // C1 closed in this plug-in: switches count from then
	latchedPh bool          // a mismatch was latched this plug-in
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
	adv := oracleAmps(o.duty)

	// History the checks below use.
	if !o.plugged {
		c.diodeSeen = false
		c.wakes = 0
	}
	if !first && oraclePWM(p.duty) && oracleConnected(o.level) && o.low <= invDiodeLow {
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
		case !oraclePWM(o.duty):
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
	if oraclePWM(o.duty) && adv > o.maxAmps+1e-9 {
		fail(3, "duty %d‰ advertises %.2f A, more than the limit %.2f A", o.duty, float64(adv), float64(o.maxAmps))
	}
	if !oracleValidDuty(o.duty) {
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
	if (o.epo || o.fault != FaultNone) && (o.closed || oraclePWM(o.duty)) {
		fail(7, "fault %q / EPO %v but contactor %v, duty %d‰", o.fault, o.epo, o.closed, o.duty)
	}

	// 8: PWM withdrawn while closed → open by 6 s.
	if o.closed && !oraclePWM(o.duty) {
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
		oraclePWM(o.duty) && c.diodeSeen && (!o.caseB || o.locked && o.ppValid)
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
		if p.closed && oracleAmps(o.duty) > oracleAmps(p.duty) && o.at.Sub(c.dutyAt) < invDutyInterval {
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
	} else if o.closed || oraclePWM(o.duty) {
		fail(12, "weld latched but contactor %v, duty %d‰", o.closed, o.duty)
	}

	// 13: Case B PP invalid → no PWM, never closed.
	if o.caseB && o.plugged && !o.ppValid && (oraclePWM(o.duty) || o.closed) {
		fail(13, "PP invalid but duty %d‰, contactor %v", o.duty, o.closed)
	}

	// 14: F held ≥ 300 ms after every fault entry. Faults stack: one that
	// shows again when the EPO above it is released is not a new entry.
	if o.epo && (first || !p.epo) && c.faultsSeen&(1<<FaultEPO) == 0 {
		c.faultsSeen |= 1 << FaultEPO // the EPO enters at once, even under another fault
		c.faultAt = o.at
	}
	if o.fault == FaultNone && !o.epo {
		c.faultsSeen = 0
	} else if o.fault != FaultNone && c.faultsSeen&(1<<o.fault) == 0 {
		c.faultsSeen |= 1 << o.fault
		c.faultAt = o.at
	}
	if !c.faultAt.IsZero() && o.at.Sub(c.faultAt) < invFHold && o.duty != DutyNegative {
		fail(14, "pilot left F %v after the fault (duty %d‰)", o.at.Sub(c.faultAt), o.duty)
	}

	// 18: the PP rating read since the plug-in bounds the offered current
	// until the unplug (Case B), whatever the PP or the settings do later.
	if o.caseB && o.ppMin > 0 && oraclePWM(o.duty) && adv > o.ppMin+1e-9 {
		fail(18, "duty %d‰ advertises %.2f A, more than the %.0f A cable read at plug-in", o.duty, float64(adv), float64(o.ppMin))
	}

	// 19: a fault whose policy is clear-on-unplug (diode, general, lock;
	// PP unless the PP reads valid again) stays until an unplug, whatever
	// else happens (an EPO pressed and released, a Reset). Any A sample
	// counts as an unplug: the oracle is lenient where the machine cannot
	// tell an unplug from a long spike.
	unplugSeen := !o.plugged || o.level == LevelA
	if unplugSeen || c.unplugFault == FaultPP && o.ppValid {
		c.unplugFault = FaultNone
	}
	switch o.fault {
	case FaultDiode, FaultGeneral, FaultLock:
		c.unplugFault = o.fault
	case FaultPP:
		if !o.ppValid {
			c.unplugFault = o.fault
		}
	}
	if c.unplugFault != FaultNone && o.fault == FaultNone {
		fail(19, "fault %q cleared without an unplug", c.unplugFault)
	}

	// 20: a session starts only by a Start or at a new plug-in (auto
	// start): a stop, an EPO and a Reset leave a stopped session stopped.
	// A start the machine makes while the pilot reads A, before its
	// debounce has seen the unplug, belongs to the plug-in before: it
	// spends that plug-in's token, and the unplug still gives the next
	// plug-in its own (so the token is granted after the start is judged).
	if o.started && (first || !p.started) {
		if !first && !o.startCmd && !c.newPlug {
			fail(20, "session started with no Start and no new plug-in")
		}
		c.newPlug = false // a plug-in starts one session at most
	}
	if first || unplugSeen {
		c.newPlug = true
	}

	// 17: wake-up at most once per plug-in / resume, 3–4 s, never under load.
	pulse := o.duty == DutyNegative && o.fault == FaultNone && !o.phaseF
	prevPulse := !first && p.duty == DutyNegative && p.fault == FaultNone && !p.phaseF
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

	c.checkPhases(o, first, fail)
	c.prev = o
	return bad
}

// checkPhases checks invariants 21–24 (issue 12): C2 never changes while
// C1 is closed or current flows; F is held ≥ 5 s between opening C1 and
// a re-close after a switch; never more switches per plug-in than
// configured; a latched mismatch never re-energises 3p in that plug-in.
func (c *safety) checkPhases(o obs, first bool, fail func(int, string, ...any)) {
	p := c.prev
	if o.duty == DutyNegative {
		if c.fStart.IsZero() {
			c.fStart = o.at
		}
		c.maxF = max(c.maxF, o.at.Sub(c.fStart))
	} else {
		c.fStart = time.Time{}
	}
	if !o.plugged || o.level == LevelA {
		// An A sample may be the end of the plug-in the machine goes by
		// (a glitch long enough looks the same): lenient there, as for PP.
		c.switched, c.switches, c.latchedPh, c.countedF, c.energised = false, 0, false, time.Time{}, false
	}
	if first {
		return
	}
	if !o.closed && p.closed {
		c.maxF = 0
	}
	if o.c2 != p.c2 {
		if p.closed || o.closed || p.fb || o.fb || o.evAmps > 0 || p.evAmps > 0 {
			fail(21, "C2 moved with C1 closed (cmd %v/%v, fb %v/%v) or %v A flowing", p.closed, o.closed, p.fb, o.fb, o.evAmps)
		}
		if o.plugged {
			c.switched = true
			if c.energised && (c.fStart.IsZero() || !c.fStart.Equal(c.countedF)) {
				c.switches++
				c.countedF = c.fStart
				if c.switches > o.maxSw {
					fail(23, "switch number %d in one plug-in, max %d", c.switches, o.maxSw)
				}
			}
		}
		if o.c2 && (c.latchedPh || p.latched) {
			fail(24, "3p energised again after a latched mismatch in this plug-in")
		}
	}
	// A latch counts for this plug-in from its rising edge: one the
	// machine still reports after an unplug the checker saw first belongs
	// to the plug-in before (while the machine reports it, p.latched above
	// still forbids 3p).
	if o.latched && !p.latched && o.plugged {
		c.latchedPh = true
	}
	if o.closed && !p.closed {
		c.energised = o.plugged
		if c.switched && c.maxF < 5*time.Second {
			fail(22, "C1 re-closed after a switch with only %v of F since it opened", c.maxF)
		}
		c.switched = false
	}
}

// probe builds observations from a machine on the simulator whose board
// is wrapped by the recording devices.
type probe struct {
	sim   *sim.Sim
	raw   hw.Board // the simulator's own devices
	pilot *recPilot
	cont  *recContactor
	lock  *recLock
	c2    *recContactor // the phase contactor, when the simulator has one
	m     *Machine

	// Invariant 21 inside one call (a halt moves C1 and C2 in one
	// call, between two of the checker's observations): every command
	// that changed C2, and when C1 was last commanded open.
	c2Moves  []c2Move
	c1OpenAt time.Time

	// What the oracle tracks itself, from the events the harness applies
	// (note*), to bound the limiter without reading its output.
	ppMin units.Amps // see obs.ppMin
	lease struct {
		w  units.Watts
		at time.Time
		ok bool
	}
	meter2At  time.Time // last control meter reading handed to the machine
	meter2OK  bool      // … and still usable (no settings change or restart dropped it)
	ph3       bool      // Charge3Phase when the contactor last closed
	c2Was     bool      // C2 as commanded before the step
	wasClosed bool
}

// noteLease records a supervisor setpoint the machine accepted.
func (pr *probe) noteLease(w units.Watts, at time.Time) {
	pr.lease.w, pr.lease.at, pr.lease.ok = w, at, true
}

// noteMeter2 records a control meter reading handed to the machine.
func (pr *probe) noteMeter2(at time.Time) { pr.meter2At, pr.meter2OK = at, true }

// noteSettings forgets the limiter inputs a settings change drops: the
// lease when the supervisor is no longer configured, the meter reading
// when meter 2 is no longer a Modbus meter.
func (pr *probe) noteSettings(s settings.Settings) {
	if s.Meter2Type != settings.MeterRemoteSuperv {
		pr.lease.ok = false
	}
	if !settings.IsModbusMeter(s.Meter2Type) {
		pr.meter2OK = false
	}
}

// noteRestart forgets every limiter input: the fresh machine has none.
func (pr *probe) noteRestart() { pr.lease.ok, pr.meter2OK = false, false }

// limiterBound is the most the limiter may let through per phase, from
// the reference's rules and the inputs the harness gave (§6, invariant 15):
// a supervisor lease allows floor(P / (230 V × phases)) until it expires,
// then the fallback applies, as it does for a control meter that is
// missing or stale. ok is false where the oracle sets no bound (a fresh
// control meter: the limiter's own property tests judge that).
func (pr *probe) limiterBound(now time.Time, s settings.Settings, phases int) (a units.Amps, ok bool) {
	lp := pr.m.p.Limiter
	fallback := float64(settings.MinCurrent)
	switch lp.Fallback {
	case FallbackPause:
		fallback = 0
	case FallbackFixed:
		fallback = float64(lp.FallbackCurrent)
	}
	switch {
	case s.Meter2Type == settings.MeterRemoteSuperv:
		if pr.lease.ok && now.Before(pr.lease.at.Add(lp.LeaseTTL)) {
			per := math.Floor(float64(pr.lease.w)/(230*float64(phases)) + 1e-9)
			if per < settings.MinCurrent {
				per = 0
			}
			return units.Amps(per), true
		}
		return units.Amps(fallback), true
	case s.ControlStrategy == 1:
		if !settings.IsModbusMeter(s.Meter2Type) || !pr.meter2OK || now.Sub(pr.meter2At) > lp.MeterStale {
			return units.Amps(fallback), true
		}
	}
	return 0, false
}

// wrap returns the recording board around the simulator's devices.
func (pr *probe) wrap(s *sim.Sim) hw.Board {
	pr.sim, pr.raw = s, s.Board()
	pr.pilot = &recPilot{Pilot: pr.raw.Pilot, duty: DutySteady}
	pr.cont = &recContactor{Contactor: pr.raw.Contactor}
	pr.lock = &recLock{Lock: pr.raw.Lock, contactor: pr.cont}
	b := hw.Board{Pilot: pr.pilot, Proximity: pr.raw.Proximity, Contactor: pr.cont, Lock: pr.lock, EPO: pr.raw.EPO, Clock: pr.raw.Clock}
	if pr.raw.Phases != nil {
		pr.c2 = &recContactor{Contactor: pr.raw.Phases}
		b.Phases = pr.c2
		pr.cont.onSet = func(closed bool) {
			if !closed {
				pr.c1OpenAt = pr.raw.Clock.Now() // the bound counts from the latest open command
			}
		}
		pr.c2.onSet = func(closed bool) {
			if closed != pr.c2.cmd {
				pr.c2Moves = append(pr.c2Moves, c2Move{at: pr.raw.Clock.Now(), c1cmd: pr.cont.cmd, c1fb: pr.raw.Contactor.Closed(), c1OpenAt: pr.c1OpenAt})
			}
		}
	}
	return b
}

// c2Move is a command that changed C2, with C1's command and feedback at
// that instant (on the board's clock) and when C1 was last commanded open.
type c2Move struct {
	at, c1OpenAt time.Time
	c1cmd, c1fb  bool
}

// bad says how the move broke invariant 21: C2 moved with C1 commanded
// closed, or while C1's feedback still read closed before the halt's
// bound (hw.C1ReleaseTime; a welded C1 gets C2 released after it).
func (mv c2Move) bad() string {
	switch {
	case mv.c1cmd:
		return "C2 moved with C1 commanded closed"
	case mv.c1fb && mv.at.Sub(mv.c1OpenAt) < hw.C1ReleaseTime:
		return fmt.Sprintf("C2 moved %v after C1 was commanded open while its feedback still read closed", mv.at.Sub(mv.c1OpenAt))
	}
	return ""
}

// before records the inputs the next Step will read.
func (pr *probe) before(now time.Time, reset bool) obs {
	sample := pr.pilot.Sample()
	pr.lock.loaded = false
	plugged := pr.sim.Vehicle().Plugged
	level := oracleLevel(sample.High)
	pp := oraclePP(pr.raw.Proximity.Ohms())
	switch {
	case !plugged || level == LevelA:
		// An A sample may be the unplug the machine goes by (a spike long
		// enough looks the same): the oracle is lenient there.
		pr.ppMin = 0
	case pp > 0 && (pr.ppMin == 0 || pp < pr.ppMin):
		pr.ppMin = pp
	}
	return obs{
		at:      now,
		level:   level,
		low:     sample.Low,
		plugged: plugged,
		epo:     pr.raw.EPO.Pressed(),
		hwFault: pr.sim.State().Fault != sim.FaultNone,
		ppValid: pp > 0,
		ppMin:   pr.ppMin,
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
	if pr.c2 != nil {
		o.c2 = pr.c2.cmd
	}
	o.evAmps = units.Amps(pr.sim.State().EvCurrent)
	o.phaseF = st.PhaseSwitch == PhaseFHold || st.PhaseSwitch == PhaseSwitching || st.PhaseSwitch == PhaseStopping
	o.latched, o.maxSw = st.PhaseLatched, pr.m.p.Phases.MaxSwitches
	// The smallest limit invariant 3 names.
	s := pr.m.Settings()
	a := units.Amps(s.ChargeCurrent)
	if st.ChargeBoosted {
		a = units.Amps(s.ChargeCurrentBoost)
	}
	a = min(a, pr.m.p.HardwareMax)
	if cable := oraclePP(pr.raw.Proximity.Ohms()); o.caseB && cable > 0 {
		a = min(a, cable)
	}
	// The duty was chosen before this step switched the contactor, for
	// the phases in use then: those latched when it closed, or the
	// configured ones while open.
	closedBefore := pr.wasClosed
	if o.closed && !pr.wasClosed {
		pr.ph3 = s.Charge3Phase // the phases in use are fixed when it closes
	}
	pr.wasClosed = o.closed
	phases := 1
	if closedBefore && pr.ph3 || !closedBefore && s.Charge3Phase {
		phases = 3
	}
	if pr.c2 != nil {
		// With C2 the supply is what C2 connected when the duty was
		// chosen (C2 moves only with C1 open, so before this step).
		phases = 1
		if pr.c2Was {
			phases = 3
		}
		pr.c2Was = pr.c2.cmd
	}
	if lim, ok := pr.limiterBound(o.at, s, phases); ok {
		a = min(a, lim)
	}
	o.maxAmps = a
}
