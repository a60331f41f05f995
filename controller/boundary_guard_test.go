package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestClosingGuardRechecksLockAndPP: the last check before closing (Case
// B) refuses when the lock was not commanded, its feedback reads open, or
// the PP coding is invalid — on the very step it would close. runNormal
// already withdraws the PWM in those cases on an earlier read, so only a
// direct call shows the guard itself (defence in depth against a lock or
// PP contact that changes between two reads of one step).
func TestClosingGuardRechecksLockAndPP(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, func(_ *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	cAt := b.until(5*time.Second, "level C", func() bool { return b.st.Level == LevelC })
	for b.now.Before(cAt.Add(p.CStable - tick)) {
		b.step()
	}
	closeAt := b.now.Add(tick)
	if b.closed || !b.m.mayClose(closeAt) {
		t.Fatalf("contactor %v, guard %v one tick before CStable; want open and a guard that lets it close", b.closed, b.m.mayClose(closeAt))
	}
	b.lockLost = true
	if b.m.mayClose(closeAt) {
		t.Error("guard closes with the lock feedback open")
	}
	b.lockLost = false
	b.m.lockCmd = false
	if b.m.mayClose(closeAt) {
		t.Error("guard closes with the lock not commanded")
	}
	b.m.lockCmd = true
	b.ohms, b.ppFixed = inf, true
	if b.m.mayClose(closeAt) {
		t.Error("guard closes with the PP open")
	}
	b.ppFixed = false
	b.step()
	if !b.closed || b.closedAt != closeAt {
		t.Fatalf("contactor %v at %v; want closed at CStable", b.closed, b.closedAt.Sub(cAt))
	}
}

// TestNoCloseOnEndingLevel: a car that withdraws its request on the very
// tick C would have been stable long enough does not get the contactor:
// the raw pilot already disagrees with the debounced C.
func TestNoCloseOnEndingLevel(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	cAt := b.until(5*time.Second, "level C", func() bool { return b.st.Level == LevelC })
	for b.now.Before(cAt.Add(p.CStable - tick)) {
		b.step()
	}
	b.vehicle(func(v *simVehicle) { v.RequestCharge = false })
	b.never(time.Second, "contactor closed on a C that was ending", func() bool { return b.closed })
	if b.st.Level != LevelB {
		t.Fatalf("level %v, want B", b.st.Level)
	}
}
