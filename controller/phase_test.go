package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// phaseRig is a rig whose simulator has the phase contactor C2 and a
// statistics meter (meter 1) read every 500 ms by runMeters.
func phaseRig(t *testing.T, mutate func(*Params, *settings.Settings)) *rig {
	p := DefaultParams()
	p.PhaseSwitch = true
	s := settings.Defaults()
	s.Meter1Type, s.Charge3Phase = settings.MeterRTUSDM72D, true
	if mutate != nil {
		mutate(&p, &s)
	}
	r := &rig{t: t, now: epoch}
	sm := sim.New(epoch)
	sm.SetPhaseSwitch(true)
	r.m = NewMachine(r.wrap(sm), p, s)
	r.c = New(r.m, nil, zerolog.Nop())
	r.guard = &safety{}
	r.step()
	return r
}

// runMeters advances d, reading meter 1 (and, with feed, pushing the grid)
// every 500 ms, and checks the C2 rule after every step: C2 moves only
// with C1 commanded and sensed open and no current.
func (r *rig) runMeters(d time.Duration, feed bool) {
	r.t.Helper()
	for end := r.now.Add(d); r.now.Before(end); {
		wasC2, wasClosed := r.c2.cmd, r.cont.cmd
		r.step()
		if r.c2.cmd != wasC2 && (wasClosed || r.cont.cmd || r.raw.Contactor.Closed() || r.sim.State().EvCurrent > 0) {
			r.t.Fatalf("t=%v: C2 moved with C1 closed or current flowing", r.now.Sub(epoch))
		}
		if r.now.Sub(epoch)%(500*time.Millisecond) == 0 {
			r.m.SetMeter(1, reading(r.now, r.sim.EVPhases()))
			if feed {
				if err := r.m.SetGrid(GridReading{Power: r.sitePower()}, r.now); err != nil {
					r.t.Fatal(err)
				}
			}
		}
	}
}

// untilM steps (with meters) until cond, failing after limit.
func (r *rig) untilM(limit time.Duration, what string, cond func() bool) time.Duration {
	r.t.Helper()
	start := r.now
	for !cond() {
		if r.now.Sub(start) > limit {
			r.t.Fatalf("%s: not within %v (switch %v, reason %q, phase reason %q, duty %d, C1 %v, C2 %v)",
				what, limit, r.st.PhaseSwitch, r.st.Reason, r.st.PhaseReason, r.st.DutyPermille, r.st.ContactorFeedback, r.c2.cmd)
		}
		r.runMeters(tick, false)
	}
	return r.now.Sub(start)
}

func (r *rig) chargeOn3() {
	r.t.Helper()
	r.runMeters(2*time.Second, false) // no car for a while: C2 follows Charge3Phase directly
	if !r.c2.cmd || r.sim.State().SupplyPhases != 3 {
		r.t.Fatalf("no car, Charge3Phase: C2 %v supply %d, want closed, 3p", r.c2.cmd, r.sim.State().SupplyPhases)
	}
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.untilM(15*time.Second, "charging on 3p", func() bool { return r.sim.EVPhases()[2].Current == 16 })
}

