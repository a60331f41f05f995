package webapi

import (
	"math"
	"testing"
)

// TestLifetimeEnergyNeverDecreases: a single lower value (a 0 after a
// corrupt counter, a NaN) would corrupt Home Assistant's total_increasing
// statistics (SmartEVSE PR #338): the last value repeats instead.
func TestLifetimeEnergyNeverDecreases(t *testing.T) {
	var s Server
	want := []float64{1, 2.5, 2.5, 2.5, 2.5, 3.001}
	for i, wh := range []float64{1000, 2500, 0, math.NaN(), 1500, 3001.2} {
		if got := s.lifetimeKWh(wh); got != want[i] {
			t.Fatalf("reading %d (%v Wh): published %v kWh, want %v", i, wh, got, want[i])
		}
	}
}
