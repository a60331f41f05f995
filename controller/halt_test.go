package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// TestHaltedStatusIsConsistent: issue 9 item 16. The last snapshot after
// shutdown (what MQTT publishes last, retained) said State "charging" with
// Charging false and the old current. Halted, it says what the hardware
// does: connected, not started, contactor open, pilot steady, no current.
func TestHaltedStatusIsConsistent(t *testing.T) {
	o := newOwnerRig(t)
	v := o.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	o.sim.SetVehicle(v)
	o.run(3 * time.Second)
	if st := o.c.Status(); st.State != StateCharge || !st.Charging() {
		t.Fatalf("not charging before the stop: %+v", st)
	}
	o.stop()
	st := o.c.Status()
	if st.State != StateConnected || st.ChargerStarted || st.ContactorClosed || st.Charging() ||
		st.DutyPermille != DutySteady || st.ActualCurrent != 0 || st.ActualPower != 0 || st.CurrentLimit != 0 {
		t.Fatalf("halted status inconsistent: state %v started %v contactor %v/%v duty %d current %v power %v limit %v",
			st.State, st.ChargerStarted, st.ContactorClosed, st.Charging(), st.DutyPermille, st.ActualCurrent, st.ActualPower, st.CurrentLimit)
	}
	if !strings.HasPrefix(st.Reason, "stopped") {
		t.Fatalf("reason %q", st.Reason)
	}
}

// c2MovesBad returns how the C2 commands since the last look broke
// invariant 21 inside a call, and forgets them.
func (pr *probe) c2MovesBad() []string {
	var bad []string
	for _, mv := range pr.c2Moves {
		if b := mv.bad(); b != "" {
			bad = append(bad, "21 (within one call): "+b)
		}
	}
	pr.c2Moves = pr.c2Moves[:0]
	return bad
}

// endHalts are the ways a property run's sequence ends: the daemon's
// shutdown (Machine.Halt through the loop's halt) with C1 taking that
// long to drop out, or welded. The sequence number picks one, so the
// random source (and every stored seed's run) is left as it was.
var endHalts = []struct {
	dropout time.Duration
	weld    bool
}{{0, false}, {20 * time.Millisecond, false}, {60 * time.Millisecond, false}, {140 * time.Millisecond, false}, {0, true}}

// haltAtEnd shuts the sequence's machine down as the daemon does, in
// whatever state the random run left it (charging, mid-switch, faulted),
// and checks that C1 is open and C2 moved only as invariant 21 allows
// (no later than the bound). A halt is no random event mid-sequence: it
// ends the machine, and going on would need a fresh one taking the car
// over as a process restart does, which the oracle does not model.
func (r *propRig) haltAtEnd(seq int) error {
	h := endHalts[seq%len(endHalts)]
	r.sim.SetContactorDropout(h.dropout)
	if h.weld {
		r.sim.SetFault(sim.FaultWeld)
	}
	r.c2Moves = r.c2Moves[:0]
	r.c.halt(r.now, &r.st)
	bad := r.c2MovesBad()
	if r.cont.cmd {
		bad = append(bad, "C1 still commanded closed")
	}
	if r.c2 != nil && r.c2.cmd {
		bad = append(bad, "C2 not released")
	}
	if len(bad) > 0 {
		return fmt.Errorf("dropout %v weld %v: %s\nrecent events:\n  %s", h.dropout, h.weld, strings.Join(bad, "; "), strings.Join(r.log, "\n  "))
	}
	return nil
}

// c1Dropout is how long the simulated C1 takes to drop out in the halt
// tests: a healthy contactor's mechanical release, well inside the bound.
const c1Dropout = 40 * time.Millisecond

// haltRig is a phase rig charging on 3p (C1 and C2 closed, 16 A on each
// phase) whose C1 then takes c1Dropout to release, or is welded.
func haltRig(t *testing.T, weld bool) *rig {
	r := phaseRig(t, nil)
	r.chargeOn3()
	r.sim.SetContactorDropout(c1Dropout)
	if weld {
		r.sim.SetFault(sim.FaultWeld)
	}
	r.c2Moves = nil
	return r
}

// checkHaltMoves checks the one C2 release a halt made: C1 commanded
// open before it, and C2 released once C1's feedback read open (within
// one poll of the drop-out) or, with C1 welded, exactly at the bound.
func checkHaltMoves(t *testing.T, r *rig, weld bool) {
	t.Helper()
	if len(r.c2Moves) != 1 {
		t.Fatalf("C2 moved %d times in the halt, want once (released): %+v", len(r.c2Moves), r.c2Moves)
	}
	mv := r.c2Moves[0]
	if b := mv.bad(); b != "" {
		t.Fatal(b)
	}
	d := mv.at.Sub(mv.c1OpenAt)
	switch {
	case weld && (!mv.c1fb || d != hw.C1ReleaseTime):
		t.Fatalf("welded C1: C2 released %v after C1 was commanded open (C1 feedback %v), want at %v", d, mv.c1fb, hw.C1ReleaseTime)
	case !weld && (mv.c1fb || d < c1Dropout || d > c1Dropout+hw.C1Poll):
		t.Fatalf("C2 released %v after C1 was commanded open (C1 feedback %v), want within a poll after its %v drop-out", d, mv.c1fb, c1Dropout)
	}
	if r.cont.cmd || r.c2.cmd || r.sim.State().SupplyPhases != 1 {
		t.Fatalf("not safe after the halt: C1 %v C2 %v supply %dp", r.cont.cmd, r.c2.cmd, r.sim.State().SupplyPhases)
	}
}

// TestMachineHaltReleasesC2AfterC1: the daemon's shutdown (Machine.Halt)
// under load opened C1 and released C2 in the same instant, so C2's
// contacts could part before C1's and break the L2/L3 current
// (invariant 21). Now C2 waits for C1's feedback, bounded by
// hw.C1ReleaseTime when C1 is welded.
func TestMachineHaltReleasesC2AfterC1(t *testing.T) {
	for _, weld := range []bool{false, true} {
		t.Run(fmt.Sprintf("weld=%v", weld), func(t *testing.T) {
			r := haltRig(t, weld)
			r.m.Halt(r.now)
			checkHaltMoves(t, r, weld)
		})
	}
}

// TestPanicHaltReleasesC2AfterC1: a panic in the control loop halts the
// board on its way out (haltOnPanic) with the same order and bound, and
// the panic still propagates.
func TestPanicHaltReleasesC2AfterC1(t *testing.T) {
	for _, weld := range []bool{false, true} {
		t.Run(fmt.Sprintf("weld=%v", weld), func(t *testing.T) {
			r := haltRig(t, weld)
			r.c.cmds <- command{f: func(time.Time) error { panic("boom") }, reply: make(chan error, 1)}
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Fatalf("recovered %v, want the loop's panic", p)
					}
				}()
				r.c.Run(context.Background(), nil)
			}()
			checkHaltMoves(t, r, weld)
		})
	}
}
