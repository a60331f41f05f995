package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Boundaries of the solar modes' and the phase switch's input checks, one
// unit either side of each edge.

func TestPhaseParamsValidateEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*PhaseParams)
		ok   bool
	}{
		{"defaults", func(*PhaseParams) {}, true},
		{"stop_wait 0", func(p *PhaseParams) { p.StopWait = 0 }, false},
		{"stop_wait 1ns", func(p *PhaseParams) { p.StopWait = 1 }, true},
		{"stop_wait 6s", func(p *PhaseParams) { p.StopWait = 6 * time.Second }, true},
		{"stop_wait 6s+1ns", func(p *PhaseParams) { p.StopWait = 6*time.Second + 1 }, false},
		{"f_time 5s", func(p *PhaseParams) { p.FTime = 5 * time.Second }, true},
		{"f_time 5s−1ns", func(p *PhaseParams) { p.FTime = 5*time.Second - 1 }, false},
		{"feedback 0", func(p *PhaseParams) { p.Feedback = 0 }, false},
		{"feedback 1ns", func(p *PhaseParams) { p.Feedback = 1 }, true},
		{"verify 0", func(p *PhaseParams) { p.Verify = 0 }, false},
		{"verify 1ns", func(p *PhaseParams) { p.Verify = 1 }, true},
		{"verify_amps 0", func(p *PhaseParams) { p.VerifyAmps = 0 }, false},
		{"verify_amps 0.5", func(p *PhaseParams) { p.VerifyAmps = 0.5 }, true},
		{"max_switches −1", func(p *PhaseParams) { p.MaxSwitches = -1 }, false},
		{"max_switches 0", func(p *PhaseParams) { p.MaxSwitches = 0 }, true},
		{"min_interval −1ns", func(p *PhaseParams) { p.MinInterval = -1 }, false},
		{"min_interval 0", func(p *PhaseParams) { p.MinInterval = 0 }, true},
		{"down_after −1ns", func(p *PhaseParams) { p.DownAfter = -1 }, false},
		{"down_after 0", func(p *PhaseParams) { p.DownAfter = 0 }, true},
		{"up_after −1ns", func(p *PhaseParams) { p.UpAfter = -1 }, false},
		{"up_after 0", func(p *PhaseParams) { p.UpAfter = 0 }, true},
		{"up_margin −1 W", func(p *PhaseParams) { p.UpMargin = -1 }, false},
		{"up_margin 0", func(p *PhaseParams) { p.UpMargin = 0 }, true},
	} {
		p := DefaultPhaseParams()
		c.edit(&p)
		err := p.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrPhaseParams)) {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// An unknown mode name is quoted whole up to 32 bytes, and cut after 32.
func TestParseModeQuotesAtMost32Bytes(t *testing.T) {
	for _, c := range []struct {
		n   int
		cut bool
	}{{31, false}, {32, false}, {33, true}} {
		s := strings.Repeat("x", c.n)
		_, err := ParseMode(s)
		if !errors.Is(err, ErrMode) {
			t.Fatalf("%d bytes: %v, want ErrMode", c.n, err)
		}
		want := `"` + strings.Repeat("x", min(c.n, 32))
		if c.cut {
			want += "…"
		}
		if !strings.Contains(err.Error(), want+`"`) {
			t.Errorf("%d bytes: %q, want the name quoted as %s\"", c.n, err, want)
		}
	}
}

// SetMode takes exactly the modes there are, on the machine and on the
// controller.
func TestSetModeRange(t *testing.T) {
	r := newRig(t, nil)
	for _, c := range []struct {
		mode Mode
		ok   bool
	}{{-1, false}, {0, true}, {numModes - 1, true}, {numModes, false}} {
		if err := r.m.SetMode(c.mode, r.now); (err == nil) != c.ok {
			t.Errorf("Machine.SetMode(%d): %v, want ok %v", c.mode, err, c.ok)
		}
	}
	o := newOwnerRig(t)
	var saved []Mode
	o.c.SetModeStore(func(m Mode) error { saved = append(saved, m); return nil })
	for _, c := range []struct {
		mode Mode
		ok   bool
	}{{-1, false}, {ModeNow, true}, {numModes - 1, true}, {numModes, false}} {
		done := make(chan error, 1)
		go func() { done <- o.c.SetMode(c.mode) }()
		var err error
		for waiting := true; waiting; {
			select {
			case err = <-done:
				waiting = false
			default:
				o.run(tick) // the loop runs the command on its next step
			}
		}
		if (err == nil) != c.ok {
			t.Errorf("Controller.SetMode(%d): %v, want ok %v", c.mode, err, c.ok)
		}
	}
	if len(saved) != 2 || saved[0] != ModeNow || saved[1] != numModes-1 {
		t.Errorf("persisted %v, want the two valid modes", saved)
	}
}

// An unknown phase request is quoted whole up to 32 bytes, cut after.
func TestParsePhaseRequestQuotesAtMost32Bytes(t *testing.T) {
	for _, n := range []int{32, 33} {
		_, err := ParsePhaseRequest(strings.Repeat("y", n))
		want := `"` + strings.Repeat("y", 32)
		if n > 32 {
			want += "…"
		}
		if err == nil || !strings.Contains(err.Error(), want+`"`) {
			t.Errorf("%d bytes: %v, want the request quoted as %s\"", n, err, want)
		}
	}
}

// SolarImport is 0…100000 W, both ends included.
func TestLimiterParamsSolarImportEdges(t *testing.T) {
	for _, c := range []struct {
		w  units.Watts
		ok bool
	}{{-1, false}, {0, true}, {100_000, true}, {100_001, false}} {
		p := DefaultLimiterParams()
		p.SolarImport = c.w
		if err := p.Validate(); (err == nil) != c.ok {
			t.Errorf("SolarImport %v W: %v, want ok %v", c.w, err, c.ok)
		}
	}
}

// A step whose status equals the last one, at the very same instant or
// with the wall clock exactly wallSkew off the monotonic one, publishes
// nothing new; one more nanosecond of skew does.
func TestSnapshotSameButEdges(t *testing.T) {
	at := time.Now() // with a monotonic reading
	s := &snapshot{st: Status{At: at, State: StateIdle}}
	same := Status{At: at, State: StateIdle}
	if !s.sameBut(&same) {
		t.Error("the same status at the same instant: not the same")
	}
	if !withinSkew(time.Second, time.Second-wallSkew) || !withinSkew(time.Second, time.Second+wallSkew) {
		t.Error("a skew of exactly wallSkew: not within")
	}
	if withinSkew(time.Second, time.Second-wallSkew-1) || withinSkew(time.Second, time.Second+wallSkew+1) {
		t.Error("a skew of wallSkew + 1 ns: within")
	}
}

// autoTarget's surplus edges, exactly at the 3-phase minimum (6 A × 3 ×
// 230 V = 4140 W) and at that plus UpMargin, and its timers at tick
// resolution.
func TestPhaseAutoTargetEdges(t *testing.T) {
	min3 := units.PowerFor(settings.MinCurrent, 3)
	machine := func(t *testing.T, c2, energised bool) *Machine {
		r := phaseRig(t, func(p *Params, _ *settings.Settings) { p.Phases.BothWays = true })
		m := r.m
		m.lim.active, m.lim.stale = true, false
		m.ph.c2, m.ph.energised = c2, energised
		return m
	}
	// hold runs autoTarget with surplus w from epoch to epoch+d (ticks)
	// and returns its last answer.
	hold := func(m *Machine, w units.Watts, d time.Duration) int {
		m.lim.solarW = w
		got := 0
		for at := time.Duration(0); at <= d; at += tick {
			got = m.autoTarget(epoch.Add(time.Hour + at))
		}
		return got
	}
	p := DefaultPhaseParams()
	t.Run("3p at exactly the minimum stays", func(t *testing.T) {
		if got := hold(machine(t, true, true), min3, p.DownAfter+time.Second); got != 3 {
			t.Fatalf("target %d, want 3", got)
		}
	})
	t.Run("3p 1 W under the minimum: 1p after exactly DownAfter", func(t *testing.T) {
		m := machine(t, true, true)
		if got := hold(m, min3-1, p.DownAfter-tick); got != 3 {
			t.Fatalf("target %d one tick before DownAfter, want 3", got)
		}
		if got := m.autoTarget(epoch.Add(time.Hour + p.DownAfter)); got != 1 {
			t.Fatalf("target %d at DownAfter, want 1", got)
		}
	})
	t.Run("1p at exactly minimum + margin: 3p after exactly UpAfter", func(t *testing.T) {
		m := machine(t, false, true)
		if got := hold(m, min3+p.UpMargin, p.UpAfter-tick); got != 1 {
			t.Fatalf("target %d one tick before UpAfter, want 1", got)
		}
		if got := m.autoTarget(epoch.Add(time.Hour + p.UpAfter)); got != 3 {
			t.Fatalf("target %d at UpAfter, want 3", got)
		}
	})
	t.Run("1p 1 W under minimum + margin stays", func(t *testing.T) {
		if got := hold(machine(t, false, true), min3+p.UpMargin-1, p.UpAfter+time.Second); got != 1 {
			t.Fatalf("target %d, want 1", got)
		}
	})
	t.Run("stale or inactive limiter: no surplus", func(t *testing.T) {
		for _, stale := range []bool{true, false} {
			m := machine(t, true, true)
			m.lim.stale, m.lim.active = stale, stale
			if got := hold(m, 3*min3, p.DownAfter); got != 1 {
				t.Errorf("stale %v active %v: target %d after DownAfter, want 1", stale, stale, got)
			}
		}
	})
	t.Run("before the first close", func(t *testing.T) {
		for _, c := range []struct {
			c2   bool
			w    units.Watts
			want int
		}{
			{false, min3 + p.UpMargin, 3},
			{false, min3 + p.UpMargin - 1, 1}, // between: stays as supplied
			{true, min3 + p.UpMargin - 1, 3},
			{true, min3, 3},
			{true, min3 - 1, 1},
		} {
			if got := hold(machine(t, c.c2, false), c.w, 0); got != c.want {
				t.Errorf("supply 3p %v, surplus %v W: target %d, want %d", c.c2, c.w, got, c.want)
			}
		}
	})
}

// mayStart: a switch exactly MinInterval after the last one may start,
// one nanosecond earlier it is held.
func TestPhaseMayStartMinIntervalEdge(t *testing.T) {
	m := phaseRig(t, nil).m
	p := m.p.Phases
	last := epoch.Add(time.Hour)
	m.ph.switches, m.ph.lastAt = 1, last
	if m.mayStart(last.Add(p.MinInterval-1), 3) {
		t.Error("started 1 ns before MinInterval")
	}
	if !m.mayStart(last.Add(p.MinInterval), 3) {
		t.Errorf("held at exactly MinInterval: %q", m.ph.reason)
	}
}

// drawing: only a fresh reading (≤ 2 s old) of a meter that answered
// shows the car drawing; VerifyAmps on a phase is enough.
func TestPhaseDrawingNeedsAValidFreshReading(t *testing.T) {
	m := phaseRig(t, nil).m
	at := epoch.Add(time.Hour)
	va := m.p.Phases.VerifyAmps
	for _, c := range []struct {
		name string
		ok   bool
		age  time.Duration
		amps units.Amps
		want bool
	}{
		{"fresh, VerifyAmps", true, 0, va, true},
		{"fresh, under VerifyAmps", true, 0, va - 0.01, false},
		{"2 s old", true, 2 * time.Second, va, true},
		{"2 s + 1 ns old", true, 2*time.Second + 1, va, false},
		{"meter not answering", false, 0, 10, false},
	} {
		m.meter1OK = c.ok
		m.meter1.At, m.meter1.HasPhases = at, true
		m.meter1.PhaseCurrent = [3]units.Amps{0, c.amps, 0}
		if got := m.drawing(at.Add(c.age)); got != c.want {
			t.Errorf("%s: drawing %v, want %v", c.name, got, c.want)
		}
	}
	// A meter without phase currents: its power, against VerifyAmps on one phase.
	vw := units.PowerFor(va, 1)
	for _, c := range []struct {
		phases bool
		w      units.Watts
		want   bool
	}{{false, vw, true}, {false, vw - 1, false}, {true, 10 * vw, false}} {
		m.meter1OK, m.meter1.At, m.meter1.HasPhases = true, at, c.phases
		m.meter1.PhaseCurrent, m.meter1.Power = [3]units.Amps{}, c.w
		if got := m.drawing(at); got != c.want {
			t.Errorf("phase currents %v, power %v W: drawing %v, want %v", c.phases, c.w, got, c.want)
		}
	}
}

// Only the auto request runs the surplus policy: following Charge3Phase
// in a solar mode with no surplus keeps 3 phases.
func TestPhaseTargetFollowIgnoresTheSurplus(t *testing.T) {
	m := phaseRig(t, nil).m
	m.mode, m.plugged, m.ph.req = ModeSolar, true, PhasesFollow
	m.lim.active, m.lim.solarW = true, 0
	m.ph.c2, m.ph.energised = true, true
	at := epoch.Add(time.Hour)
	for d := time.Duration(0); d <= m.p.Phases.DownAfter+time.Second; d += tick {
		if got := m.phaseTarget(at.Add(d)); got != 3 {
			t.Fatalf("after %v without surplus: target %d, want 3 (Charge3Phase)", d, got)
		}
	}
}

// verifyPhases: which meter 1 readings confirm a switch (fresh: after the
// re-close, at most 2 s old, with phase currents, from a meter that
// answered, the contactor closed), where VerifyAmps counts, and when
// current on a phase not switched in faults it.
func TestPhaseVerifyEdges(t *testing.T) {
	closeAt := epoch.Add(time.Hour)
	va := DefaultPhaseParams().VerifyAmps
	type res int
	const (
		waiting res = iota
		verified
		failed
	)
	for _, c := range []struct {
		name      string
		want      int
		amps      [3]units.Amps
		readAfter time.Duration // reading taken this long after the re-close
		age       time.Duration // now − reading
		ok, ph    bool          // meter answered, has phase currents
		open      bool          // contactor open
		result    res
	}{
		{"1p confirmed", 1, [3]units.Amps{va, 0, 0}, 1, 0, true, true, false, verified},
		{"reading at the re-close instant", 1, [3]units.Amps{va, 0, 0}, 0, 0, true, true, false, waiting},
		{"reading 2 s old", 1, [3]units.Amps{va, 0, 0}, 1, 2 * time.Second, true, true, false, verified},
		{"reading 2 s + 1 ns old", 1, [3]units.Amps{va, 0, 0}, 1, 2*time.Second + 1, true, true, false, waiting},
		{"meter not answering", 1, [3]units.Amps{va, 0, 0}, 1, 0, false, true, false, waiting},
		{"no phase currents", 1, [3]units.Amps{va, 0, 0}, 1, 0, true, false, false, waiting},
		{"contactor open", 1, [3]units.Amps{va, 0, 0}, 1, 0, true, true, true, waiting},
		{"under VerifyAmps", 1, [3]units.Amps{va - 0.01, 0, 0}, 1, 0, true, true, false, waiting},
		{"1p but current on L2 only", 1, [3]units.Amps{0, va, 0}, 1, 0, true, true, false, waiting},
		{"3p confirmed", 3, [3]units.Amps{va, va, va}, 1, 0, true, true, false, verified},
		{"1p, L1 and L2 after 10 s", 1, [3]units.Amps{va, va, 0}, 10 * time.Second, 0, true, true, false, failed},
		{"1p, L1 and L2 before 10 s", 1, [3]units.Amps{va, va, 0}, 10*time.Second - 1, 0, true, true, false, waiting},
		{"no current after 10 s", 1, [3]units.Amps{}, 10 * time.Second, 0, true, true, false, waiting},
		{"not confirmed at Verify", 3, [3]units.Amps{}, DefaultPhaseParams().Verify, 0, true, true, false, failed},
		{"not confirmed 1 ns before Verify", 3, [3]units.Amps{}, DefaultPhaseParams().Verify - 1, 0, true, true, false, waiting},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := phaseRig(t, nil).m
			m.plugged, m.session, m.contactor = true, true, !c.open
			m.ph.step, m.ph.stepAt, m.ph.want, m.ph.latched = PhaseVerifying, closeAt, c.want, false
			m.meter1OK = c.ok
			m.meter1 = hw.MeterReading{At: closeAt.Add(c.readAfter), HasPhases: c.ph, PhaseCurrent: c.amps}
			m.verifyPhases(m.meter1.At.Add(c.age))
			got := waiting
			switch {
			case m.ph.latched:
				got = failed
			case m.ph.step == PhaseIdle:
				got = verified
			}
			if got != c.result {
				t.Fatalf("result %d (step %v, reason %q), want %d", got, m.ph.step, m.ph.reason, c.result)
			}
			if c.name == "1p, L1 and L2 after 10 s" && !strings.Contains(m.ph.reason, "current on 2 phase(s)") {
				t.Fatalf("reason %q, want the 2 phases named", m.ph.reason)
			}
		})
	}
	// Unplugged or no session: the check ends without a verdict.
	for _, c := range []struct{ plugged, session bool }{{false, true}, {true, false}} {
		m := phaseRig(t, nil).m
		m.plugged, m.session, m.contactor = c.plugged, c.session, true
		m.ph.step, m.ph.stepAt, m.ph.want = PhaseVerifying, closeAt, 3
		m.verifyPhases(closeAt.Add(DefaultPhaseParams().Verify))
		if m.ph.step != PhaseIdle || m.ph.latched {
			t.Errorf("plugged %v session %v: step %v latched %v, want idle without a fault", c.plugged, c.session, m.ph.step, m.ph.latched)
		}
	}
}

