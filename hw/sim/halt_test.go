package sim

import (
	"testing"
	"time"
)

// TestContactorDropout: with a drop-out time C1's feedback reads closed
// for that long after the open command, on the simulation's time, which
// the board's Clock moves on; without one it opens at once.
func TestContactorDropout(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(now)
	b := s.Board()
	b.Contactor.Set(true)
	b.Contactor.Set(false)
	if b.Contactor.Closed() {
		t.Fatal("without a drop-out time C1 did not open at once")
	}
	s.SetContactorDropout(40 * time.Millisecond)
	b.Contactor.Set(true)
	b.Contactor.Set(false)
	b.Clock.Sleep(39 * time.Millisecond)
	if !b.Contactor.Closed() {
		t.Fatal("C1 read open 39 ms into a 40 ms drop-out")
	}
	b.Clock.Sleep(time.Millisecond)
	if b.Contactor.Closed() || !b.Clock.Now().Equal(now.Add(40*time.Millisecond)) {
		t.Fatalf("after the drop-out: closed %v at %v", b.Contactor.Closed(), b.Clock.Now())
	}
}
