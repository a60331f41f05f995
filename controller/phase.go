package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// PhaseParams tune 1p/3p switching with the second contactor C2 (issue 12;
// hardware.phase_switch). Every constant of the sequence and the policy
// is here, so an installation can change it; Validate keeps the safety
// bounds.
type PhaseParams struct {
	StopWait    time.Duration // PWM withdrawn: the car must stop drawing within this (≤ 6 s)
	FTime       time.Duration // F driven so the car re-initialises (≥ 5 s)
	Feedback    time.Duration // C2's feedback must follow its command within this
	Verify      time.Duration // the new phases must show on meter 1 within this (60 s)
	VerifyAmps  units.Amps    // a phase in use carries this much, the others less (1 A)
	BothWays    bool          // auto may go 1p → 3p within a session (default: one-way)
	MaxSwitches int           // switches per session (4)
	MinInterval time.Duration // between two switches (10 min)
	DownAfter   time.Duration // auto: 3p minimum unavailable this long → 1p (180 s)
	UpAfter     time.Duration // auto: 3p minimum + UpMargin available this long → 3p (600 s)
	UpMargin    units.Watts   // 200 W
}

// DefaultPhaseParams are issue 12's constants.
func DefaultPhaseParams() PhaseParams {
	return PhaseParams{StopWait: 6 * time.Second, FTime: 5 * time.Second, Feedback: time.Second,
		Verify: time.Minute, VerifyAmps: 1, MaxSwitches: 4, MinInterval: 10 * time.Minute,
		DownAfter: 180 * time.Second, UpAfter: 600 * time.Second, UpMargin: 200}
}

// ErrPhaseParams reports phase-switch parameters outside the safe bounds.
var ErrPhaseParams = errors.New("invalid phase switch parameters")

// Validate reports the first parameter out of bounds.
func (p PhaseParams) Validate() error {
	switch {
	case p.StopWait <= 0 || p.StopWait > 6*time.Second:
		return fmt.Errorf("%w: stop_wait %v must be 0…6s", ErrPhaseParams, p.StopWait)
	case p.FTime < 5*time.Second:
		return fmt.Errorf("%w: f_time %v must be at least 5s (the car re-initialises)", ErrPhaseParams, p.FTime)
	case p.Feedback <= 0 || p.Verify <= 0 || p.VerifyAmps <= 0:
		return fmt.Errorf("%w: feedback, verify and verify_amps must be positive", ErrPhaseParams)
	case p.MaxSwitches < 0 || p.MinInterval < 0 || p.DownAfter < 0 || p.UpAfter < 0 || p.UpMargin < 0:
		return fmt.Errorf("%w: max_switches, min_interval, down_after, up_after and up_margin must not be negative", ErrPhaseParams)
	}
	return nil
}

// PhaseRequest is what <base>/phases/set asked for.
type PhaseRequest int8

// Phase requests. PhasesFollow (the default) follows Charge3Phase.
const (
	PhasesFollow PhaseRequest = iota
	Phases1
	Phases3
	PhasesAuto
)

// PhaseStep is where the switch sequence is (Status.PhaseSwitch).
type PhaseStep int8

// The steps of the sequence, in order.
const (
	PhaseIdle      PhaseStep = iota
	PhaseStopping            // PWM withdrawn; waiting for the car to stop and C1 to open
	PhaseFHold               // F driven so the car re-initialises
	PhaseSwitching           // C2 commanded; waiting for its feedback
	PhaseResuming            // PWM offered again; C1 closes on a fresh C
	PhaseVerifying           // charging; meter 1 must show the new phases
)

var phaseStepNames = [...]string{"idle", "stopping", "f_hold", "switching", "resuming", "verifying"}

// String names the step.
func (s PhaseStep) String() string {
	if s < 0 || int(s) >= len(phaseStepNames) {
		return "unknown"
	}
	return phaseStepNames[s]
}

// Errors of SetPhases.
var (
	ErrNoPhaseSwitch  = errors.New("no phase contactor C2 (hardware.phase_switch)")
	ErrAutoNeedsSolar = errors.New("phases auto works only in the solar and minsolar modes")
)

