package controller

import (
	"testing"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestDutyTableEdges checks the duty ↔ current law at every edge of
// iec61851.md §2, with the expected duties worked out by hand: 6–51 A →
// I/0.6 %, 51–80 A → I/2.5 + 64 %, rounded down; nothing between 51 and
// 52.5 A (clamped to 51 A); below 6 A a pause (100 %), above 80 A 80 A.
func TestDutyTableEdges(t *testing.T) {
	for _, c := range []struct {
		a    units.Amps
		duty int
	}{
		{0, DutySteady}, {5.5, DutySteady}, {5.99, DutySteady},
		{6, 100}, {6.5, 108}, {16, 266}, {32, 533},
		{50.5, 841}, {51, 850}, {51.5, 850}, {52.49, 850}, {52.5, 850}, {53, 852},
		{79.5, 958}, {80, 960}, {80.5, 960}, {100, 960},
	} {
		if got := DutyFor(c.a); got != c.duty {
			t.Errorf("DutyFor(%v A) = %d, want %d", c.a, got, c.duty)
		}
	}
	for _, c := range []struct {
		duty int
		a    units.Amps
	}{
		{0, 0}, {50, 0}, {99, 0}, {100, 6}, {266, 15.96}, {849, 50.94}, {850, 51}, {851, 52.75}, {960, 80}, {961, 0}, {1000, 0},
	} {
		if got := CurrentForDuty(c.duty); got < c.a-1e-9 || got > c.a+1e-9 {
			t.Errorf("CurrentForDuty(%d) = %v A, want %v A", c.duty, got, c.a)
		}
	}
	for d, want := range map[int]bool{0: true, 1: false, 49: false, 50: true, 51: false, 99: false, 100: true, 960: true, 961: false, 999: false, 1000: true} {
		if got := ValidDuty(d); got != want {
			t.Errorf("ValidDuty(%d) = %v, want %v", d, got, want)
		}
		if pwm := d >= 100 && d <= 960; IsPWM(d) != pwm {
			t.Errorf("IsPWM(%d) = %v, want %v", d, IsPWM(d), pwm)
		}
	}
}

// TestClassifyBandEdges checks the pilot bands on their midpoints between
// the nominal 12/9/6/3/0/−12 V levels: a level exactly on a midpoint
// belongs to the higher band, −1.5…−10.5 V (exclusive) is invalid.
func TestClassifyBandEdges(t *testing.T) {
	for _, c := range []struct {
		v    units.Volts
		want Level
	}{
		{12, LevelA}, {11, LevelA}, {10.5, LevelA}, {10.49, LevelB}, {10, LevelB},
		{9, LevelB}, {8, LevelB}, {7.5, LevelB}, {7.49, LevelC}, {7, LevelC},
		{6, LevelC}, {5, LevelC}, {4.5, LevelC}, {4.49, LevelD}, {4, LevelD},
		{3, LevelD}, {2, LevelD}, {1.5, LevelD}, {1.49, LevelE}, {1, LevelE},
		{0, LevelE}, {-1, LevelE}, {-1.5, LevelE}, {-1.51, LevelInvalid}, {-2, LevelInvalid},
		{-5, LevelInvalid}, {-10, LevelInvalid}, {-10.49, LevelInvalid}, {-10.5, LevelF}, {-11, LevelF}, {-12, LevelF},
	} {
		if got := Classify(c.v); got != c.want {
			t.Errorf("Classify(%v V) = %v, want %v", c.v, got, c.want)
		}
	}
}