// runPhases' timing bounds at nanosecond resolution: F held exactly
// FTime before C2 moves; C2's feedback awaited exactly Feedback; a car
// still drawing with C1 open aborts exactly StopWait + Feedback after the
// stop began.
func TestPhaseSequenceTimingEdges(t *testing.T) {
	p := DefaultPhaseParams()
	at := epoch.Add(time.Hour)
	setup := func(t *testing.T, step PhaseStep) *Machine {
		m := phaseRig(t, nil).m
		m.plugged, m.session, m.contactor = true, true, false
		m.ph.step, m.ph.stepAt, m.ph.want, m.ph.c2 = step, at, 1, true
		return m
	}
	run := func(m *Machine, d time.Duration) int {
		duty := DutySteady
		m.runPhases(at.Add(d), LevelB, false, &duty)
		return duty
	}
	t.Run("F hold", func(t *testing.T) {
		m := setup(t, PhaseFHold)
		if run(m, p.FTime-1); m.ph.step != PhaseFHold {
			t.Fatalf("step %v 1 ns before FTime, want f_hold", m.ph.step)
		}
		if duty := run(m, p.FTime); m.ph.step != PhaseSwitching || duty != DutyNegative {
			t.Fatalf("step %v duty %d at FTime, want switching in F", m.ph.step, duty)
		}
	})
	t.Run("C2 feedback", func(t *testing.T) {
		m := setup(t, PhaseSwitching)
		m.setC2(false) // commanded 1p; the board's C2 is made to stick below
		m.ph.stepAt = at
		m.board.Phases = stuckC2{true}
		if run(m, p.Feedback-1); m.ph.latched {
			t.Fatal("failed 1 ns before Feedback")
		}
		if run(m, p.Feedback); !m.ph.latched {
			t.Fatalf("not failed at Feedback: %q", m.ph.reason)
		}
	})
	t.Run("C1 commanded open but its feedback still closed", func(t *testing.T) {
		m := setup(t, PhaseStopping)
		duty := DutySteady
		if m.runPhases(at, LevelB, true, &duty); m.ph.step != PhaseStopping {
			t.Fatalf("step %v with C1's feedback closed, want stopping (no F, C2 unmoved)", m.ph.step)
		}
	})
	t.Run("resuming", func(t *testing.T) {
		m := setup(t, PhaseResuming)
		duty := DutySteady
		m.contactor = true
		if m.runPhases(at, LevelC, false, &duty); m.ph.step != PhaseResuming {
			t.Fatalf("step %v with C1 commanded but no feedback, want resuming", m.ph.step)
		}
		if m.runPhases(at, LevelC, true, &duty); m.ph.step != PhaseVerifying {
			t.Fatalf("step %v with C1 closed and confirmed, want verifying", m.ph.step)
		}
		m = setup(t, PhaseResuming)
		m.session = false
		if m.runPhases(at, LevelB, false, &duty); m.ph.step != PhaseIdle {
			t.Fatalf("step %v with the session ended, want idle", m.ph.step)
		}
	})
	t.Run("still drawing with C1 open", func(t *testing.T) {
		m := setup(t, PhaseStopping)
		m.meter1OK, m.meter1 = true, hw.MeterReading{HasPhases: true, PhaseCurrent: [3]units.Amps{10, 0, 0}}
		m.meter1.At = at.Add(p.StopWait + p.Feedback - 1)
		if run(m, p.StopWait+p.Feedback-1); m.ph.blocked {
			t.Fatal("aborted 1 ns before StopWait + Feedback")
		}
		if run(m, p.StopWait+p.Feedback); !m.ph.blocked {
			t.Fatalf("not aborted at StopWait + Feedback: step %v", m.ph.step)
		}
	})
}

