package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestEVRangeWindow: without a car meter, the car's draw when the control
// meter read at t is bounded by the currents advertised from t −
// EVResponse until t — not by what was advertised after t, nor long
// before. Advertised: 6 A from 0 s, 10 A from 10 s, 8 A from 11 s, 20 A
// from 12 s, 6 A from 20 s (EVResponse 5 s).
func TestEVRangeWindow(t *testing.T) {
	l := limiter{p: DefaultLimiterParams()}
	at := func(s float64) time.Time { return epoch.Add(time.Duration(s * float64(time.Second))) }
	for _, c := range []struct {
		t float64
		a units.Amps
	}{{0, 6}, {10, 10}, {11, 8}, {12, 20}, {20, 6}} {
		l.track(at(c.t), c.a)
	}
	for _, c := range []struct {
		read   float64
		lo, hi units.Amps
	}{
		{11.5, 6, 10},   // 8 A at the reading; 10 and 6 within 5 s before it; the 20 A came later
		{12.5, 6, 20},   // 20 A at the reading, 6 A until 10 s
		{16.5, 8, 20},   // window from 11.5 s: 8 and 20
		{19, 20, 20},    // only 20 A within 5 s
		{24, 6, 20},     // 6 A now, 20 A until 20 s
		{25, 6, 6},      // the drop at 20 s is EVResponse old: the car has followed it
		{30, 6, 6},      // long settled
		{5, 6, 6},       // before any later change: the first 6 A
		{11, 6, 10},     // exactly at the change to 8 A: the meter may not see it yet
		{10 + 5, 8, 20}, // window [10 s, 15 s]: the change at 10 s is its edge, not in it
	} {
		lo, hi := l.evRange(at(c.read))
		if lo != c.lo || hi != c.hi {
			t.Errorf("reading at %vs: draw bounded %v…%v A, want %v…%v A", c.read, lo, hi, c.lo, c.hi)
		}
	}
}