// phaseState is the C2 logic's state.
type phaseState struct {
	step      PhaseStep
	stepAt    time.Time
	want      int // supply phases the switch in progress goes to
	c2        bool
	req       PhaseRequest
	switches  int       // this session
	lastAt    time.Time // last switch began
	latched   bool      // a mismatch: 1p for the rest of the session, no retry
	blocked   bool      // a switch aborted before C2 moved: no more switching this plug-in
	energised bool      // C1 has closed in this plug-in
	// fFrom is when the pilot began showing F to the connected car while
	// C2 moves; zero while no car has seen F in this step.
	fFrom  time.Time
	reason string
	below  time.Time  // auto: the 3p minimum unavailable since
	upWin  meanWindow // auto: the surplus over the last UpAfter, for 1p → 3p
	// longWin is the surplus over the last lastDownSpans × UpAfter: the
	// last switch of a session, from which there is no way back, goes
	// to 1p only on that longer evidence.
	longWin meanWindow
}

var phaseRequestNames = [...]string{"follow", "1", "3", "auto"}

// String names the request as phases/set takes it and the status reports
// it: "follow", "1", "3" or "auto".
func (r PhaseRequest) String() string {
	if r < 0 || int(r) >= len(phaseRequestNames) {
		return "unknown"
	}
	return phaseRequestNames[r]
}

// PhaseRequestNames are the requests phases/set takes, in order.
func PhaseRequestNames() []string { return append([]string(nil), phaseRequestNames[:]...) }

