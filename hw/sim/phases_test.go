package sim

import (
	"testing"
	"time"
)

// TestPhaseSwitchSupply: without C2 the supply is 3p; with it, C2 decides,
// the car draws on min(EvPhases, SupplyPhases), SupplyPhases cannot be
// written, and a stuck C2 does not move.
func TestPhaseSwitchSupply(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(now)
	if s.Board().Phases != nil || s.State().SupplyPhases != 3 {
		t.Fatalf("without C2: board has one %v, supply %d", s.Board().Phases != nil, s.State().SupplyPhases)
	}
	s.SetPhaseSwitch(true)
	b := s.Board()
	if b.Phases == nil || s.State().SupplyPhases != 1 {
		t.Fatal("with C2 open: want a PhaseContactor and 1p")
	}
	s.SetVehicle(Vehicle{Plugged: true, RequestCharge: true, MaxCurrent: 16, Phases: 3, CableRating: 32})
	b.Pilot.SetDuty(266)
	b.Contactor.Set(true)
	for i := 0; i < 400; i++ {
		now = now.Add(10 * time.Millisecond)
		s.Tick(now)
	}
	if ph := s.EVPhases(); ph[0].Current != 16 || ph[1].Current != 0 || ph[2].Current != 0 {
		t.Fatalf("1p supply: %+v", ph)
	}
	b.Phases.Set(true)
	if ph := s.EVPhases(); ph[1].Current != 16 || ph[2].Current != 16 || s.State().SupplyPhases != 3 || !b.Phases.Closed() {
		t.Fatalf("3p supply: %+v", ph)
	}
	if bad := s.Update([]byte(`{"SupplyPhases": 1}`)); bad["SupplyPhases"] == "" {
		t.Fatalf("SupplyPhases written: %v", bad)
	}
	if bad := s.Update([]byte(`{"Fault": "c2_stuck"}`)); bad != nil {
		t.Fatal(bad)
	}
	b.Phases.Set(false)
	if !b.Phases.Closed() || s.State().SupplyPhases != 3 {
		t.Fatal("a stuck C2 moved")
	}
}