// stuckC2 is a phase contactor whose feedback never moves.
type stuckC2 struct{ closed bool }

func (s stuckC2) Set(bool)     {}
func (s stuckC2) Closed() bool { return s.closed }
func (s stuckC2) Halt()        {}

// After a mismatch the fallback to 1p may use the last switch allowed;
// with none left the session stops.
func TestPhaseFallbackUsesTheLastSwitch(t *testing.T) {
	at := epoch.Add(time.Hour)
	max := DefaultPhaseParams().MaxSwitches
	for _, c := range []struct {
		switches int
		ok       bool
	}{{max - 1, true}, {max, false}} {
		m := phaseRig(t, nil).m
		m.plugged, m.session = true, true
		m.ph.latched, m.ph.switches, m.ph.lastAt = true, c.switches, at
		if got := mayStartPhases(m, at, 1); got != c.ok || m.session != c.ok {
			t.Errorf("%d switches made: may start %v, session %v; want %v", c.switches, got, m.session, c.ok)
		}
	}
}

// With no car, C2 moves to the requested supply once the pilot has read
// A for exactly noCarFor, not before.
func TestPhaseNoCarSwitchAfterExactlyNoCarFor(t *testing.T) {
	at := epoch.Add(time.Hour)
	for _, c := range []struct {
		d    time.Duration
		want PhaseStep
	}{{noCarFor - 1, PhaseIdle}, {noCarFor, PhaseSwitching}} {
		m := phaseRig(t, nil).m
		m.plugged, m.contactor = false, false
		m.ph.step, m.ph.req, m.ph.c2 = PhaseIdle, Phases1, true
		m.cp.level, m.cp.cand, m.cp.since = LevelA, LevelNone, at
		duty := DutySteady
		m.runPhases(at.Add(c.d), LevelA, false, &duty)
		if m.ph.step != c.want {
			t.Errorf("%v after the unplug: step %v, want %v", c.d, m.ph.step, c.want)
		}
	}
}

