package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

func caseB(method int) func(*Params, *settings.Settings) {
	return func(p *Params, s *settings.Settings) { s.ChargerMode, s.LockMethod = settings.ModeCaseB, method }
}

func faultIs(f Fault) func(*rig) string {
	return func(r *rig) string {
		if r.st.Fault != f {
			return fmt.Sprintf("fault %q, want %q", r.st.Fault, f)
		}
		return ""
	}
}

func locked(b bool) func(*rig) string {
	return func(r *rig) string {
		if r.sim.State().Locked != b {
			return fmt.Sprintf("lock %v, want %v", r.sim.State().Locked, b)
		}
		return ""
	}
}

// TestSeriesVentilation: D charges only where the site ventilates.
func TestSeriesVentilation(t *testing.T) {
	vent := func(on bool) func(*rig) {
		return func(r *rig) { r.vehicle(func(v *sim.Vehicle) { v.Ventilation = on }) }
	}
	r := newRig(t, nil)
	series(t, r, []tstep{
		{"no ventilation: D never closes", both(vent(true), plug(32, true)), 10 * time.Second, want{state: StateVent, duty: anyDuty, closed: no,
			check: reasonHas("ventilation")}},
		{"EV drops ventilation: C closes", vent(false), 1500 * ms, want{state: StateCharge, duty: 266, closed: yes}},
		{"EV asks for ventilation under load: open within 100 ms", vent(true), 100 * ms, want{state: StateVent, duty: anyDuty, closed: no}},
	})
	r = newRig(t, func(p *Params, s *settings.Settings) { p.Ventilation = true })
	series(t, r, []tstep{
		{"ventilated site: D closes", both(vent(true), plug(32, false)), time.Second, want{state: StateConnected, duty: 266, closed: no}},
		{"EV ready in D", request(true), 200 * ms, want{state: StateVent, duty: 266, closed: no}},
		{"closed once D is stable", nil, 300 * ms, want{state: StateVent, duty: 266, closed: yes}},
		{"D ends: open within 100 ms", request(false), 100 * ms, want{state: StateConnected, duty: 266, closed: no}},
	})
}

// TestSeriesWakeUp: an EV that sleeps through B2 for 30 s is woken by
// 3–4 s of F, once per plug-in, again after a new Start.
func TestSeriesWakeUp(t *testing.T) {
	r := newRig(t, nil)
	asleep := func(r *rig) {
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.Asleep = true, true, true })
	}
	series(t, r, []tstep{
		{"asleep EV in B2", asleep, 29900 * ms, want{state: StateConnected, duty: 266, closed: no}},
		{"30 s of B2: F", nil, 200 * ms, want{state: StateConnected, duty: DutyNegative, closed: no, check: faultIs(FaultNone)}},
		{"F still at 3.4 s", nil, 3200 * ms, want{state: StateConnected, duty: DutyNegative, closed: no}},
		{"PWM back after 3.5 s; EV woke and charges", nil, 1500 * ms, want{state: StateCharge, duty: 266, closed: yes}},
	})
	// Once per plug-in: an EV that is awake but not ready stays in B2.
	r = newRig(t, nil)
	pulses := 0
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
	count := func(d time.Duration) {
		for end := r.now.Add(d); r.now.Before(end); {
			was := r.st.DutyPermille
			r.step()
			if r.st.DutyPermille == DutyNegative && was != DutyNegative {
				pulses++
			}
		}
	}
	count(3 * time.Minute)
	if pulses != 1 {
		t.Fatalf("%d wake-up pulses in 3 min of B2, want 1", pulses)
	}
	stop(r)
	r.run(time.Second)
	start(r)
	count(time.Minute)
	if pulses != 2 {
		t.Fatalf("%d wake-up pulses after a new Start, want 2", pulses)
	}
	unplug(r)
	r.run(time.Second)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
	count(time.Minute)
	if pulses != 3 {
		t.Fatalf("%d wake-up pulses after a new plug-in, want 3", pulses)
	}
}

