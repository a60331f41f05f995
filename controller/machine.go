package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Machine is the IEC 61851-1 Mode 3 state machine. It is not safe for
// concurrent use: the Controller owns it from one goroutine, tests call it
// directly. All time comes in through the now arguments.
type Machine struct {
	board hw.Board
	p     Params
	set   settings.Settings

	cp      debouncer
	inF     bool // driving −12 V: the pilot shows nothing of the vehicle
	started bool // Step has run once

	// outputs as commanded
	duty          int
	dutyChangedAt time.Time
	contactor     bool
	contactorAt   time.Time
	lockCmd       bool
	lockAt        time.Time
	lockTries     int
	lockRetryAt   time.Time

	// fault handling: faults stack (an EPO or a weld on top of a fault
	// that only an unplug clears leaves that fault in place); fault is
	// the one reported, the most severe of them.
	fault      Fault
	faults     faultSet
	faultAt    time.Time // the latest fault entry: F is held FHold from it
	relayTries int
	diodeBadAt time.Time // first sample of a bad diode level; zero when fine
	restarting bool      // a Restart waits for the contactor: no PWM offered
	rcm        rcmState  // residual-current monitor (rcm.go)

	// per plug-in / session
	plugged      bool
	session      bool // ChargerStarted
	boost        bool
	diodeOK      bool
	withdrawnAt  time.Time // PWM withdrawn while the contactor was closed
	b2Since      time.Time
	wakeDone     bool
	wakeUntil    time.Time
	phases       int // phases in use, latched when the contactor closes
	sessionStart time.Time
	sessionEnd   time.Time
	energy       units.WattSeconds
	meterBase    units.WattHours // meter 1 import at session start
	meterBaseOK  bool

	lim       limiter
	mode      Mode              // charging mode (mode.go); survives Restart
	ph        phaseState        // C2, 1p/3p switching (phase.go)
	ext       external          // an outside party's cap and availability (external.go)
	holdUntil time.Time         // restart hold-off: pilot steady until then
	lifetime  units.WattSeconds // energy delivered since the process started
	meter1    hw.MeterReading
	meter1OK  bool
	cable     units.Amps // PP rating, Case B; 0 unknown
	ppCap     units.Amps // lowest valid PP rating read this plug-in; 0 none yet
	ppSinceA  units.Amps // lowest valid PP rating read since the pilot last read A
	target    units.Amps // current the EVSE wants to advertise
	limitSrc  LimitSource
	reason    string
	lastStep  time.Time
	curNow    units.Amps // actual current (measured or estimated)
	powerNow  units.Watts
	fromMeter bool
	halted    bool // Halt ran: the outputs are safe and nothing steps any more
}

// NewMachine returns a machine for the board with the given parameters and
// settings. It drives the pilot steady and the contactor open at once.
func NewMachine(b hw.Board, p Params, s settings.Settings) *Machine {
	m := newMachine(b, p, s)
	b.Halt()
	return m
}

func newMachine(b hw.Board, p Params, s settings.Settings) *Machine {
	m := &Machine{board: b, p: p, set: s, duty: DutySteady}
	m.lim.p = p.Limiter
	return m
}

// haltKeepingC2 opens C1 and steadies the pilot but leaves C2 where it
// is: a Restart must never move C2, which may be switched only with C1
// confirmed open and no current (the fresh machine takes C2's state over).
func haltKeepingC2(b hw.Board) {
	b.Contactor.Halt()
	b.Pilot.Halt()
}

// Settings returns the settings in force.
func (m *Machine) Settings() settings.Settings { return m.set }

// Halt puts the outputs in the safe state at once — contactor open, pilot
// steady — and ends the session, so the status says what the hardware
// does. Used on shutdown.
func (m *Machine) Halt(now time.Time) {
	m.setContactor(false, now)
	m.setDuty(DutySteady, now)
	m.endSession(now)
	m.target, m.reason = 0, "stopped: controller halted"
	m.curNow, m.powerNow = 0, 0 // nothing flows through an open contactor
	m.halted = true
	m.board.Halt()
}

// Fault returns the active fault.
func (m *Machine) Fault() Fault { return m.fault }

