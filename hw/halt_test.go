package hw_test

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

var epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// haltEvent is one command a halt gave a contactor: which, when (on the
// board's clock) and what C1's feedback read at that instant.
type haltEvent struct {
	what string
	at   time.Time
	c1fb bool
}

// haltRec wraps a board's contactors and records every open command.
type haltRec struct {
	raw    hw.Board
	events []haltEvent
}

func (r *haltRec) log(what string) {
	r.events = append(r.events, haltEvent{what, r.raw.Clock.Now(), r.raw.Contactor.Closed()})
}

type recC1 struct {
	hw.Contactor
	r *haltRec
}

func (c recC1) Set(closed bool) {
	if !closed {
		c.r.log("c1 open")
	}
	c.Contactor.Set(closed)
}
func (c recC1) Halt() { c.r.log("c1 open"); c.Contactor.Halt() }

type recC2 struct {
	hw.PhaseContactor
	r *haltRec
}

func (c recC2) Set(closed bool) {
	if !closed {
		c.r.log("c2 release")
	}
	c.PhaseContactor.Set(closed)
}
func (c recC2) Halt() { c.r.log("c2 release"); c.PhaseContactor.Halt() }

// loadedBoard is the simulator's board with both contactors closed and
// C1 taking dropout to release, wrapped to record the halt.
func loadedBoard(t *testing.T, dropout time.Duration, fault string) (*sim.Sim, hw.Board, *haltRec) {
	t.Helper()
	s := sim.New(epoch)
	s.SetPhaseSwitch(true)
	s.SetContactorDropout(dropout)
	raw := s.Board()
	raw.Contactor.Set(true)
	raw.Phases.Set(true)
	if fault != "" {
		s.SetFault(fault)
	}
	r := &haltRec{raw: raw}
	b := raw
	b.Contactor = recC1{raw.Contactor, r}
	b.Phases = recC2{raw.Phases, r}
	return s, b, r
}

// TestHaltReleasesC2OnlyOnceC1ReadsOpen: C1 takes 40 ms to drop out
// under load. Halt opens C1 first and releases C2 at the first feedback
// read that shows C1 open — not in the same instant (which broke L2/L3
// current on C2's contacts, invariant 21) and not long after.
func TestHaltReleasesC2OnlyOnceC1ReadsOpen(t *testing.T) {
	const dropout = 40 * time.Millisecond
	s, b, r := loadedBoard(t, dropout, "")
	b.Halt()
	if len(r.events) != 2 || r.events[0].what != "c1 open" || r.events[1].what != "c2 release" {
		t.Fatalf("halt gave %+v, want C1 opened, then C2 released", r.events)
	}
	open, rel := r.events[0], r.events[1]
	if rel.c1fb {
		t.Fatalf("C2 released while C1's feedback read closed, %v after C1 was commanded open", rel.at.Sub(open.at))
	}
	if d := rel.at.Sub(open.at); d < dropout || d > dropout+hw.C1Poll {
		t.Fatalf("C2 released %v after C1 was commanded open, want within [%v, %v]", d, dropout, dropout+hw.C1Poll)
	}
	if s.State().Contactor || b.Phases.Closed() || b.Pilot.Sample().High != 12 {
		t.Fatalf("not safe after Halt: %+v", s.State())
	}
}

// TestHaltBoundedWithWeldedC1: a welded C1 never reads open; Halt
// releases C2 after C1ReleaseTime, not before and not never.
func TestHaltBoundedWithWeldedC1(t *testing.T) {
	_, b, r := loadedBoard(t, 0, sim.FaultWeld)
	b.Halt()
	if len(r.events) != 2 || r.events[1].what != "c2 release" {
		t.Fatalf("halt gave %+v, want C1 opened, then C2 released", r.events)
	}
	if d := r.events[1].at.Sub(r.events[0].at); d != hw.C1ReleaseTime {
		t.Fatalf("C2 released %v after C1 was commanded open, want %v", d, hw.C1ReleaseTime)
	}
	if b.Phases.Closed() {
		t.Fatal("C2 not released after the bound")
	}
}

// TestHaltWithoutC2DoesNotWait: a board without C2 has nothing to wait
// for, even with a welded C1.
func TestHaltWithoutC2DoesNotWait(t *testing.T) {
	s := sim.New(epoch)
	b := s.Board()
	b.Contactor.Set(true)
	s.SetFault(sim.FaultWeld)
	b.Halt()
	if now := b.Clock.Now(); !now.Equal(epoch) {
		t.Fatalf("Halt without C2 waited %v", now.Sub(epoch))
	}
}

// stuckClock never advances: a broken clock must not make a halt (on
// the way out of a panic) block for ever.
type stuckClock struct{ sleeps int }

func (c *stuckClock) Now() time.Time        { return epoch }
func (c *stuckClock) Sleep(d time.Duration) { c.sleeps++ }

func TestWaitOpenBoundedOnStuckClock(t *testing.T) {
	c := &stuckClock{}
	reads := 0
	if hw.WaitOpen(func() bool { reads++; return true }, c) {
		t.Fatal("a C1 that always reads closed read open")
	}
	if max := int(hw.C1ReleaseTime/hw.C1Poll) + 1; reads != max || c.sleeps != max-1 {
		t.Fatalf("%d reads and %d sleeps, want %d and %d", reads, c.sleeps, max, max-1)
	}
}
