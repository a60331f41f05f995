package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Errors callers act on (the WebAPI and MQTT answer them as reasons).
var (
	ErrNoVehicle      = errors.New("no vehicle connected")
	ErrFaulted        = errors.New("charger is in a fault state")
	ErrBoostNotNeeded = errors.New("boost not allowed: ChargeCurrentBoost is not above ChargeCurrent")
	ErrNoSession      = errors.New("boost not allowed: no charging session started")
	ErrNoSupervisor   = errors.New("supervisor IP not set")
)

// StartStopAllowed reports whether a session may be started or stopped
// now: a vehicle is connected and no fault is active.
func (m *Machine) StartStopAllowed() bool { return m.fault == FaultNone && m.plugged }

// BoostAllowed reports whether boost may be switched on: a session is
// started (boost lasts for that session), no fault, and the boost current
// is above the normal charge current.
func (m *Machine) BoostAllowed() bool {
	return m.session && m.fault == FaultNone && m.set.ChargeCurrentBoost > m.set.ChargeCurrent
}

// Start starts a charging session. Starting a started session is not an
// error (idempotent).
func (m *Machine) Start(now time.Time) error {
	if m.session {
		return nil
	}
	if m.ext.inoperative {
		return ErrInoperative
	}
	if !m.StartStopAllowed() {
		if m.fault != FaultNone {
			return ErrFaulted
		}
		return ErrNoVehicle
	}
	m.startSession(now)
	return nil
}

// Stop stops the session: the PWM is withdrawn at once and the contactor
// opens when the vehicle has stopped (or after StopTimeout). Stopping a
// stopped session is not an error.
func (m *Machine) Stop(now time.Time) error {
	if !m.session {
		return nil
	}
	m.endSession(now)
	return nil
}

// SetBoost switches boost for the current session.
func (m *Machine) SetBoost(on bool) error {
	if on == m.boost {
		return nil
	}
	if on && !m.BoostAllowed() {
		switch {
		case m.fault != FaultNone:
			return ErrFaulted
		case !m.session:
			return ErrNoSession
		}
		return ErrBoostNotNeeded
	}
	m.boost = on
	return nil
}

// SetSupervisorPower stores the external supervisor's available power as
// a lease. The caller has checked the supervisor's identity.
func (m *Machine) SetSupervisorPower(w units.Watts, now time.Time) error {
	if m.set.Meter2Type != settings.MeterRemoteSuperv {
		return ErrNoSupervisor
	}
	m.lim.setLease(w, now)
	return nil
}

// SetMeter delivers a valid reading of meter n (1 statistics, 2 control).
func (m *Machine) SetMeter(n int, r hw.MeterReading) {
	switch n {
	case 1:
		m.meter1, m.meter1OK = r, true
	case 2:
		m.lim.site, m.lim.siteOK = r, true
	}
}

// errConnectedSetting is the reason a ChargerMode or LockMethod change is
// refused while a vehicle is connected.
const errConnectedSetting = "%s can change only with no vehicle connected"

// refuseSettings returns a reason per key for a change that must wait for
// the unplug: ChargerMode and LockMethod decide how the cable is read and
// locked, and changing them under a connected car would lift the cable's
// PP limit (Case B → A) or fault the session (A → B: lock lost under
// load). nil when next may be applied now.
func (m *Machine) refuseSettings(next settings.Settings) map[string]string {
	if !m.vehicleConnected() {
		return nil
	}
	var bad map[string]string
	refuse := func(key string) {
		if bad == nil {
			bad = map[string]string{}
		}
		bad[key] = fmt.Sprintf(errConnectedSetting, key)
	}
	if next.ChargerMode != m.set.ChargerMode {
		refuse("ChargerMode")
	}
	if next.LockMethod != m.set.LockMethod {
		refuse("LockMethod")
	}
	return bad
}

// ApplySettings puts new (already validated) settings in force. A boost
// that no longer makes sense ends.
func (m *Machine) ApplySettings(s settings.Settings) {
	m.set = s
	if m.set.ChargeCurrentBoost <= m.set.ChargeCurrent {
		m.boost = false
	}
	if s.Meter1Type == settings.MeterNone {
		m.meter1OK = false
	}
	if !settings.IsControlMeter(s.Meter2Type) {
		m.lim.siteOK = false
	}
	if s.Meter2Type != settings.MeterRemoteSuperv {
		m.lim.lease.valid = false
	}
}

func (m *Machine) startSession(now time.Time) {
	if m.ext.inoperative {
		return // out of service: no start, auto start included
	}
	m.session = true
	m.sessionStart, m.sessionEnd = now, time.Time{}
	m.energy = 0
	m.meterBaseOK = false
	m.wakeDone = false
}

