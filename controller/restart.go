package controller

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// pendingRestart is a Restart waiting for the contactor to open and for
// the pilot to leave F.
type pendingRestart struct {
	p        Params
	load     func() settings.Settings
	deadline time.Time
}

// RestartHold is how long the pilot stays steady after an in-process
// restart before a session may offer current again (IEC 61851-1: a pause
// in X1 lasts at least 3 s).
const RestartHold = 3 * time.Second

// Restart restarts the control logic in-process with new parameters
// (SystemInfo Reset). It withdraws the PWM the way IEC 61851 asks — the
// contactor opens once the car has stopped, at the latest after
// StopTimeout — and waits until the pilot no longer drives F (a fault's F
// hold, a wake-up pulse). Then a fresh machine takes over with the
// settings load returns (read in the loop, so no settings change can slip
// between reading and applying), holds the pilot steady for RestartHold,
// and carries over what belongs to the car and the user, not to the
// control logic: the connected car, whether the session was started (a
// stop or an EPO stays a stop), and every fault but a weld, which the
// fresh machine finds again at once if the contactor still reads closed.
// Restart returns when the restart is scheduled.
func (c *Controller) Restart(p Params, load func() settings.Settings) error {
	return c.do(func(now time.Time) error { c.restartAt(now, p, load); return nil })
}

// restartAt schedules a restart; it runs on the loop.
func (c *Controller) restartAt(now time.Time, p Params, load func() settings.Settings) {
	c.m.restarting = true
	c.restart = &pendingRestart{p: p, load: load, deadline: now.Add(c.m.p.StopTimeout)}
}

// restartDue reports whether the pending restart may swap machines now:
// the contactor is open (or the stop timed out) and the pilot is not in F,
// so no F hold or wake-up pulse is cut short.
func (c *Controller) restartDue(now time.Time) bool {
	r := c.restart
	return r != nil && (!c.m.contactor || !now.Before(r.deadline)) && !c.m.inF
}

// swap replaces the machine (see Restart); it runs on the loop.
func (c *Controller) swap(now time.Time) {
	r := c.restart
	c.restart = nil
	s := r.load()
	old := c.m
	if old.vehicleConnected() && (s.ChargerMode != old.set.ChargerMode || s.LockMethod != old.set.LockMethod) {
		// The same rule as for a settings change: the cable and lock
		// handling of a connected car never changes under it.
		c.log.Warn().Int("ChargerMode", s.ChargerMode).Int("LockMethod", s.LockMethod).
			Msg("restart: ChargerMode and LockMethod kept as they were until the vehicle is unplugged; restart again then")
		s.ChargerMode, s.LockMethod = old.set.ChargerMode, old.set.LockMethod
	}
	haltKeepingC2(c.board)
	m := newMachine(c.board, r.p, s)
	m.takeOver(old, now)
	m.Step(now)
	c.mu.Lock()
	c.m, c.params = m, r.p
	c.mu.Unlock()
	c.log.Info().Msg("controller restarted")
	c.applied(s)
}

// takeOver carries from the machine being replaced what belongs to the car
// and the user: the plug-in (so a car left connected is not taken for a
// new one and auto-started), the session and its energy, whether its one
// wake-up pulse was spent, the charging mode, the stacked
// faults but a weld, and the per-plug-in retry counters. The control
// logic (limiter, pilot debouncer, diode proof, duty pacing) starts afresh,
// behind a RestartHold pause in X1.
func (m *Machine) takeOver(old *Machine, now time.Time) {
	m.lifetime = old.lifetime
	m.mode = old.mode
	// C2 as it is, the request, this plug-in's switches and a latched
	// mismatch or blocked switch. A switch in progress restarts from its
	// stop (the swap waits until the pilot leaves F, so it is never
	// caught between F and C2's feedback).
	m.ph = old.ph
	if m.ph.step == PhaseFHold || m.ph.step == PhaseSwitching {
		m.ph.step, m.ph.stepAt = PhaseStopping, now
	}
	m.ext = old.ext // an OCPP central system's cap and availability (external.go)
	m.holdUntil = now.Add(RestartHold)
	m.plugged, m.ppCap, m.wakeDone = old.plugged, old.ppCap, old.wakeDone
	m.relayTries, m.lockTries = old.relayTries, old.lockTries
	m.session, m.sessionStart, m.sessionEnd = old.session, old.sessionStart, old.sessionEnd
	m.energy = old.energy
	m.boost = old.boost && m.set.ChargeCurrentBoost > m.set.ChargeCurrent
	m.faults = old.faults.without(FaultWeld)
	m.fault, m.faultAt = m.faults.top(), old.faultAt
}

// vehicleConnected reports whether a car is, or is about to be, connected:
// a plug-in in progress, or the pilot showing B, C or D.
func (m *Machine) vehicleConnected() bool {
	return m.plugged || connected(m.cp.level) || connected(m.cp.cand)
}
