package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestEVRangeWalksBack pins evRange, the bounds on the car's draw at a
// control-meter reading from the currents offered in the EVResponse before
// it: it must walk the ring of changes from the newest back (a walk the
// wrong way — the surviving mutant (l.nChg-1-i) → (l.nChg-1+i) — reads
// empty or stale slots, and the bounds during a ramp come out too narrow:
// the site or a phase limit can then be exceeded).
func TestEVRangeWalksBack(t *testing.T) {
	sec := time.Second
	l := limiter{p: DefaultLimiterParams()} // EVResponse 5 s
	// Offered 10 A at 0 s, 16 A at 1 s, 8 A at 2 s, 12 A at 3 s (and still at 4 s).
	for i, a := range []units.Amps{10, 16, 8, 12, 12} {
		l.track(epoch.Add(time.Duration(i)*sec), a)
	}
	for _, c := range []struct {
		at     time.Duration
		lo, hi units.Amps
	}{
		// The window [at − 5 s, at] holds every change: from 0 A (before
		// the first offer) up to 16 A.
		{4 * sec, 0, 16},
		// Read between changes: the meter saw 8 A; 16, 10 and 0 A before
		// it are within EVResponse.
		{2500 * time.Millisecond, 0, 16},
		// Two changes came after the reading: it saw 16 A.
		{1500 * time.Millisecond, 0, 16},
		// Only the last change (8 → 12 A at 3 s) is within 5 s of 7.5 s.
		{7500 * time.Millisecond, 8, 12},
		// Long after: the car draws what it is offered now.
		{20 * sec, 12, 12},
	} {
		if lo, hi := l.evRange(epoch.Add(c.at)); lo != c.lo || hi != c.hi {
			t.Errorf("evRange(%v) = [%v, %v], want [%v, %v]", c.at, lo, hi, c.lo, c.hi)
		}
	}

	// Past the ring's 32 slots: offers 6…15 A, one a second, 40 changes.
	l = limiter{p: DefaultLimiterParams()}
	for k := range 40 {
		l.track(epoch.Add(time.Duration(k)*sec), units.Amps(6+k%10))
	}
	// At 39 s the window [34 s, 39 s] holds the changes at 35…39 s (to
	// 11…15 A), and before the one at 35 s the car was offered 10 A.
	if lo, hi := l.evRange(epoch.Add(39 * sec)); lo != 10 || hi != 15 {
		t.Errorf("after the ring wrapped: evRange = [%v, %v], want [10, 15]", lo, hi)
	}
	// A reading at 36.5 s saw 12 A; the window [31.5 s, 36.5 s] adds the
	// offers before the changes at 32…36 s (7…11 A).
	if lo, hi := l.evRange(epoch.Add(36500 * time.Millisecond)); lo != 7 || hi != 12 {
		t.Errorf("after the ring wrapped, read mid-ramp: evRange = [%v, %v], want [7, 12]", lo, hi)
	}
}
