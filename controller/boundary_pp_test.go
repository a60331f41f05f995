package controller

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// ppBands is iec61851.md §4, written out here rather than taken from the
// code: < 75 Ω short, 75–150 Ω 63 A, 150–330 Ω 32 A, 330–1000 Ω 20 A,
// 1000–2200 Ω 13 A, > 2200 Ω no cable. A resistance exactly on a shared
// edge reads as the smaller cable: a cable is never credited with more
// than its coding can prove.
var ppBands = []struct {
	ohms float64
	want units.Amps
}{
	{math.NaN(), 0}, {math.Inf(-1), 0}, {-1, 0}, {0, 0}, {10, 0},
	{74, 0}, {74.99, 0}, {75, 63}, {76, 63},
	{100, 63}, {149, 63}, {149.99, 63}, {150, 32}, {151, 32},
	{220, 32}, {329, 32}, {329.99, 32}, {330, 20}, {331, 20},
	{680, 20}, {999, 20}, {999.99, 20}, {1000, 13}, {1001, 13},
	{1500, 13}, {2199, 13}, {2200, 13}, {2200.01, 0}, {2201, 0},
	{4700, 0}, {math.Inf(1), 0},
}

// TestPPBandEdges decodes every PP band edge, on it and a hair either
// side.
func TestPPBandEdges(t *testing.T) {
	for _, c := range ppBands {
		if got := ppRating(c.ohms); got != c.want {
			t.Errorf("ppRating(%v Ω) = %v A, want %v A", c.ohms, got, c.want)
		}
	}
}

// TestPPEdgeBoundsOfferedCurrent drives a Case B charger with a cable
// coded exactly on each band edge (and one ohm inside the band below):
// the pilot offers the cable's rating and no more, and an invalid coding
// gets PP_ERR with no PWM at all. The installation allows 63 A so the
// 63/32 A edge shows on the pilot too.
func TestPPEdgeBoundsOfferedCurrent(t *testing.T) {
	for _, c := range []struct {
		ohms float64
		want units.Amps
	}{
		{74, 0}, {75, 63}, {149, 63}, {150, 32}, {329, 32}, {330, 20}, {999, 20}, {1000, 13}, {2200, 13}, {2201, 0},
	} {
		t.Run(fmt.Sprint(c.ohms), func(t *testing.T) {
			b := newBench(t, func(p *Params, s *settings.Settings) {
				p.HardwareMax = 63
				s.ChargerMode, s.ChargeCurrent, s.ChargeCurrentBoost = settings.ModeCaseB, 63, 63
			})
			b.ohms, b.ppFixed = c.ohms, true
			b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
			if c.want == 0 {
				b.never(3*time.Second, "PWM with an invalid PP coding", b.pwm)
				if b.st.Fault != FaultPP || b.closed {
					t.Fatalf("%v Ω: fault %v, contactor %v; want PP_ERR, open", c.ohms, b.st.Fault, b.closed)
				}
				return
			}
			b.until(5*time.Second, "charging", func() bool { return b.closed })
			b.run(time.Second)
			if b.duty != DutyFor(c.want) || b.st.PPCodedCurrent != c.want || b.st.CurrentLimit != c.want {
				t.Fatalf("%v Ω: duty %d, PP %v A, limit %v A; want %v A (duty %d)", c.ohms, b.duty, b.st.PPCodedCurrent, b.st.CurrentLimit, c.want, DutyFor(c.want))
			}
			// The source is what limits below the others; a tie with the
			// configuration is reported as the configuration.
			if want := map[bool]LimitSource{true: SourceCable, false: SourceConfig}[c.want < 63]; b.st.LimitSource != want {
				t.Fatalf("%v Ω: limit source %v, want %v", c.ohms, b.st.LimitSource, want)
			}
		})
	}
}