// Step reads the hardware, advances the state machine to now and drives
// the outputs. It does not allocate.
func (m *Machine) Step(now time.Time) {
	var dt time.Duration
	if m.started {
		dt = now.Sub(m.lastStep)
	}
	m.started = true
	m.lastStep = now

	s := m.board.Pilot.Sample()
	epo := m.board.EPO.Pressed()
	fb := m.board.Contactor.Closed()
	raw := Classify(s.High)
	was := m.cp.level
	if !m.inF {
		m.cp.update(raw, now, m.p.Debounce)
	}
	level := m.cp.level

	// The cable's rating is followed in every state, faults included (a
	// shorted pilot hides the car, not its cable), so the lowest rating of
	// the plug-in bounds the current until the pilot shows the unplug.
	// The debounced unplug comes a few samples after the pilot first read
	// A; what was read since that sample belongs to the next plug-in.
	if raw == LevelA {
		m.ppSinceA = 0
	} else if a := ppRating(m.board.Proximity.Ohms()); a > 0 && (m.ppSinceA == 0 || a < m.ppSinceA) {
		m.ppSinceA = a
	}
	switch {
	case level == LevelA && (was != LevelA || raw == LevelA):
		m.ppCap = m.ppSinceA // unplugged
	case raw != LevelA:
		// In Case C too: a car hidden behind a shorted pilot may be
		// there when the mode changes to B (nothing refuses it then).
		m.readPP()
	}
	m.detectFaults(now, s, level, raw, epo, fb)
	if m.fault != FaultNone {
		m.runFault(now, level, epo, fb)
	} else {
		m.runNormal(now, level, fb)
	}

	m.account(now, dt, fb)
}

// detectFaults enters a fault when a new one appears. A weld and the EPO
// stack on whatever is active; the others are looked for only when no
// fault is.
func (m *Machine) detectFaults(now time.Time, s hw.PilotSample, level, raw Level, epo, fb bool) {
	if !m.faults.has(FaultWeld) && !m.contactor && fb && now.Sub(m.contactorAt) >= m.p.SwitchGrace {
		m.enterFault(FaultWeld, now)
	}
	// The EPO stacks on any fault, a weld too, so its release always
	// leaves the session stopped.
	if epo && !m.faults.has(FaultEPO) {
		m.enterFault(FaultEPO, now)
	}
	if m.faults != 0 {
		return
	}
	if m.rcmFault(now, level) {
		return
	}
	switch {
	case m.contactor && !fb && now.Sub(m.contactorAt) >= m.p.SwitchGrace:
		m.relayTries++
		m.enterFault(FaultRelayOpen, now)
	case level == LevelE:
		m.enterFault(FaultCPShort, now)
	case level == LevelInvalid || (level == LevelF && !m.inF):
		m.enterFault(FaultGeneral, now)
	case m.set.ChargerMode == settings.ModeCaseB && connected(level) && raw != LevelA && !m.ppValid():
		// Not while the raw pilot already reads A: at unplug PP opens
		// before the debounced level gets there.
		m.enterFault(FaultPP, now)
	case m.contactor && m.set.ChargerMode == settings.ModeCaseB && !m.board.Lock.Locked():
		m.enterFault(FaultLock, now) // lock lost under load
	case m.diodeFault(now, s, level):
		m.enterFault(FaultDiode, now)
	}
}

// diodeFault watches the PWM low level: −12 V proves the diode (once per
// session), anything above −10 V for the debounce time is a fault.
func (m *Machine) diodeFault(now time.Time, s hw.PilotSample, level Level) bool {
	if !IsPWM(m.duty) || !connected(level) || m.inF || now.Sub(m.dutyChangedAt) < m.p.Debounce {
		m.diodeBadAt = time.Time{}
		return false
	}
	if s.Low <= diodeLow {
		m.diodeOK = true
		m.diodeBadAt = time.Time{}
		return false
	}
	if m.diodeBadAt.IsZero() {
		m.diodeBadAt = now
	}
	return now.Sub(m.diodeBadAt) >= m.p.Debounce
}

func (m *Machine) enterFault(f Fault, now time.Time) {
	m.faults = m.faults.with(f)
	m.fault, m.faultAt = m.faults.top(), now
	m.setContactor(false, now)
	m.setDuty(DutyNegative, now)
	m.wakeUntil = time.Time{}
	if m.ph.step == PhaseFHold {
		// The fault's F is no re-initialisation: the switch waits for
		// the fault to clear and drives its own F again.
		m.ph.step = PhaseStopping
	}
}