// ParsePhaseRequest reads "follow" (follow Charge3Phase, the default),
// "1", "3" or "auto".
func ParsePhaseRequest(s string) (PhaseRequest, error) {
	switch s {
	case "follow", "FOLLOW", "Follow":
		return PhasesFollow, nil
	case "1":
		return Phases1, nil
	case "3":
		return Phases3, nil
	case "auto", "AUTO", "Auto":
		return PhasesAuto, nil
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return PhasesFollow, fmt.Errorf("phases must be follow, 1, 3 or auto, got %q", s)
}

// SetPhases takes a phases/set request.
func (m *Machine) SetPhases(r PhaseRequest) error {
	if !m.hasC2() {
		return ErrNoPhaseSwitch
	}
	if r == PhasesAuto && !m.mode.Solar() {
		return ErrAutoNeedsSolar
	}
	m.ph.req = r
	return nil
}

// supply is the phases C2 connects, as commanded (3 without C2 when
// Charge3Phase is set).
func (m *Machine) supply() int {
	if !m.hasC2() || m.ph.c2 {
		return 3
	}
	return 1
}

func (m *Machine) setC2(closed bool) {
	m.ph.c2 = closed
	m.board.Phases.Set(closed)
}

// phaseTarget is the supply the request and the policy want now.
func (m *Machine) phaseTarget(now time.Time) int {
	switch {
	case m.ph.latched:
		return 1
	case m.ph.blocked:
		return m.supply()
	case m.ph.req == Phases1:
		return 1
	case m.ph.req == Phases3:
		return 3
	case m.ph.req == PhasesAuto && m.mode.Solar() && m.plugged:
		return m.autoTarget(now)
	case m.set.Charge3Phase:
		return 3
	}
	return 1
}

// autoTarget is the policy: 3p → 1p once the 3p minimum has been
// unavailable for DownAfter; 1p → 3p (only with BothWays) once the 3p
// minimum plus UpMargin has been available for UpAfter.
func (m *Machine) autoTarget(now time.Time) int {
	p := m.p.Phases
	min3 := units.PowerFor(settings.MinCurrent, 3)
	surplus := m.lim.solarW
	if m.lim.stale || !m.lim.active {
		surplus = 0
	}
	cur := m.supply()
	if surplus < min3 {
		if m.ph.below.IsZero() {
			m.ph.below = now
		}
	} else {
		m.ph.below = time.Time{}
	}
	m.ph.upWin.add(now, p.UpAfter, surplus)
	m.ph.longWin.add(now, lastDownSpans*p.UpAfter, surplus)
	switch {
	case !m.ph.energised:
		// Before the first close of the plug-in nothing is interrupted
		// (and nothing counts): start on what the surplus allows now.
		if surplus >= min3+p.UpMargin {
			return 3
		}
		if surplus < min3 {
			return 1
		}
	case cur == 3 && !m.ph.below.IsZero() && now.Sub(m.ph.below) >= p.DownAfter && !(p.BothWays && m.held3(now, min3)):
		// With policy both, not while the mean over UpAfter carries 3p:
		// a long cloud in a sunny spell would spend two of the session's
		// switches on a trip to 1p and back.
		return 1
	case cur == 1 && p.BothWays && m.up3(now, min3) && surplus >= min3:
		// The mean over UpAfter carried 3p with the margin, and 3p is
		// carried now: a switch into a shade would only pause.
		return 3
	}
	return cur
}

// up3 reports whether the surplus over the last UpAfter carried the 3p
// minimum plus UpMargin on average.
func (m *Machine) up3(now time.Time, min3 units.Watts) bool {
	return m.ph.upWin.full(now) && m.ph.upWin.mean() >= min3+m.p.Phases.UpMargin
}

// held3 reports whether, with policy both, 3p should be kept through a
// shade longer than DownAfter. It is while the mean surplus over the
// last UpAfter is at least the 3p minimum less UpMargin (the hysteresis
// band below up3), or more than one phase can take at most (the ceiling
// limitCurrent starts from, and PhaseCurrentLimit on L1): going to 1p
// would then cut charging on average. And the session's last switch, from
// which there is no way back to 3p, goes to 1p only once the mean over
// the last lastDownSpans × UpAfter is below that too: a midday cloud
// must not leave the car on 1p for the afternoon (evcc #2244, #13531).
func (m *Machine) held3(now time.Time, min3 units.Watts) bool {
	a, _ := m.ceiling(now)
	a = min(a, units.Amps(m.set.PhaseCurrentLimit)) // on 1p the whole current is on L1
	keep := min(min3-m.p.Phases.UpMargin, units.PowerFor(a, 1)+1)
	if m.ph.upWin.full(now) && m.ph.upWin.mean() >= keep {
		return true
	}
	if m.ph.switches+1 >= m.p.Phases.MaxSwitches {
		return !m.ph.longWin.full(now) || m.ph.longWin.mean() >= keep
	}
	return false
}

// lastDownSpans is the long window of the last switch, in UpAfter: an
// hour at the default 600 s, longer than a midday overcast spell (half an
// hour still stranded the car on 1p for the afternoon on some of the
// scenario's skies), shorter than an afternoon's decline.
const lastDownSpans = 6

// mayStart applies the per-session limits to a switch with a car
// connected; it sets the reason when they hold it back.
func (m *Machine) mayStart(now time.Time, want int) bool {
	p := m.p.Phases
	switch {
	case m.ph.switches >= p.MaxSwitches:
		m.ph.reason = fmt.Sprintf("switch to %dp held: %d switches this session (max %d)", want, m.ph.switches, p.MaxSwitches)
		return false
	case !m.ph.lastAt.IsZero() && now.Sub(m.ph.lastAt) < p.MinInterval:
		m.ph.reason = fmt.Sprintf("switch to %dp held until %s (≥ %v between switches)", want, m.ph.lastAt.Add(p.MinInterval).UTC().Format("15:04:05"), p.MinInterval)
		return false
	}
	return true
}

// drawing reports meter 1 showing the car drawing at least VerifyAmps on
// a phase (fresh readings only).
func (m *Machine) drawing(now time.Time) bool {
	if !m.meter1OK || now.Sub(m.meter1.At) > 2*time.Second {
		return false
	}
	for _, a := range m.meter1.PhaseCurrent {
		if a >= m.p.Phases.VerifyAmps {
			return true
		}
	}
	return !m.meter1.HasPhases && m.meter1.Power >= units.PowerFor(m.p.Phases.VerifyAmps, 1)
}

// runPhases drives the C2 sequence; it runs in runNormal after the duty
// is chosen and may override it (X1 while stopping, F while C2 moves). It
// reports whether a switch holds the PWM back.
func (m *Machine) runPhases(now time.Time, level Level, fb bool, duty *int) bool {
	if !m.hasC2() {
		return false
	}
	ph, p := &m.ph, m.p.Phases
	c2fb := m.board.Phases.Closed()
	switch ph.step {
	case PhaseIdle:
		want := m.phaseTarget(now)
		if want == m.supply() {
			return false
		}
		if !m.plugged {
			if level == LevelA && m.cp.cand == LevelNone && now.Sub(m.cp.since) >= noCarFor && !m.contactor && !fb {
				// No car: nothing to re-initialise, no session to count.
				m.setC2(want == 3)
				ph.step, ph.stepAt, ph.want = PhaseSwitching, now, want
			}
			return false
		}
		if now.Before(m.wakeUntil) {
			// A wake-up pulse (F, 3–4 s) runs: let it end as the car
			// expects before the switch drives its own F.
			return false
		}
		// Before the first close of the plug-in the car has drawn nothing:
		// the sequence still runs (F re-initialises it) but is no switch
		// of a charging session, so the policy neither holds nor counts it.
		if m.ph.energised {
			if !mayStartPhases(m, now, want) {
				return false
			}
			ph.switches++
			ph.lastAt = now
		}
		ph.step, ph.stepAt, ph.want = PhaseStopping, now, want
		ph.reason = fmt.Sprintf("switching %dp → %dp", m.supply(), want)
		fallthrough
	case PhaseStopping:
		*duty = DutySteady
		if m.contactor || fb {
			return true // runNormal's stop opens C1 (stopWait)
		}
		if m.drawing(now) {
			// C1 reads open and current still flows: never move C2.
			if now.Sub(ph.stepAt) >= p.StopWait+p.Feedback {
				m.phaseAbort(now, "phase switch aborted: current still flows with C1 open; C2 not moved")
			}
			return true
		}
		ph.step, ph.stepAt, ph.fFrom = PhaseFHold, now, time.Time{}
		if m.plugged {
			ph.fFrom = now
		}
		*duty = DutyNegative
		return true
	case PhaseFHold:
		*duty = DutyNegative
		// Since when the connected car has seen F (a car may arrive
		// during a hold begun without one, e.g. after a Reset).
		if !m.plugged {
			ph.fFrom = time.Time{}
		} else if ph.fFrom.IsZero() {
			ph.fFrom = now
		}
		if now.Sub(ph.stepAt) >= p.FTime {
			m.setC2(ph.want == 3)
			ph.step, ph.stepAt = PhaseSwitching, now
		}
		return true
	case PhaseSwitching:
		if c2fb == ph.c2 {
			if !m.plugged {
				ph.step, ph.fFrom = PhaseIdle, time.Time{}
				return false
			}
			// C2 settled with a car connected — also one that arrived while
			// a switch begun without a car, or its fallback, was still
			// moving C2: the car gets a full F before any PWM, as after
			// every switch (invariant 22).
			if ph.fFrom.IsZero() {
				ph.fFrom = now
			}
			// F stays through the step that completes FTime, so the car
			// has seen F from fFrom to the end of this step: ≥ FTime.
			if now.Sub(ph.fFrom) <= p.FTime {
				*duty = DutyNegative
				return true
			}
			ph.step, ph.stepAt, ph.fFrom = PhaseResuming, now, time.Time{}
			ph.reason = fmt.Sprintf("switched to %dp; resuming", ph.want)
			return false
		}
		if !m.plugged {
			ph.fFrom = time.Time{}
		} else {
			*duty = DutyNegative
			if ph.fFrom.IsZero() {
				ph.fFrom = now
			}
		}
		if now.Sub(ph.stepAt) >= p.Feedback {
			m.phaseFail(now, fmt.Sprintf("phase switch fault: C2 feedback reads %s, commanded %s", c2name(c2fb), c2name(ph.c2)))
			if ph.c2 {
				m.setC2(false) // fall back to 1p
			}
			// The sequence now goes to 1p: a restart that begins it again
			// from its stop (takeOver) must not drive C2 back to 3p.
			ph.want = 1
			ph.step, ph.stepAt = PhaseSwitching, now
			if m.plugged {
				*duty = DutyNegative
			}
			return true
		}
		return true
	case PhaseResuming:
		if !m.plugged || !m.session {
			ph.step = PhaseIdle
			return false
		}
		if m.contactor && fb {
			ph.step, ph.stepAt = PhaseVerifying, now
		}
		return false
	case PhaseVerifying:
		m.verifyPhases(now)
		return false
	}
	return false
}

// mayStartPhases: the fallback after a mismatch ignores MinInterval but
// not MaxSwitches.
func mayStartPhases(m *Machine, now time.Time, want int) bool {
	if m.ph.latched {
		if m.ph.switches >= m.p.Phases.MaxSwitches {
			m.endSession(now)
			m.ph.reason += "; session stopped: no switch left to fall back to 1p"
			return false
		}
		return true
	}
	return m.mayStart(now, want)
}

func c2name(closed bool) string {
	if closed {
		return "closed (3p)"
	}
	return "open (1p)"
}

// phaseFail latches a phase-switch fault for the session: 1p from now on,
// no retry, the reason published.
func (m *Machine) phaseFail(now time.Time, why string) {
	m.ph.latched, m.ph.reason = true, why
	m.ph.step, m.ph.stepAt = PhaseIdle, now
}

// verifyPhases checks meter 1 after the re-close: the expected phases
// carry ≥ VerifyAmps, the others less, within Verify.
func (m *Machine) verifyPhases(now time.Time) {
	ph, p := &m.ph, m.p.Phases
	if !m.plugged || !m.session {
		ph.step = PhaseIdle
		return
	}
	if m.set.Meter1Type == settings.MeterNone {
		ph.step, ph.reason = PhaseIdle, fmt.Sprintf("switched to %dp (not verified: no meter 1)", ph.want)
		return
	}
	fresh := m.meter1OK && m.meter1.HasPhases && m.meter1.At.After(ph.stepAt) && now.Sub(m.meter1.At) <= 2*time.Second
	if fresh && m.contactor {
		var in, out int
		for i, a := range m.meter1.PhaseCurrent {
			use := a >= p.VerifyAmps
			switch {
			case use && i < ph.want:
				in++
			case use:
				out++
			}
		}
		if out == 0 && in == ph.want {
			ph.step, ph.reason = PhaseIdle, fmt.Sprintf("switched to %dp, verified on meter 1", ph.want)
			return
		}
		if in+out > 0 && now.Sub(ph.stepAt) >= 10*time.Second {
			m.phaseFail(now, fmt.Sprintf("phase switch fault: %dp expected, meter 1 shows current on %d phase(s)", ph.want, in+out))
			return
		}
	}
	if now.Sub(ph.stepAt) >= p.Verify {
		m.phaseFail(now, fmt.Sprintf("phase switch fault: %dp not confirmed on meter 1 within %v", ph.want, p.Verify))
	}
}

// phaseAbort ends a switch before C2 moved: the phases stay, and no
// switch is tried again this plug-in (no retry loop).
func (m *Machine) phaseAbort(now time.Time, why string) {
	m.ph.blocked, m.ph.reason = true, why
	m.ph.step, m.ph.stepAt = PhaseIdle, now
}

// stopWait is how long runNormal waits for the car to stop before
// opening C1 under load: StopTimeout, or less while a switch stops it.
func (m *Machine) stopWait() time.Duration {
	if m.ph.step == PhaseStopping {
		return min(m.p.StopTimeout, m.p.Phases.StopWait)
	}
	return m.p.StopTimeout
}

// resetPhasesForPlugIn clears the per-plug-in state at the unplug.
func (m *Machine) resetPhasesForPlugIn() {
	m.ph.switches, m.ph.lastAt = 0, time.Time{}
	m.ph.latched, m.ph.blocked, m.ph.energised = false, false, false
	m.ph.below = time.Time{}
	m.ph.upWin.reset()
	m.ph.longWin.reset()
	if m.ph.step != PhaseSwitching {
		m.ph.step = PhaseIdle
	}
}

// phasesActive is what the car may draw on now: C2's feedback with C2,
// else the phases latched at the close (Charge3Phase before it).
func (m *Machine) phasesActive() int {
	if m.hasC2() {
		if m.board.Phases.Closed() {
			return 3
		}
		return 1
	}
	if m.contactor && m.phases > 0 {
		return m.phases
	}
	return m.phasesWanted()
}

// SetPhases takes a phases/set request (follow, 1, 3 or auto) on the loop.
func (c *Controller) SetPhases(r PhaseRequest) error {
	return c.do(func(time.Time) error { return c.m.SetPhases(r) })
}

// abortMargin: a switch whose car still draws is aborted this much before
// the stop timeout, so the PWM comes back before invariant 8's 6 s.
const abortMargin = 250 * time.Millisecond

// noCarFor is how long the pilot must have read A before C2 moves without
// the sequence: a glitch that reads as an unplug for a few samples must
// not let C2 move under a car that is still there.
const noCarFor = time.Second

// hasC2 reports whether 1p/3p switching is in use: C2 configured
// (Params.PhaseSwitch, hardware.phase_switch) and the board has it. A
// board that wires C2 without the configuration never has it driven.
func (m *Machine) hasC2() bool { return m.p.PhaseSwitch && m.board.Phases != nil }
