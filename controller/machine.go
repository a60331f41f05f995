package controller

import (
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

	// fault handling
	fault        Fault
	faultAt      time.Time
	relayTries   int
	resetPending bool      // Reset accepted; clear once F has been held FHold
	diodeBadAt   time.Time // first sample of a bad diode level; zero when fine
	rcm          rcmState  // residual-current monitor (rcm.go)

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
	ext       external          // an outside party's cap and availability (external.go)
	holdUntil time.Time         // restart hold-off: pilot steady until then
	lifetime  units.WattSeconds // energy delivered since the process started
	meter1    hw.MeterReading
	meter1OK  bool
	cable     units.Amps // PP rating, Case B; 0 unknown
	target    units.Amps // current the EVSE wants to advertise
	limitSrc  LimitSource
	reason    string
	lastStep  time.Time
	curNow    units.Amps // actual current (measured or estimated)
	powerNow  units.Watts
	fromMeter bool
}

// NewMachine returns a machine for the board with the given parameters and
// settings. It drives the pilot steady and the contactor open at once.
func NewMachine(b hw.Board, p Params, s settings.Settings) *Machine {
	m := &Machine{board: b, p: p, set: s, duty: DutySteady}
	m.lim.p = p.Limiter
	b.Halt()
	return m
}

// Settings returns the settings in force.
func (m *Machine) Settings() settings.Settings { return m.set }

// HoldOff keeps the pilot steady (no PWM, contactor open) until the given
// time: after an in-process restart the car gets a full IEC pause in X1
// before charging may resume.
func (m *Machine) HoldOff(until time.Time) { m.holdUntil = until }

// Halt puts the outputs in the safe state at once — contactor open, pilot
// steady — and ends the session, so the status says what the hardware
// does. Used on shutdown.
func (m *Machine) Halt(now time.Time) {
	m.setContactor(false, now)
	m.setDuty(DutySteady, now)
	m.endSession(now)
	m.target, m.reason = 0, "stopped"
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
	if !m.inF {
		m.cp.update(raw, now, m.p.Debounce)
	}
	level := m.cp.level

	m.detectFaults(now, s, level, raw, epo, fb)
	if m.fault != FaultNone {
		m.runFault(now, level, epo, fb)
	} else {
		m.runNormal(now, level, fb)
	}

	m.account(now, dt, fb)
}

// detectFaults enters a fault when a new one appears. EPO and welding
// outrank the others.
func (m *Machine) detectFaults(now time.Time, s hw.PilotSample, level, raw Level, epo, fb bool) {
	if m.fault == FaultWeld {
		return // latched
	}
	if !m.contactor && fb && now.Sub(m.contactorAt) >= m.p.SwitchGrace {
		m.enterFault(FaultWeld, now)
		return
	}
	if epo {
		if m.fault != FaultEPO {
			m.enterFault(FaultEPO, now)
		}
		return
	}
	if m.fault != FaultNone {
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
	m.fault, m.faultAt = f, now
	m.resetPending = false // a new fault needs its own reset
	m.setContactor(false, now)
	m.setDuty(DutyNegative, now)
	m.wakeUntil = time.Time{}
}

// runFault keeps the outputs safe, holds F for FHold, then drives steady
// +12 V so the vehicle can be seen again, and clears the fault by policy.
func (m *Machine) runFault(now time.Time, level Level, epo, fb bool) {
	m.setContactor(false, now)
	m.target, m.reason = 0, m.fault.String()
	if now.Sub(m.faultAt) < m.p.FHold {
		m.setDuty(DutyNegative, now)
		return
	}
	if m.resetPending {
		m.clearReset(now)
		return
	}
	m.setDuty(DutySteady, now)
	if !fb && m.fault != FaultWeld && m.set.ChargerMode == settings.ModeCaseB {
		m.setLock(false, now) // let the user take the cable
	}
	// Judge the vehicle only once the pilot has settled after F.
	if m.inF || now.Sub(m.cp.candSince) < m.p.Debounce && m.cp.cand != LevelNone {
		return
	}
	if now.Sub(m.faultAt) < m.p.FHold+2*m.p.Debounce {
		return
	}
	clear := false
	switch m.fault {
	case FaultEPO:
		if !epo {
			clear = true
			m.endSession(now)
		}
	case FaultWeld:
		// latched; only Reset clears it
	case FaultRelayOpen:
		if level == LevelA {
			clear = true
		} else if m.relayTries <= m.p.RelayTries && now.Sub(m.faultAt) >= m.p.RelayRetry {
			clear = true
		}
	case FaultCPShort:
		clear = level != LevelE && level != LevelInvalid && level != LevelNone
	case FaultPP:
		clear = level == LevelA || m.ppValid()
	default: // diode, general, lock
		clear = level == LevelA
	}
	if clear {
		m.fault = FaultNone
		m.diodeBadAt = time.Time{}
		if level == LevelA {
			m.unplug(now)
		}
	}
}

// Reset clears a latched fault when that is safe (the contactor reads
// open) and stops the session. It returns false when a weld persists. A
// fault younger than FHold is cleared only once F has been held that long
// (IEC 61851-1 Table A.5); without a fault the pilot is left alone, so a
// running wake-up pulse keeps its length.
func (m *Machine) Reset(now time.Time) bool {
	if m.board.Contactor.Closed() {
		return false
	}
	m.relayTries, m.lockTries = 0, 0
	m.setContactor(false, now)
	m.endSession(now)
	if m.fault == FaultNone {
		return true
	}
	if now.Sub(m.faultAt) < m.p.FHold {
		m.resetPending = true
		return true
	}
	m.clearReset(now)
	return true
}

// clearReset ends a fault cleared by Reset and re-reads the pilot afresh.
func (m *Machine) clearReset(now time.Time) {
	m.fault, m.resetPending = FaultNone, false
	m.setDuty(DutySteady, now)
	m.cp = debouncer{}
}

func connected(l Level) bool { return l == LevelB || l == LevelC || l == LevelD }

// runNormal is the fault-free Mode 3 sequence.
func (m *Machine) runNormal(now time.Time, level Level, fb bool) {
	switch {
	case level == LevelNone:
		m.setDuty(DutySteady, now)
		m.reason = "starting"
		return
	case now.Before(m.holdUntil):
		m.setContactor(false, now)
		m.setDuty(DutySteady, now)
		m.target, m.reason = 0, "restarting: pause in X1"
		return
	case level == LevelA:
		if m.plugged {
			m.unplug(now)
		}
		m.setContactor(false, now)
		m.setDuty(DutySteady, now)
		if !fb && m.lockCmd {
			m.setLock(false, now)
		}
		m.target, m.reason = 0, "no vehicle connected"
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
		m.cable = ppRating(m.board.Proximity.Ohms())
	}
	m.target, m.limitSrc = m.limitCurrent(now)
	offer := m.session && m.target >= settings.MinCurrent
	switch {
	case !m.session:
		m.reason = "session not started"
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
		m.reason = ""
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
		if now.Sub(m.withdrawnAt) >= m.p.StopTimeout || m.evStopped(now) {
			m.setContactor(false, now)
		}
	case !m.contactor && IsPWM(m.duty) && m.mayClose(now):
		m.phases = m.phasesWanted()
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

func (m *Machine) ppValid() bool { return ppRating(m.board.Proximity.Ohms()) > 0 }

func (m *Machine) phasesWanted() int {
	if m.set.Charge3Phase {
		return 3
	}
	return 1
}