// runFault keeps the outputs safe, holds F for FHold, then drives steady
// +12 V so the vehicle can be seen again, and clears each active fault by
// its own policy: releasing the EPO clears the EPO only.
func (m *Machine) runFault(now time.Time, level Level, epo, fb bool) {
	m.setContactor(false, now)
	m.target, m.reason = 0, m.fault.String()
	if now.Sub(m.faultAt) < m.p.FHold {
		m.setDuty(DutyNegative, now)
		return
	}
	m.setDuty(DutySteady, now)
	if !fb && !m.faults.has(FaultWeld) && m.set.ChargerMode == settings.ModeCaseB {
		m.setLock(false, now) // let the user take the cable
	}
	// Judge the vehicle only once the pilot has settled after F.
	if m.inF || now.Sub(m.cp.candSince) < m.p.Debounce && m.cp.cand != LevelNone {
		return
	}
	if now.Sub(m.faultAt) < m.p.FHold+2*m.p.Debounce {
		return
	}
	for f := FaultEPO; int(f) < len(faultText); f++ {
		if m.faults.has(f) && m.clears(f, now, level, epo) {
			m.faults = m.faults.without(f)
			if f == FaultEPO {
				m.endSession(now) // the README: stopped, must be started again
			}
		}
	}
	m.fault = m.faults.top()
	if m.fault == FaultNone {
		m.diodeBadAt = time.Time{}
	}
	if level == LevelA && m.plugged {
		m.unplug(now)
	}
}

// clears reports whether fault f's recovery policy (state.go) lets it
// clear now.
func (m *Machine) clears(f Fault, now time.Time, level Level, epo bool) bool {
	switch f {
	case FaultEPO:
		return !epo
	case FaultWeld:
		return false // latched; only a restart (Reset) with the feedback open clears it
	case FaultRelayOpen:
		return level == LevelA || m.relayTries <= m.p.RelayTries && now.Sub(m.faultAt) >= m.p.RelayRetry
	case FaultCPShort:
		return level != LevelE && level != LevelInvalid && level != LevelNone
	case FaultPP:
		return level == LevelA || m.ppValid()
	}
	return level == LevelA // diode, general, lock
}

func connected(l Level) bool { return l == LevelB || l == LevelC || l == LevelD }