// A board that wires C2 without the configuration never has it driven,
// and a configuration without the board's C2 has none.
func TestPhaseC2NeedsConfigAndBoard(t *testing.T) {
	if phaseRig(t, func(p *Params, _ *settings.Settings) { p.PhaseSwitch = false }).m.hasC2() {
		t.Error("C2 in use without Params.PhaseSwitch")
	}
	if !phaseRig(t, nil).m.hasC2() {
		t.Error("C2 not in use with the configuration and the board's C2")
	}
	m := phaseRig(t, nil).m
	m.board.Phases = nil
	if m.hasC2() {
		t.Error("C2 in use without the board's C2")
	}
}

// On one phase through C2 the whole current is on L1, so
// PhaseCurrentLimit bounds the offer (and is named as the source); on
// three phases it does not, and a limit equal to the offer changes
// nothing.
func TestPhaseOnePhaseOfferBoundByPhaseCurrentLimit(t *testing.T) {
	for _, c := range []struct {
		threeP  bool
		limit   int
		want    units.Amps
		wantSrc LimitSource
	}{
		{false, 20, 20, SourceHardware},
		{true, 20, 32, SourceConfig},
		{false, 32, 32, SourceConfig},
	} {
		r := phaseRig(t, func(_ *Params, s *settings.Settings) {
			s.ChargeCurrent, s.PhaseCurrentLimit, s.Charge3Phase = 32, c.limit, c.threeP
		})
		r.plugAndCharge()
		r.run(time.Second)
		if r.st.CurrentLimit != c.want || r.st.LimitSource != c.wantSrc {
			t.Errorf("3p %v, PhaseCurrentLimit %d A: limit %v A from %v, want %v A from %v",
				c.threeP, c.limit, r.st.CurrentLimit, r.st.LimitSource, c.want, c.wantSrc)
		}
	}
}

// A Reset during a switch's F hold or C2 move restarts the switch from
// its stop; other steps carry over as they are.
func TestRestartMidSwitchRestartsFromTheStop(t *testing.T) {
	at := epoch.Add(time.Hour)
	for _, c := range []struct {
		from, want PhaseStep
	}{
		{PhaseFHold, PhaseStopping},
		{PhaseSwitching, PhaseStopping},
		{PhaseVerifying, PhaseVerifying},
		{PhaseStopping, PhaseStopping},
	} {
		old := phaseRig(t, nil).m
		old.ph.step, old.ph.stepAt = c.from, epoch
		m := phaseRig(t, nil).m
		m.takeOver(old, at)
		if m.ph.step != c.want {
			t.Errorf("restart in %v: step %v, want %v", c.from, m.ph.step, c.want)
		}
	}
}