// TestPhaseSwitchSequence: phases/set 1 while charging runs the five
// steps in order — PWM withdrawn, C1 open (confirmed), F for ≥ 5 s, C2
// open (confirmed), PWM, C1 closed on a fresh C — and meter 1 verifies
// one phase.
func TestPhaseSwitchSequence(t *testing.T) {
	r := phaseRig(t, nil)
	r.chargeOn3()
	if err := r.m.SetPhases(Phases1); err != nil {
		t.Fatal(err)
	}
	r.runMeters(tick, false)
	if r.st.DutyPermille != DutySteady || r.st.PhaseSwitch != PhaseStopping || r.st.PhaseSwitches != 1 {
		t.Fatalf("step 1: duty %d switch %v count %d", r.st.DutyPermille, r.st.PhaseSwitch, r.st.PhaseSwitches)
	}
	r.untilM(7*time.Second, "C1 open", func() bool { return !r.st.ContactorFeedback })
	r.untilM(time.Second, "F", func() bool { return r.st.DutyPermille == DutyNegative })
	fAt := r.now
	if r.st.PhaseSwitch != PhaseFHold || !r.c2.cmd {
		t.Fatalf("step 3: switch %v, C2 %v (must not move before F)", r.st.PhaseSwitch, r.c2.cmd)
	}
	r.untilM(6*time.Second, "C2 open", func() bool { return !r.c2.cmd })
	if d := r.now.Sub(fAt); d < 5*time.Second || r.st.DutyPermille != DutyNegative {
		t.Fatalf("C2 moved %v into F (duty %d); want ≥ 5 s of F", d, r.st.DutyPermille)
	}
	r.untilM(2*time.Second, "PWM again", func() bool { return IsPWM(r.st.DutyPermille) })
	if r.now.Sub(fAt) < 5*time.Second || r.st.PhaseSwitch != PhaseResuming || r.sim.State().SupplyPhases != 1 {
		t.Fatalf("step 5: after %v of F, switch %v supply %d", r.now.Sub(fAt), r.st.PhaseSwitch, r.sim.State().SupplyPhases)
	}
	r.untilM(5*time.Second, "C1 closed", func() bool { return r.st.ContactorFeedback })
	r.untilM(20*time.Second, "verified", func() bool { return r.st.PhaseSwitch == PhaseIdle })
	ph := r.sim.EVPhases()
	if ph[0].Current != 16 || ph[1].Current != 0 || r.st.PhasesActive != 1 || !strings.Contains(r.st.PhaseReason, "verified") || r.st.PhaseLatched {
		t.Fatalf("after: %+v active %d reason %q latched %v", ph, r.st.PhasesActive, r.st.PhaseReason, r.st.PhaseLatched)
	}
}

// TestPhaseSwitchC2FeedbackWrong: a C2 whose feedback does not follow
// latches a phase-switch fault, commands 1p, keeps F (no charging on an
// unknown supply) and does not try again.
func TestPhaseSwitchC2FeedbackWrong(t *testing.T) {
	r := phaseRig(t, nil)
	r.chargeOn3()
	r.sim.SetFault(sim.FaultC2Stuck)
	if err := r.m.SetPhases(Phases1); err != nil {
		t.Fatal(err)
	}
	r.untilM(20*time.Second, "latched", func() bool { return r.st.PhaseLatched })
	if !strings.Contains(r.st.PhaseReason, "C2 feedback") || r.c2.cmd || r.st.ContactorClosed {
		t.Fatalf("reason %q C2 %v C1 %v", r.st.PhaseReason, r.c2.cmd, r.st.ContactorClosed)
	}
	closings, changes := r.closings, 0
	was := r.c2.cmd
	for i := 0; i < 60; i++ {
		r.runMeters(time.Second, false)
		if r.c2.cmd != was {
			changes++
			was = r.c2.cmd
		}
	}
	if r.closings != closings || changes != 0 || r.st.DutyPermille != DutyNegative || r.st.PhaseSwitches != 1 {
		t.Fatalf("a minute later: %d closings, %d C2 moves, duty %d, %d switches; want none, F held, 1",
			r.closings-closings, changes, r.st.DutyPermille, r.st.PhaseSwitches)
	}
}

// TestPhaseSwitchMismatchFallsBackTo1p: a single-phase car switched to
// 3p shows current on one phase only: the mismatch latches, the charger
// falls back to 1p, and 3p is never energised again in that plug-in.
func TestPhaseSwitchMismatchFallsBackTo1p(t *testing.T) {
	r := phaseRig(t, func(p *Params, s *settings.Settings) { s.Charge3Phase = false; p.Phases.MinInterval = 0 })
	r.runMeters(2*time.Second, false)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.Phases = true, true, 1 })
	r.untilM(15*time.Second, "charging on 1p", func() bool { return r.sim.EVPhases()[0].Current == 16 })
	if err := r.m.SetPhases(Phases3); err != nil {
		t.Fatal(err)
	}
	r.untilM(40*time.Second, "latched", func() bool { return r.st.PhaseLatched })
	if !strings.Contains(r.st.PhaseReason, "3p expected") {
		t.Fatalf("reason %q", r.st.PhaseReason)
	}
	r.untilM(30*time.Second, "back on 1p and charging", func() bool {
		return r.sim.State().SupplyPhases == 1 && r.st.ContactorFeedback && r.st.PhaseSwitch != PhaseStopping && r.st.PhaseSwitch != PhaseFHold
	})
	if err := r.m.SetPhases(Phases3); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 120; i++ {
		r.runMeters(time.Second, false)
		if r.c2.cmd {
			t.Fatalf("t=%v: 3p energised again after a verified mismatch", r.now.Sub(epoch))
		}
	}
	if r.st.PhaseSwitches != 2 {
		t.Fatalf("%d switches; want the one asked and the fallback", r.st.PhaseSwitches)
	}
	// The next plug-in may use 3p again.
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = false })
	r.untilM(5*time.Second, "3p with no car", func() bool { return r.c2.cmd && !r.st.PhaseLatched })
}