// runNormal is the fault-free Mode 3 sequence.
func (m *Machine) runNormal(now time.Time, level Level, fb bool) {
	switch {
	case level == LevelNone:
		m.setDuty(DutySteady, now)
		m.reason = "starting"
		return
	case level == LevelA:
		// Before the restart hold: an unplug during the hold ends the
		// plug-in the fresh machine took over.
		if m.plugged {
			m.unplug(now)
		}
		m.setContactor(false, now)
		m.setDuty(DutySteady, now)
		if !fb && m.lockCmd {
			m.setLock(false, now)
		}
		m.target, m.reason = 0, "no vehicle connected"
		idle := DutySteady
		m.runPhases(now, level, fb, &idle) // C2 follows the request with no car
		return
	case now.Before(m.holdUntil):
		m.setContactor(false, now)
		m.setDuty(DutySteady, now)
		m.target, m.reason = 0, "restarting: pause in X1"
		return
	}
	if !m.plugged {
		m.plugged = true
		m.diodeOK, m.wakeDone, m.relayTries, m.lockTries = false, false, 0, 0
		if m.set.ChargeAutoStart {
			m.startSession(now)
		}
	}
	caseB := m.set.ChargerMode == settings.ModeCaseB
	if caseB {
		m.cable = m.readPP()
	}
	m.target, m.limitSrc = m.limitCurrent(now)
	offer := m.session && m.target >= settings.MinCurrent
	switch {
	case m.mode == ModeOff:
		m.reason = "charging mode off"
	case !m.session:
		m.reason = "session not started"
	case m.restarting:
		offer = false
		m.reason = "restarting: waiting for the vehicle to stop"
	case m.target < settings.MinCurrent:
		m.reason = "paused: available current below 6 A"
		if why := m.lim.pauseReason(); why != "" {
			m.reason = why // what is available, when it may resume, what went stale
		} else if m.lim.stale {
			m.reason = "paused: limiter input stale (fallback)"
		}
	case level == LevelD && !m.p.Ventilation:
		offer = false
		m.reason = "vehicle requires ventilation, not available here"
	default:
		m.reason = m.lim.rideReason() // "" unless a dip of the solar surplus is ridden
	}
	if caseB && m.cable == 0 {
		offer = false // never PWM without a valid cable, even before the PP fault is judged
	}
	if caseB {
		if m.session {
			m.driveLock(now)
			if m.fault != FaultNone {
				return // lock jammed: enterFault made the outputs safe, F stays
			}
			if !m.board.Lock.Locked() {
				offer = false
				if m.reason == "" {
					m.reason = "locking cable"
				}
			}
		} else if !fb && !m.contactor && m.lockCmd {
			m.setLock(false, now)
		}
	}

	duty := DutySteady
	if offer {
		duty = DutyFor(m.target)
	}
	m.wakeUp(now, level, &duty, fb)
	if m.runPhases(now, level, fb, &duty) {
		m.reason = m.ph.reason
	}
	m.paceDuty(now, duty)

	charging := level == LevelC || level == LevelD && m.p.Ventilation
	if caseB && m.cable == 0 {
		charging = false // PP lost (cable pulled or broken): no current, whatever the pilot says
	}
	switch {
	case !charging:
		m.setContactor(false, now) // C/D ended: open at once
	case m.contactor && !IsPWM(m.duty):
		if m.withdrawnAt.IsZero() {
			m.withdrawnAt = now
		}
		switch {
		case m.ph.step == PhaseStopping && now.Sub(m.withdrawnAt) >= m.stopWait()-abortMargin && m.drawing(now):
			// The car keeps drawing: abort the switch rather than open
			// C1 under load for it; the PWM comes back at the old phases.
			m.phaseAbort(now, fmt.Sprintf("phase switch aborted: the car kept drawing %.1f A %v after the PWM was withdrawn", float64(m.meter1Max()), m.stopWait()))
		case now.Sub(m.withdrawnAt) >= m.stopWait() || m.evStopped(now):
			m.setContactor(false, now)
		}
	case !m.contactor && IsPWM(m.duty) && m.mayClose(now):
		m.phases = m.phasesWanted()
		m.ph.energised = true
		m.setContactor(true, now)
	}
	if m.reason == "" && !m.contactor {
		if charging {
			m.reason = "vehicle ready: closing the contactor"
		} else {
			m.reason = "waiting for the vehicle to request charge"
		}
	}
}

// mayClose checks invariant 1's conditions that runNormal has not already.
func (m *Machine) mayClose(now time.Time) bool {
	// A pending candidate means the raw pilot already disagrees with the
	// debounced level: never close on a level that may be ending.
	if !m.diodeOK || m.cp.cand != LevelNone || now.Sub(m.cp.since) < m.p.CStable || !m.rcmReady() {
		return false
	}
	if m.set.ChargerMode == settings.ModeCaseB && (!m.lockCmd || !m.board.Lock.Locked() || !m.ppValid()) {
		return false
	}
	return !now.Before(m.wakeUntil)
}

// evStopped reports, with a statistics meter, that the EV no longer draws.
func (m *Machine) evStopped(now time.Time) bool {
	if !m.meter1OK || now.Sub(m.withdrawnAt) < time.Second || now.Sub(m.meter1.At) > 2*time.Second {
		return false
	}
	for _, a := range m.meter1.PhaseCurrent {
		if a > 0.5 {
			return false
		}
	}
	return m.meter1.HasPhases || m.meter1.Power < 50
}

// paceDuty applies a new duty: reductions and stops at once, increases
// while charging at most every DutyInterval.
func (m *Machine) paceDuty(now time.Time, duty int) {
	if duty == m.duty {
		return
	}
	// Resuming after a stop or pause while the contactor is still closed
	// is an increase too (from 0 A).
	if m.contactor && IsPWM(duty) && CurrentForDuty(duty) > CurrentForDuty(m.duty) && now.Sub(m.dutyChangedAt) < m.p.DutyInterval {
		return
	}
	if IsPWM(duty) {
		m.withdrawnAt = time.Time{}
	}
	m.setDuty(duty, now)
}