func (m *Machine) endSession(now time.Time) {
	if m.session {
		m.sessionEnd = now
	}
	m.session, m.boost = false, false
}

func (m *Machine) unplug(now time.Time) {
	m.endSession(now)
	m.plugged = false
	m.diodeOK, m.wakeDone = false, false
	m.relayTries, m.lockTries = 0, 0
	m.lockRetryAt, m.wakeUntil = time.Time{}, time.Time{}
	m.cable, m.ppCap = 0, m.ppSinceA
	m.resetPhasesForPlugIn()
}

// ceiling is what the charger may offer before power limiting: the
// configured (or boost) current, the hardware, the cable and an OCPP cap,
// with the one that binds.
func (m *Machine) ceiling(now time.Time) (units.Amps, LimitSource) {
	a, src := units.Amps(m.set.ChargeCurrent), SourceConfig
	if m.boost {
		a, src = units.Amps(m.set.ChargeCurrentBoost), SourceBoost
	}
	if m.p.HardwareMax < a {
		a, src = m.p.HardwareMax, SourceHardware
	}
	if m.set.ChargerMode == settings.ModeCaseB && m.cable > 0 && m.cable < a {
		a, src = m.cable, SourceCable
	}
	if ext, ok := m.ext.capAt(now); ok && ext < a {
		a, src = ext, SourceOCPP
	}
	return a, src
}

// limitCurrent returns the current to advertise and what limits it.
func (m *Machine) limitCurrent(now time.Time) (units.Amps, LimitSource) {
	a, src := m.ceiling(now)
	phases := m.phases
	if !m.contactor {
		phases = m.phasesWanted()
	}
	in := limitInput{ceiling: a, phases: phases, mode: m.mode}
	if m.contactor && IsPWM(m.duty) {
		in.advertised = CurrentForDuty(m.duty)
	}
	if m.meter1OK && now.Sub(m.meter1.At) <= m.p.Limiter.MeterStale {
		// The statistics meter shows what the EV really draws, polled
		// like the control meter; without it the limiter bounds the draw
		// from the advertised current.
		in.ev = evDraw{measured: true, at: m.meter1.At, power: m.meter1.Power, phase: m.meter1.PhaseCurrent}
		if !m.meter1.HasPhases {
			in.ev.phase = [3]units.Amps{}
			for i := 0; i < phases && i < 3; i++ {
				in.ev.phase[i] = units.CurrentFor(m.meter1.Power, phases)
			}
		}
	}
	m.lim.update(now, &m.set, in)
	if m.lim.active && m.lim.out < a {
		a, src = m.lim.out, m.lim.source
	}
	if m.hasC2() && m.supply() == 1 && units.Amps(m.set.PhaseCurrentLimit) < a {
		// On one phase the whole current is on L1: its breaker bounds it.
		a, src = units.Amps(m.set.PhaseCurrentLimit), SourceHardware
	}
	if m.mode == ModeOff {
		a, src = 0, SourceMode
	}
	a = a.Floor()
	if a < settings.MinCurrent {
		a = 0
	}
	return a, src
}

// account updates the actual current, power and session energy.
func (m *Machine) account(now time.Time, dt time.Duration, fb bool) {
	phases := m.phases
	if phases == 0 {
		phases = m.phasesWanted()
	}
	fresh := m.meter1OK && now.Sub(m.meter1.At) <= m.p.Limiter.MeterStale
	m.fromMeter = fresh
	switch {
	case fresh:
		m.powerNow = m.meter1.Power
		var mx units.Amps
		for _, a := range m.meter1.PhaseCurrent {
			mx = max(mx, a)
		}
		if !m.meter1.HasPhases {
			mx = units.CurrentFor(m.meter1.Power, phases)
		}
		m.curNow = mx
	case fb && m.contactor && IsPWM(m.duty):
		m.curNow = CurrentForDuty(m.duty)
		m.powerNow = units.PowerFor(m.curNow, phases)
	default:
		m.curNow, m.powerNow = 0, 0
	}
	if dt > 0 && dt < time.Minute && m.powerNow > 0 {
		m.lifetime += m.powerNow.Energy(dt.Seconds())
	}
	if !m.session {
		return
	}
	if fresh {
		if !m.meterBaseOK {
			m.meterBase, m.meterBaseOK = m.meter1.ImportEnergy-units.WattHours(m.energy.WattHours()), true
		}
		m.energy = units.WattSeconds((m.meter1.ImportEnergy - m.meterBase) * 3600)
		return
	}
	m.meterBaseOK = false
	if dt > 0 && dt < time.Minute {
		m.energy += m.powerNow.Energy(dt.Seconds())
	}
}