// TestPhaseSwitchNotConfirmed: with meter 1 silent after the re-close,
// the switch is not confirmed within Verify: latched, 1p.
func TestPhaseSwitchNotConfirmed(t *testing.T) {
	r := phaseRig(t, func(p *Params, _ *settings.Settings) { p.Phases.MinInterval = 0 })
	r.chargeOn3()
	if err := r.m.SetPhases(Phases1); err != nil {
		t.Fatal(err)
	}
	r.untilM(20*time.Second, "re-closed", func() bool { return r.st.PhaseSwitch == PhaseVerifying })
	// Meter 1 stops answering.
	for r.now.Sub(epoch) < time.Hour && !r.st.PhaseLatched {
		r.step()
	}
	if !strings.Contains(r.st.PhaseReason, "not confirmed") {
		t.Fatalf("reason %q, want not confirmed", r.st.PhaseReason)
	}
}

// TestPhaseSwitchCarKeepsDrawing: a car still drawing when the stop wait
// ends aborts the switch: C1 is not opened under load for it, C2 never
// moves, the PWM returns at the old phases, and no retry follows.
func TestPhaseSwitchCarKeepsDrawing(t *testing.T) {
	r := phaseRig(t, nil)
	r.chargeOn3()
	r.vehicle(func(v *sim.Vehicle) { v.Response = 20 * time.Second })
	if err := r.m.SetPhases(Phases1); err != nil {
		t.Fatal(err)
	}
	r.untilM(7*time.Second, "aborted", func() bool { return strings.Contains(r.st.PhaseReason, "kept drawing") })
	if !r.st.ContactorFeedback || !r.c2.cmd {
		t.Fatalf("C1 %v C2 %v after the abort; want both still closed", r.st.ContactorFeedback, r.c2.cmd)
	}
	r.runMeters(2*time.Minute, false)
	if !r.c2.cmd || r.st.PhaseSwitches != 1 || !IsPWM(r.st.DutyPermille) {
		t.Fatalf("C2 %v, %d switches, duty %d; want 3p kept, no retry, charging", r.c2.cmd, r.st.PhaseSwitches, r.st.DutyPermille)
	}
}

