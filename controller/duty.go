package controller

import "github.com/evse-mqtt/evse-mqtt/units"

// Duty values in tenths of a percent (permille), as hw.Pilot takes them.
const (
	DutySteady   = 1000 // +12 V, no PWM (state X1)
	DutyNegative = 0    // −12 V (state F)
	DutyDigital  = 50   // 5 %: digital communication (not used)
	dutyMinPWM   = 100  // 10 %
	dutyMaxPWM   = 960  // 96 %
)

// DutyFor returns the PWM duty (permille) that advertises current a,
// rounded down so the EV is never offered more than a (IEC 61851-1 Annex A:
// 6–51 A → I/0.6 %, 51–80 A → I/2.5 + 64 %). It returns DutySteady for
// anything below 6 A: the EVSE pauses instead of advertising less.
func DutyFor(a units.Amps) int {
	switch {
	case a < 6:
		return DutySteady
	case a <= 51:
		// The tiny epsilon keeps exact currents (e.g. 6 A = 100 ‰) from
		// falling one step short through floating-point error.
		return int(float64(a)/0.6*10 + 1e-9)
	case a < 52.5:
		return 850 // 51–52.5 A has no duty: clamp to 51 A
	case a > 80:
		a = 80
	}
	return int((float64(a)/2.5+64)*10 + 1e-9)
}

// CurrentForDuty decodes a duty (permille) into the current it advertises;
// 0 for anything that is not a charging PWM.
func CurrentForDuty(d int) units.Amps {
	switch {
	case d < dutyMinPWM || d > dutyMaxPWM:
		return 0
	case d <= 850:
		return units.Amps(float64(d) / 10 * 0.6)
	default:
		return units.Amps((float64(d)/10 - 64) * 2.5)
	}
}

// IsPWM reports whether duty d is a PWM that offers current.
func IsPWM(d int) bool { return d >= dutyMinPWM && d <= dutyMaxPWM }

// ValidDuty reports whether d is a duty IEC 61851 lets an EVSE emit:
// 0 %, 5 %, 100 % or 10…96 %.
func ValidDuty(d int) bool {
	return d == DutyNegative || d == DutyDigital || d == DutySteady || IsPWM(d)
}