// wakeUp implements IEC 61851-1 Annex A.5.3: an EV left in B2 for 30 s is
// woken by 3–4 s of F, once per plug-in or resume, never under load.
func (m *Machine) wakeUp(now time.Time, level Level, duty *int, fb bool) {
	if now.Before(m.wakeUntil) {
		*duty = DutyNegative
		return
	}
	if level != LevelB || !IsPWM(*duty) || !IsPWM(m.duty) || m.contactor || fb {
		m.b2Since = time.Time{}
		return
	}
	if m.b2Since.IsZero() {
		m.b2Since = now
	}
	if !m.wakeDone && now.Sub(m.b2Since) >= m.p.WakeAfter {
		m.wakeDone = true
		m.wakeUntil = now.Add(m.p.WakePulse)
		m.b2Since = time.Time{}
		*duty = DutyNegative
	}
}

func (m *Machine) driveLock(now time.Time) {
	method := hw.LockMethod(m.set.LockMethod)
	if m.board.Lock.Locked() {
		if !m.lockCmd {
			m.setLock(true, now)
		}
		return
	}
	if !m.lockCmd {
		if now.Before(m.lockRetryAt) {
			return
		}
		m.lockTries++
		m.lockCmd, m.lockAt = true, now
		m.board.Lock.Set(true, method)
		return
	}
	if now.Sub(m.lockAt) >= m.p.LockTimeout {
		if m.lockTries >= m.p.LockAttempts {
			m.enterFault(FaultLock, now)
			return
		}
		m.setLock(false, now)
		m.lockRetryAt = now.Add(m.p.LockRetry)
	}
}

func (m *Machine) setLock(locked bool, now time.Time) {
	if !locked && (m.contactor || m.board.Contactor.Closed()) {
		// Invariant 2: never unlock under load or with the output live
		// (a weld not yet confirmed), whoever asks (a lock retry too).
		return
	}
	if m.lockCmd == locked && locked == m.board.Lock.Locked() {
		return
	}
	m.lockCmd, m.lockAt = locked, now
	m.board.Lock.Set(locked, hw.LockMethod(m.set.LockMethod))
}

func (m *Machine) setDuty(d int, now time.Time) {
	wasF := m.inF
	m.inF = d == DutyNegative
	if wasF && !m.inF {
		// The pilot was not read during F: C must prove stable anew.
		m.cp.since = now
	}
	if d == m.duty {
		return
	}
	m.duty, m.dutyChangedAt = d, now
	m.board.Pilot.SetDuty(d)
}

func (m *Machine) setContactor(closed bool, now time.Time) {
	if closed == m.contactor {
		return
	}
	m.contactor, m.contactorAt = closed, now
	if !closed {
		m.withdrawnAt = time.Time{}
	}
	m.board.Contactor.Set(closed)
}

// ppRating decodes the PP resistance (iec61851.md §4); 0 means invalid.
func ppRating(ohms float64) units.Amps {
	switch {
	case math.IsNaN(ohms) || ohms < 75:
		return 0
	case ohms < 150:
		return 63
	case ohms < 330:
		return 32
	case ohms < 1000:
		return 20
	case ohms <= 2200:
		return 13
	}
	return 0
}

// readPP returns the cable rating in force: the PP read now, but never
// more than the lowest rating read since the plug-in, so a PP that reads
// higher later (a contact problem, a cable swapped without an unplug the
// pilot saw) never lifts the limit. 0 means invalid now.
func (m *Machine) readPP() units.Amps {
	a := ppRating(m.board.Proximity.Ohms())
	if a == 0 {
		return 0
	}
	if m.ppCap == 0 || a < m.ppCap {
		m.ppCap = a
	}
	return m.ppCap
}

func (m *Machine) ppValid() bool { return ppRating(m.board.Proximity.Ohms()) > 0 }

func (m *Machine) phasesWanted() int {
	if m.hasC2() {
		return m.supply()
	}
	if m.set.Charge3Phase {
		return 3
	}
	return 1
}

// meter1Max is the highest phase current on meter 1's last reading.
func (m *Machine) meter1Max() units.Amps {
	var mx units.Amps
	for _, a := range m.meter1.PhaseCurrent {
		mx = max(mx, a)
	}
	return mx
}