// TestSeriesFaults covers each fault's detection, F hold and recovery as
// documented on type Fault.
func TestSeriesFaults(t *testing.T) {
	t.Run("diode short clears on unplug", func(t *testing.T) {
		r := newRig(t, nil)
		series(t, r, []tstep{
			{"shorted diode: never closes", both(fault(sim.FaultDiodeShort), plug(32, true)), 70 * ms, want{state: StateDiodeErr, duty: DutyNegative, closed: no}},
			{"F held", nil, 250 * ms, want{state: StateDiodeErr, duty: DutyNegative, closed: no}},
			{"then X1", nil, 300 * ms, want{state: StateDiodeErr, duty: DutySteady, closed: no}},
			{"diode repaired, still plugged: held", fault(sim.FaultNone), 10 * time.Second, want{state: StateDiodeErr, duty: DutySteady, closed: no}},
			{"unplug clears", unplug, 100 * ms, want{state: StateIdle, duty: DutySteady, check: faultIs(FaultNone)}},
			{"replug charges", plug(32, true), 2 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
			{"diode fails under load: open and F at once", fault(sim.FaultDiodeShort), 30 * ms, want{state: StateDiodeErr, duty: DutyNegative, closed: no}},
		})
	})
	t.Run("CP short (E) clears when the pilot reads valid", func(t *testing.T) {
		r := newRig(t, nil)
		r.plugAndCharge()
		series(t, r, []tstep{
			{"CP shorted under load", fault(sim.FaultCPShort), 30 * ms, want{state: StateErrE, duty: DutyNegative, closed: no, started: yes}},
			{"F at 290 ms", nil, 260 * ms, want{state: StateErrE, duty: DutyNegative, closed: no}},
			{"X1 after the hold, still E", nil, time.Second, want{state: StateErrE, duty: DutySteady, closed: no}},
			{"short removed: back to charging", fault(sim.FaultNone), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		})
	})
	t.Run("general error on an implausible level clears on unplug", func(t *testing.T) {
		r := newRig(t, nil)
		r.plugAndCharge()
		series(t, r, []tstep{
			{"a 5 ms spike is ignored", func(r *rig) { r.pilot.glitch, r.pilot.glitchN = -5, 1 }, 100 * ms, want{state: StateCharge, duty: 266, closed: yes}},
			{"−5 V for 50 ms", func(r *rig) { r.pilot.glitch, r.pilot.glitchN = -5, 5 }, 100 * ms, want{state: StateGeneralErr, duty: DutyNegative, closed: no}},
			{"held while plugged", nil, 20 * time.Second, want{state: StateGeneralErr, duty: DutySteady, closed: no}},
			{"unplug clears", unplug, 100 * ms, want{state: StateIdle, duty: DutySteady, check: faultIs(FaultNone)}},
		})
	})
	t.Run("EPO opens at once, clears on release, session stopped", func(t *testing.T) {
		r := newRig(t, nil)
		r.plugAndCharge()
		fault(sim.FaultEPO)(r)
		r.step()
		if r.sim.State().Contactor || r.st.DutyPermille != DutyNegative || r.st.State != StateEPO {
			t.Fatalf("one step after EPO: contactor %v duty %d state %v", r.sim.State().Contactor, r.st.DutyPermille, r.st.State)
		}
		if err := r.start(); err != nil {
			t.Fatalf("Start of a started session during EPO: %v (idempotent)", err)
		}
		series(t, r, []tstep{
			{"held while pressed", nil, time.Minute, want{state: StateEPO, duty: DutySteady, closed: no}},
			{"released: session stopped", fault(sim.FaultNone), 500 * ms, want{state: StateConnected, duty: DutySteady, closed: no, started: no}},
			{"Start resumes", start, 2 * time.Second, want{state: StateCharge, duty: 266, closed: yes, started: yes}},
		})
		fault(sim.FaultEPO)(r)
		r.run(time.Second)
		if err := r.m.Stop(r.now); err != nil || r.m.Start(r.now) != ErrFaulted {
			t.Errorf("during EPO: Stop %v, Start must be ErrFaulted", err)
		}
	})
	t.Run("weld latched until Reset", func(t *testing.T) {
		r := newRig(t, nil)
		r.plugAndCharge()
		reset := func(r *rig) { r.restart() }
		series(t, r, []tstep{
			{"contacts weld under load", fault(sim.FaultWeld), time.Second, want{state: StateCharge, duty: 266, closed: yes}},
			{"EV stops, open commanded, output stays live: relay error", request(false), 600 * ms, want{state: StateRelayErr, duty: anyDuty,
				closed: yes, check: faultIs(FaultWeld)}},
			{"no PWM ever", nil, time.Minute, want{state: StateRelayErr, duty: DutySteady, closed: yes}},
			{"Reset while still welded: the fresh controller finds the weld again", reset, 100 * ms, want{state: StateRelayErr,
				duty: DutyNegative, check: faultIs(FaultWeld)}},
			{"… and latches it", nil, time.Minute, want{state: StateRelayErr, duty: DutySteady, closed: yes, check: faultIs(FaultWeld)}},
			{"weld gone: still latched, even across unplug", both(fault(sim.FaultNone), unplug), 5 * time.Minute, want{state: StateRelayErr,
				duty: DutySteady, closed: no, check: faultIs(FaultWeld)}},
			{"Reset clears", reset, 100 * ms, want{state: StateIdle, duty: DutySteady, closed: no, check: faultIs(FaultNone)}},
			{"charges again after the restart hold", plug(32, true), RestartHold + 2*time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		})
	})
	t.Run("weld found at start-up", func(t *testing.T) {
		r := newRig(t, nil)
		fault(sim.FaultWeld)(r)
		r.run(100 * ms)
		if r.st.State != StateRelayErr || r.st.DutyPermille != DutyNegative {
			t.Fatalf("state %v duty %d, want relay error in F", r.st.State, r.st.DutyPermille)
		}
	})
	t.Run("relay fails to close: retries, then holds until unplug", func(t *testing.T) {
		r := newRig(t, nil)
		p := r.m.p
		series(t, r, []tstep{
			{"relay never closes", both(fault(sim.FaultRelayOpen), plug(32, true)), 2 * time.Second, want{state: StateRelayErr,
				duty: DutySteady, closed: no, check: all(faultIs(FaultRelayOpen), closings(1))}},
			{"retries every RelayRetry", nil, time.Duration(p.RelayTries) * (p.RelayRetry + 5*time.Second), want{state: StateRelayErr,
				duty: anyDuty, closed: no, check: closings(1 + p.RelayTries)}},
			{"then holds", nil, 10 * time.Minute, want{state: StateRelayErr, duty: DutySteady, closed: no, check: closings(1 + p.RelayTries)}},
			{"relay repaired: still held while plugged", fault(sim.FaultNone), 2 * time.Minute, want{state: StateRelayErr, duty: DutySteady,
				check: closings(1 + p.RelayTries)}},
			{"unplug clears", unplug, 100 * ms, want{state: StateIdle, duty: DutySteady, check: faultIs(FaultNone)}},
			{"replug charges", plug(32, true), 2 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		})
	})
	t.Run("relay retry succeeds", func(t *testing.T) {
		r := newRig(t, nil)
		series(t, r, []tstep{
			{"relay never closes", both(fault(sim.FaultRelayOpen), plug(32, true)), 2 * time.Second, want{state: StateRelayErr, duty: DutySteady}},
			{"repaired: next retry charges", fault(sim.FaultNone), 35 * time.Second, want{state: StateCharge, duty: 266, closed: yes, started: yes}},
		})
	})
	t.Run("reset without a fault leaves a wake-up pulse alone", func(t *testing.T) {
		r := newRig(t, nil)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
		r.until(time.Minute, "wake-up", func() bool { return r.st.DutyPermille == DutyNegative })
		r.run(time.Second)
		r.restart()
		r.run(2 * time.Second)
		if r.st.DutyPermille != DutyNegative {
			t.Fatalf("Reset cut the wake-up pulse short: duty %d", r.st.DutyPermille)
		}
	})
}

// TestSeriesCaseB covers the Case B socket: PP coding as a limit and as a
// fault, and the cable lock.
func TestSeriesCaseB(t *testing.T) {
	t.Run("PP rating limits the current", func(t *testing.T) {
		r := newRig(t, caseB(0))
		series(t, r, []tstep{
			{"13 A cable, 16 A setting", plug(13, true), 3 * time.Second, want{state: StateCharge, duty: 216, closed: yes,
				check: all(limitIs(13, SourceCable), locked(true), func(r *rig) string {
					if r.st.PPCodedCurrent != 13 {
						return fmt.Sprintf("PPCodedCurrent %v", r.st.PPCodedCurrent)
					}
					return ""
				})}},
			{"unplug: idle without a PP error, unlocked", unplug, time.Second, want{state: StateIdle, duty: DutySteady, closed: no,
				check: all(faultIs(FaultNone), locked(false))}},
			{"63 A cable: the setting limits", plug(63, true), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes, check: limitIs(16, SourceConfig)}},
		})
	})
	t.Run("unplugging never flashes a PP error", func(t *testing.T) {
		r := newRig(t, caseB(0))
		r.plugAndCharge()
		unplug(r)
		for i := 0; i < 50; i++ {
			r.step()
			if r.st.Fault != FaultNone {
				t.Fatalf("fault %q while unplugging", r.st.Fault)
			}
		}
	})
	for _, f := range []string{sim.FaultPPOpen, sim.FaultPPShort, "invalid coding"} {
		t.Run("PP "+f, func(t *testing.T) {
			r := newRig(t, caseB(0))
			bad := fault(f)
			if f == "invalid coding" {
				bad = func(r *rig) { r.vehicle(func(v *sim.Vehicle) { v.CableRating = 0 }) }
			}
			series(t, r, []tstep{
				{"bad PP: no PWM, never closed", both(plug(32, true), bad), 30 * ms, want{state: StatePPErr, duty: DutyNegative, closed: no}},
				{"held", nil, 10 * time.Second, want{state: StatePPErr, duty: DutySteady, closed: no, check: closings(0)}},
				{"PP valid again clears", both(fault(sim.FaultNone), plug(32, true)), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
				{"bad PP under load: open at once", bad, 30 * ms, want{state: StatePPErr, duty: DutyNegative, closed: no}},
				{"unplug during the F hold clears after it", unplug, 600 * ms, want{state: StateIdle, duty: DutySteady, check: faultIs(FaultNone)}},
			})
		})
	}
	t.Run("Case C ignores PP", func(t *testing.T) {
		r := newRig(t, nil)
		series(t, r, []tstep{
			{"no cable coding in Case C", plug(0, true), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		})
	})
	for _, method := range []int{0, 1} {
		t.Run(fmt.Sprintf("lock confirmed before closing, method %d", method), func(t *testing.T) {
			r := newRig(t, caseB(method))
			plug(32, true)(r)
			r.until(10*time.Second, "closed", func() bool { return r.sim.State().Contactor })
			if !r.sim.State().Locked {
				t.Fatal("contactor closed before the lock confirmed")
			}
			request(false)(r)
			r.run(time.Second)
			if !r.sim.State().Locked {
				t.Fatal("unlocked while plugged with a session")
			}
			stop(r)
			r.run(2 * time.Second)
			if r.sim.State().Locked || r.st.Locked {
				t.Fatal("still locked after the session stopped with the contactor open")
			}
		})
	}
	t.Run("lock jam: LOCK_ERR after the attempts, clears on unplug", func(t *testing.T) {
		r := newRig(t, caseB(1))
		p := r.m.p
		tries := time.Duration(p.LockAttempts)*p.LockTimeout + time.Duration(p.LockAttempts-1)*p.LockRetry
		series(t, r, []tstep{
			{"jammed lock: no PWM while unlocked", both(fault(sim.FaultLockJam), plug(32, true)), tries - 200*ms, want{state: StateConnected,
				duty: DutySteady, closed: no, check: all(reasonHas("lock"), locked(false))}},
			{"lock error after the last attempt, in F", nil, 300 * ms, want{state: StateLockErr, duty: DutyNegative, closed: no}},
			{"held", nil, time.Minute, want{state: StateLockErr, duty: DutySteady, closed: no, check: closings(0)}},
			{"unplug clears", both(fault(sim.FaultNone), unplug), 100 * ms, want{state: StateIdle, duty: DutySteady, check: faultIs(FaultNone)}},
			{"lock works again", plug(32, true), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes, check: locked(true)}},
		})
	})
	t.Run("lock lost under load", func(t *testing.T) {
		r := newRig(t, caseB(0))
		r.plugAndCharge()
		r.sim.Board().Lock.Set(false, 0) // someone forces the lock open
		r.run(300 * ms)
		if r.st.Fault != FaultLock || r.sim.State().Contactor {
			t.Fatalf("fault %q contactor %v after losing the lock under load", r.st.Fault, r.sim.State().Contactor)
		}
	})
}

// TestSeriesPause: below 6 A the EVSE pauses in X1, never advertises less.
func TestSeriesPause(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) {
		s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "192.0.2.7"
	})
	lease := func(w float64) func(*rig) {
		return func(r *rig) {
			if err := r.m.SetSupervisorPower(unitsW(w), r.now); err != nil {
				r.t.Fatal(err)
			}
			r.noteLease(unitsW(w), r.now)
		}
	}
	series(t, r, []tstep{
		{"11 kW lease: 15 A", both(lease(11000), plug(32, true)), 3 * time.Second, want{state: StateCharge, duty: 250, closed: yes}},
		{"3 kW lease (4.3 A): pause in X1", lease(3000), 10 * ms, want{state: StateCharge, duty: DutySteady, closed: yes,
			check: reasonHas("paused")}},
		{"EV stops: open", nil, 3 * time.Second, want{state: StateConnected, duty: DutySteady, closed: no}},
	})
}

// TestStateEnumeration: the twelve vendor states keep their numbers and
// names, and every fault reports as one of them. (That every state is
// reached is checked by the property run, which fails when one never is.)
func TestStateEnumeration(t *testing.T) {
	if len(StateNames()) != 12 || StateLockErr != 11 || StateWaiting != 0 {
		t.Fatalf("EvseState enumeration changed: %v", StateNames())
	}
	for f := FaultEPO; f <= FaultLock; f++ {
		if f.State() == StateWaiting || f.String() == "" {
			t.Errorf("fault %d has no state or text", f)
		}
	}
	for s := StateWaiting; s < numStates; s++ {
		if s.String() == "unknown" || s.VendorName() == "unknown" {
			t.Errorf("state %d unnamed", s)
		}
	}
}
