package hw

import "time"

// C1ReleaseTime bounds how long a halt waits for the main contactor C1's
// feedback to read open before it releases the phase contactor C2.
//
// C2 switches L2/L3 behind C1, so it must never break current itself
// (invariant 21, iec61851.md §7): a halt opens C1 first and releases C2
// only once C1's feedback reads open. The contactors used for 16–32 A
// (AC-1/AC-3 modular contactors) drop out 10–50 ms after their coil is
// de-energised, and the auxiliary (feedback) contact follows the main
// poles within a few ms; 150 ms is three times the slowest of those, so
// a healthy C1 has broken its arc well before C2 moves, and it stays
// short enough for a dying process (a panic) to get there. A C1 whose
// feedback still reads closed after it (a weld) gets C2 released anyway:
// the pilot is steady by then, so the car is already stopping.
const C1ReleaseTime = 150 * time.Millisecond

// C1Poll is how often a halt reads C1's feedback while it waits.
const C1Poll = 5 * time.Millisecond

// Clock is what a halt waits with: the wall clock on a charger
// (WallClock), the simulator's or a test's virtual time elsewhere.
type Clock interface {
	Now() time.Time
	// Sleep lets d pass.
	Sleep(d time.Duration)
}

type wallClock struct{}

func (wallClock) Now() time.Time        { return time.Now() }
func (wallClock) Sleep(d time.Duration) { time.Sleep(d) }

// WallClock is the real clock; a Board without a Clock uses it.
var WallClock Clock = wallClock{}

// WaitOpen returns once closed reports false (C1's feedback reads open)
// or C1ReleaseTime has passed on clk, reading every C1Poll; it reports
// whether C1 read open. It never blocks for longer than the bound, also
// with a clock that does not advance: it reads at most
// C1ReleaseTime/C1Poll+1 times. A nil clk is the wall clock.
func WaitOpen(closed func() bool, clk Clock) bool {
	if clk == nil {
		clk = WallClock
	}
	end := clk.Now().Add(C1ReleaseTime)
	for polls := 0; closed(); polls++ {
		left := end.Sub(clk.Now())
		if left <= 0 || polls >= int(C1ReleaseTime/C1Poll) {
			return false
		}
		clk.Sleep(min(C1Poll, left))
	}
	return true
}
