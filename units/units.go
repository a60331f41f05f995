// Package units holds the typed physical quantities that cross package
// boundaries (controller, meters, limiter, simulator), so a current is never
// passed where a power is expected.
package units

import "math"

// Amps is an electric current in amperes.
type Amps float64

// Volts is an electric potential in volts.
type Volts float64

// Watts is an active power in watts.
type Watts float64

// WattSeconds is an energy in watt-seconds (joules); the WebAPI reports
// session energy in this unit.
type WattSeconds float64

// WattHours is an energy in watt-hours.
type WattHours float64

// NominalVoltage is the phase-to-neutral voltage used where no meter
// measures it (IEC 61851 power estimates use 230 V).
const NominalVoltage Volts = 230

// Floor rounds a current down to whole amperes; advertised currents are
// always rounded down so the EV is never offered more than is available.
func (a Amps) Floor() Amps { return Amps(math.Floor(float64(a))) }

// PowerFor returns the power drawn by current a on the given number of
// phases at the nominal voltage.
func PowerFor(a Amps, phases int) Watts {
	return Watts(float64(a) * float64(NominalVoltage) * float64(phases))
}

// CurrentFor returns the per-phase current that power w represents on the
// given number of phases at the nominal voltage.
func CurrentFor(w Watts, phases int) Amps {
	if phases <= 0 {
		return 0
	}
	return Amps(float64(w) / (float64(NominalVoltage) * float64(phases)))
}

// Energy returns the energy of power w held for dt seconds.
func (w Watts) Energy(seconds float64) WattSeconds { return WattSeconds(float64(w) * seconds) }

// WattHours converts watt-seconds to watt-hours.
func (e WattSeconds) WattHours() WattHours { return WattHours(e / 3600) }
