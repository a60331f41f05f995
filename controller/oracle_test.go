package controller

import (
	"math"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// The safety oracle's own reading of ../shared/reference/iec61851.md. The
// invariants judge the machine by these tables and never by the machine's
// Classify, CurrentForDuty, IsPWM, ValidDuty or ppRating, so a bug in
// those cannot hide itself. They are written from the reference, not from
// the code.

// pilotNominal is §1's "CP high" column: the nominal PWM-high voltage of
// each state.
var pilotNominal = [...]struct {
	level Level
	volts float64
}{
	{LevelA, 12}, {LevelB, 9}, {LevelC, 6}, {LevelD, 3}, {LevelE, 0}, {LevelF, -12},
}

// oracleLevel classifies a PWM-high voltage as the nearest nominal level
// (§1: midpoint thresholds between the bands).
func oracleLevel(v units.Volts) Level {
	best, dist := LevelNone, math.Inf(1)
	for _, n := range pilotNominal {
		if d := math.Abs(float64(v) - n.volts); d < dist {
			best, dist = n.level, d
		}
	}
	return best
}

// oracleConnected: B, C and D have a vehicle on the pilot (§1).
func oracleConnected(l Level) bool { return l == LevelB || l == LevelC || l == LevelD }

// oraclePWM reports a duty (permille) that offers current: 10 %…96 % (§2).
func oraclePWM(permille int) bool { return permille >= 100 && permille <= 960 }

// oracleValidDuty is invariant 4: 0 %, 5 %, 100 % or 10…96 %.
func oracleValidDuty(permille int) bool {
	return permille == 0 || permille == 50 || permille == 1000 || oraclePWM(permille)
}

// oracleAmps decodes a duty (permille) into the current it advertises
// (§2: 6–51 A ↔ D = I / 0.6; 51–80 A ↔ D = I / 2.5 + 64); 0 when it
// advertises none.
func oracleAmps(permille int) units.Amps {
	d := float64(permille) / 10 // percent
	switch {
	case !oraclePWM(permille):
		return 0
	case d <= 85: // 51 A × ... = 85 %: the first formula's upper end
		return units.Amps(d * 0.6)
	}
	return units.Amps((d - 64) * 2.5)
}

// ppTable is §4's PP coding: accept range (inclusive) → cable rating.
var ppTable = [...]struct {
	lo, hi float64
	amps   units.Amps
}{
	{75, 150, 63}, {150, 330, 32}, {330, 1000, 20}, {1000, 2200, 13},
}

// oraclePP decodes the PP resistance; 0 is invalid. Where two accept
// ranges meet, the lower rating counts: a reading at an edge must never
// let a thinner cable carry a thicker one's current.
func oraclePP(ohms float64) units.Amps {
	var a units.Amps
	for _, r := range ppTable {
		if ohms >= r.lo && ohms <= r.hi && (a == 0 || r.amps < a) {
			a = r.amps
		}
	}
	return a // NaN and out-of-range match no row
}

// TestOracleTables pins the oracle to the reference's own figures, so the
// oracle is checked against the document, not against the machine.
func TestOracleTables(t *testing.T) {
	// §1: detection bands (J1772 Table A1) fall in their state.
	for _, c := range []struct {
		lo, hi float64
		want   Level
	}{
		{11.40, 12.60, LevelA}, {8.36, 9.56, LevelB}, {5.48, 6.49, LevelC}, {2.62, 3.25, LevelD}, {-12.60, -11.40, LevelF},
	} {
		for v := c.lo; v <= c.hi; v += 0.01 {
			if got := oracleLevel(units.Volts(v)); got != c.want {
				t.Fatalf("oracleLevel(%.2f V) = %v, want %v", v, got, c.want)
			}
		}
	}
	// §2: 6 A ↔ 10 %, 16 A → 26.6 % (rounded down), 51 A ↔ 85 %, 80 A ↔ 96 %.
	for _, c := range []struct {
		permille int
		want     units.Amps
	}{{100, 6}, {266, 15.96}, {850, 51}, {960, 80}, {99, 0}, {961, 0}, {1000, 0}, {50, 0}, {0, 0}} {
		if got := oracleAmps(c.permille); math.Abs(float64(got-c.want)) > 1e-9 {
			t.Errorf("oracleAmps(%d‰) = %v, want %v", c.permille, got, c.want)
		}
	}
	// §4: each nominal Rc and each edge; at a shared edge the thinner cable.
	for _, c := range []struct {
		ohms float64
		want units.Amps
	}{
		{74.9, 0}, {75, 63}, {100, 63}, {150, 32}, {220, 32}, {330, 20}, {680, 20}, {1000, 13}, {1500, 13},
		{2200, 13}, {2200.1, 0}, {math.Inf(1), 0}, {math.NaN(), 0}, {10, 0},
	} {
		if got := oraclePP(c.ohms); got != c.want {
			t.Errorf("oraclePP(%v Ω) = %v, want %v", c.ohms, got, c.want)
		}
	}
}

// TestDecodersAgreeWithReference holds the machine's decoders to the
// oracle's tables over their whole input ranges, edges included: the
// property tests no longer use them, so this is where a wrong band edge
// (issue 9: a 20 A cable read as 32 A at exactly a band edge) shows.
func TestDecodersAgreeWithReference(t *testing.T) {
	for mv := -15000; mv <= 15000; mv++ {
		v := units.Volts(float64(mv) / 1000)
		got, want := Classify(v), oracleLevel(v)
		// The machine may call a level between the bands invalid; it may
		// never call it another valid level.
		if got != want && got != LevelInvalid {
			t.Fatalf("Classify(%.3f V) = %v, the reference says %v", float64(v), got, want)
		}
	}
	for d := 0; d <= 1000; d++ {
		if got, want := CurrentForDuty(d), oracleAmps(d); math.Abs(float64(got-want)) > 1e-9 {
			t.Fatalf("CurrentForDuty(%d‰) = %v, the reference says %v", d, got, want)
		}
		if IsPWM(d) != oraclePWM(d) || ValidDuty(d) != oracleValidDuty(d) {
			t.Fatalf("duty %d‰: IsPWM %v ValidDuty %v, the reference says %v %v", d, IsPWM(d), ValidDuty(d), oraclePWM(d), oracleValidDuty(d))
		}
	}
	for a := 0.0; a <= 90; a += 0.05 {
		d := DutyFor(units.Amps(a))
		if !oracleValidDuty(d) || oracleAmps(d) > units.Amps(a)+1e-9 || a >= 6 && !oraclePWM(d) || a < 6 && oraclePWM(d) {
			t.Fatalf("DutyFor(%.2f A) = %d‰ advertises %v A", a, d, oracleAmps(d))
		}
	}
	edges := []float64{0, 74, 74.99, 75, 75.01, 149.99, 150, 150.01, 329.99, 330, 330.01, 999.99, 1000, 1000.01, 2199.99, 2200, 2200.01, 4700}
	for ohms := 0.0; ohms <= 3000; ohms += 0.5 {
		edges = append(edges, ohms)
	}
	for _, ohms := range edges {
		if got, want := ppRating(ohms), oraclePP(ohms); got != want {
			t.Fatalf("ppRating(%v Ω) = %v, the reference says %v", ohms, got, want)
		}
	}
}