// TestPhasePolicyAuto: in solar with auto, 3p → 1p only after the 3p
// minimum has been missing for 180 s; one-way by default; with both ways,
// 1p → 3p only after 600 s of ≥ 4340 W and ≥ 10 min after the last
// switch; never more than MaxSwitches.
func TestPhasePolicyAuto(t *testing.T) {
	setup := func(both bool) *rig {
		r := phaseRig(t, func(p *Params, s *settings.Settings) {
			s.Meter2Type = settings.MeterGridFeed
			p.Phases.BothWays = both
		})
		if err := r.m.SetMode(ModeSolar, r.now); err != nil {
			t.Fatal(err)
		}
		if err := r.m.SetPhases(PhasesAuto); err != nil {
			t.Fatal(err)
		}
		r.sim.SetBuilding(500, 9000)
		r.runMeters(2*time.Second, true)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.runMeters(90*time.Second, true)
		if r.sim.State().SupplyPhases != 3 || !r.st.ContactorFeedback {
			t.Fatalf("start: supply %d charging %v", r.sim.State().SupplyPhases, r.st.ContactorFeedback)
		}
		return r
	}
	r := setup(false)
	r.sim.SetBuilding(500, 3000) // 2500 W + car: below 4140 W
	r.runMeters(170*time.Second, true)
	if r.st.PhaseSwitches != 0 {
		t.Fatalf("switched after %v below the 3p minimum, before 180 s", 170*time.Second)
	}
	r.runMeters(40*time.Second, true)
	if r.st.PhaseSwitches != 1 {
		t.Fatalf("%d switches 210 s below the 3p minimum; want 1", r.st.PhaseSwitches)
	}
	r.runMeters(time.Minute, true)
	if r.sim.State().SupplyPhases != 1 || !r.st.ContactorFeedback {
		t.Fatalf("supply %d charging %v; want 1p charging", r.sim.State().SupplyPhases, r.st.ContactorFeedback)
	}
	r.sim.SetBuilding(500, 12000)
	r.runMeters(20*time.Minute, true)
	if r.sim.State().SupplyPhases != 1 || r.st.PhaseSwitches != 1 {
		t.Fatalf("one-way: supply %d after 20 min of surplus, %d switches", r.sim.State().SupplyPhases, r.st.PhaseSwitches)
	}

	r = setup(true)
	r.sim.SetBuilding(500, 3000)
	r.runMeters(5*time.Minute, true)
	downAt := r.m.ph.lastAt
	r.sim.SetBuilding(500, 12000)
	for r.st.PhaseSwitches < 2 {
		r.runMeters(time.Second, true)
		if r.now.Sub(downAt) > 30*time.Minute {
			t.Fatal("never back to 3p with both ways")
		}
	}
	if d := r.m.ph.lastAt.Sub(downAt); d < 10*time.Minute {
		t.Fatalf("back to 3p %v after going down; want ≥ 10 min", d)
	}
	// Clouds every few minutes: never more than MaxSwitches this plug-in.
	for i := 0; i < 16; i++ {
		pv := units.Watts(3000)
		if i%2 == 1 {
			pv = 12000
		}
		r.sim.SetBuilding(500, pv)
		r.runMeters(12*time.Minute, true)
	}
	// The last switch goes to 1p only on an hour of evidence (held3): an
	// afternoon's decline. There is no switch left for it.
	r.sim.SetBuilding(500, 3000)
	r.runMeters(70*time.Minute, true)
	if r.st.PhaseSwitches != r.m.p.Phases.MaxSwitches || !strings.Contains(r.st.PhaseReason, "max 4") {
		t.Fatalf("%d switches, reason %q; want held at the maximum", r.st.PhaseSwitches, r.st.PhaseReason)
	}
}

// TestPhaseRestartCarriesTheLatch: Reset keeps C2, the request and a
// latched mismatch, and does not move C2.
func TestPhaseRestartCarriesTheLatch(t *testing.T) {
	r := phaseRig(t, func(p *Params, _ *settings.Settings) { p.Phases.MinInterval = 0 })
	r.chargeOn3()
	r.m.ph.latched, r.m.ph.reason = true, "phase switch fault: test"
	r.untilM(30*time.Second, "1p", func() bool { return r.sim.State().SupplyPhases == 1 && r.st.ContactorFeedback })
	c2 := r.c2.cmd
	r.restart()
	r.untilM(20*time.Second, "restarted and charging", func() bool { return r.c.restart == nil && r.st.ContactorFeedback })
	if !r.st.PhaseLatched || r.c2.cmd != c2 || r.st.PhaseSwitches != 1 {
		t.Fatalf("after Reset: latched %v C2 %v switches %d", r.st.PhaseLatched, r.c2.cmd, r.st.PhaseSwitches)
	}
}

// TestPhaseSwitchFollowsCharge3Phase: changing the vendor's Charge3Phase
// while a car charges (no phases/set request) runs the same switch.
func TestPhaseSwitchFollowsCharge3Phase(t *testing.T) {
	r := phaseRig(t, nil)
	r.chargeOn3()
	s := r.m.Settings()
	s.Charge3Phase = false
	r.m.ApplySettings(s)
	r.untilM(40*time.Second, "verified on 1p", func() bool {
		return r.st.PhaseSwitch == PhaseIdle && r.st.PhaseSwitches == 1 && r.sim.State().SupplyPhases == 1 && r.st.ContactorFeedback
	})
	if ph := r.sim.EVPhases(); ph[1].Current != 0 || ph[0].Current == 0 {
		t.Fatalf("after Charge3Phase off: %+v", ph)
	}
}
