package controller

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// Status is a typed snapshot of the charger, taken after every step. The
// WebAPI's Status object and the MQTT status document are rendered from it.
type Status struct {
	At                time.Time
	State             EvseState
	Fault             Fault
	Level             Level // debounced pilot level
	ThreePhase        bool
	ActualCurrent     units.Amps
	PPCodedCurrent    units.Amps
	ActualPower       units.Watts
	PowerAvailable    units.Watts // 0 unless the limiter or a supervisor is active
	LimiterActive     bool
	Energy            units.WattSeconds // this session
	LifetimeEnergy    units.WattSeconds // since the process started; survives Restart
	Duration          time.Duration
	AutoStartAllowed  bool
	StartStopAllowed  bool
	BoostAllowed      bool
	ChargerStarted    bool
	ChargeBoosted     bool
	VehicleConnected  bool
	ContactorClosed   bool // as commanded
	ContactorFeedback bool // as sensed
	Locked            bool
	DutyPermille      int
	CurrentLimit      units.Amps // current the EVSE wants to advertise now
	LimitSource       LimitSource
	PowerFromMeter    bool // ActualPower/Current from the statistics meter
	Reason            string
	LimiterStale      bool
	LimiterPaused     bool
	Mode              Mode // charging mode
	// 1p/3p switching (C2): the phases supplied, the step in progress,
	// the switches this plug-in and why the last one went as it did.
	PhasesActive       int
	PhaseSwitch        PhaseStep
	PhaseSwitches      int
	PhaseReason        string
	PhaseLatched       bool // a mismatch: 1p for the rest of the plug-in
	PhaseSwitchOK      bool // C2 is fitted
	SupervisorLeaseEnd time.Time
	PhaseRequest       PhaseRequest // phases/set as in force: auto outside solar reads follow (phaseRequestInForce)
	// Unreachable says why a bridged charger does not answer; "" while
	// it does (always, for the local controller).
	Unreachable string
}

// Snapshot fills st with the machine's state at now. It does not allocate.
func (m *Machine) Snapshot(now time.Time, st *Status) {
	*st = Status{
		At:                now,
		Fault:             m.fault,
		Level:             m.cp.level,
		ThreePhase:        m.set.Charge3Phase,
		ActualCurrent:     m.curNow,
		ActualPower:       m.powerNow,
		Energy:            m.energy,
		LifetimeEnergy:    m.lifetime,
		AutoStartAllowed:  m.set.ChargeAutoStart,
		StartStopAllowed:  m.StartStopAllowed(),
		BoostAllowed:      m.BoostAllowed(),
		ChargerStarted:    m.session,
		ChargeBoosted:     m.boost,
		VehicleConnected:  m.plugged,
		ContactorClosed:   m.contactor,
		ContactorFeedback: m.board.Contactor.Closed(),
		Locked:            m.board.Lock.Locked(),
		DutyPermille:      m.duty,
		CurrentLimit:      m.target,
		LimitSource:       m.limitSrc,
		PowerFromMeter:    m.fromMeter,
		Reason:            m.reason,
		LimiterActive:     m.lim.active,
		LimiterStale:      m.lim.stale,
		LimiterPaused:     m.lim.paused,
		Mode:              m.mode,
		PhasesActive:      m.phasesActive(),
		PhaseSwitch:       m.ph.step,
		PhaseSwitches:     m.ph.switches,
		PhaseReason:       m.ph.reason,
		PhaseLatched:      m.ph.latched,
		PhaseSwitchOK:     m.hasC2(),
		PhaseRequest:      m.phaseRequestInForce(),
	}
	if m.lim.active {
		st.PowerAvailable = m.lim.available
	}
	if m.lim.lease.valid && now.Before(m.lim.lease.expires) {
		// The limiter runs only while a car is connected; an idle
		// charger still must not report a lapsed lease as valid.
		st.SupervisorLeaseEnd = m.lim.lease.expires
	}
	if m.set.ChargerMode == 1 {
		st.PPCodedCurrent = m.cable
	}
	switch {
	case m.fault != FaultNone:
		st.State = m.fault.State()
	case m.halted && m.plugged:
		// Halted: pilot steady, contactor open, no session. Whatever the
		// car still shows, the charger is not charging, and the last
		// status (retained on MQTT) must say so.
		st.State = StateConnected
	case m.halted:
		st.State = StateIdle
	case m.cp.level == LevelA:
		st.State = StateIdle
	case m.cp.level == LevelB:
		st.State = StateConnected
	case m.cp.level == LevelC:
		st.State = StateCharge
	case m.cp.level == LevelD:
		st.State = StateVent
	default:
		st.State = StateWaiting
	}
	if m.session {
		st.Duration = now.Sub(m.sessionStart)
	} else if !m.sessionEnd.IsZero() {
		st.Duration = m.sessionEnd.Sub(m.sessionStart)
	}
}

// phaseRequestInForce is the request as the charger acts on it: auto is
// the policy of the solar modes only (phaseTarget), so outside them it
// follows Charge3Phase and is reported as follow — a Home Assistant select
// showing "auto" in mode now would promise switching that does not
// happen. The request itself is kept: back in solar or minsolar, auto is
// in force (and reported) again without being asked for anew.
func (m *Machine) phaseRequestInForce() PhaseRequest {
	if m.ph.req == PhasesAuto && !m.mode.Solar() {
		return PhasesFollow
	}
	return m.ph.req
}

// Charging reports whether the contactor is closed (current can flow).
func (s *Status) Charging() bool { return s.ContactorFeedback }

// Problem reports whether a fault is active.
func (s *Status) Problem() bool { return s.Fault != FaultNone }

// changed reports whether b differs from a in anything a subscriber
// should hear about at once (everything but the running counters).
func changed(a, b *Status) bool {
	x, y := *a, *b
	x.At, y.At = time.Time{}, time.Time{}
	x.Energy, y.Energy = 0, 0
	x.LifetimeEnergy, y.LifetimeEnergy = 0, 0
	x.Duration, y.Duration = 0, 0
	x.ActualPower, y.ActualPower = 0, 0
	x.PowerAvailable, y.PowerAvailable = 0, 0
	x.SupervisorLeaseEnd, y.SupervisorLeaseEnd = time.Time{}, time.Time{}
	return x != y || a.Duration/time.Second != b.Duration/time.Second && b.ChargerStarted ||
		absW(a.ActualPower-b.ActualPower) >= 100 || absW(a.PowerAvailable-b.PowerAvailable) >= 100
}

func absW(w units.Watts) units.Watts {
	if w < 0 {
		return -w
	}
	return w
}
