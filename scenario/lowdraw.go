package scenario

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// LowDrawCase is one of scenario 3's cars that draw less than they are
// offered (capped below the offer, or on fewer phases than configured):
// the limiter has climbed to the full offer the car does not take, then
// the house load steps up. These are issue 9 item 6's repros.
type LowDrawCase struct {
	Name              string // column label
	MaxCurrent        units.Amps
	Phases            int
	ControlLimit      int // W
	ChargeCurrent     int // A offered at most
	PhaseCurrentLimit int // A
	Before, After     units.Watts
}

// LowDrawCases are issue 9 item 6's three repros.
func LowDrawCases() []LowDrawCase {
	return []LowDrawCase{
		{Name: "3-phase car at 10 A offered 27 A; 11 kW; house 0 → 5 kW",
			MaxCurrent: 10, Phases: 3, ControlLimit: 11000, ChargeCurrent: 27, PhaseCurrentLimit: 32, After: 5000},
		{Name: "car at 10 A offered 30 A; 16 A per phase; house 0 → 9 kW",
			MaxCurrent: 10, Phases: 3, ControlLimit: 50000, ChargeCurrent: 30, PhaseCurrentLimit: 16, After: 9000},
		{Name: "1-phase 16 A car, Charge3Phase on, offered 32 A; 8 kW; house 0 → 6.2 kW",
			MaxCurrent: 16, Phases: 1, ControlLimit: 8000, ChargeCurrent: 32, PhaseCurrentLimit: 32, After: 6200},
	}
}

// LowDrawResult is scenario 3 for one law: per case, the worst time from
// the step until the site and every phase stay under their limits, over
// the step's loop phases; and the pauses in all runs.
type LowDrawResult struct {
	Law    string
	Max    []time.Duration
	Pauses int
}

// LowDraw runs scenario 3 for law: every case, with the step at
// o.StepOffsets phases of the control loop.
func LowDraw(o Options, law LawFactory) LowDrawResult {
	cases := LowDrawCases()
	r := LowDrawResult{Max: make([]time.Duration, len(cases))}
	for i, c := range cases {
		for k := range o.StepOffsets {
			// Four minutes: the limiter has climbed to the full offer.
			at := 240*time.Second + time.Duration(k)*3700*time.Millisecond
			cfg := baseConfig()
			cfg.ControlLimit, cfg.ChargeCurrent, cfg.PhaseCurrentLimit = c.ControlLimit, c.ChargeCurrent, c.PhaseCurrentLimit
			cfg.Vehicle = sim.DefaultVehicle()
			cfg.Vehicle.MaxCurrent, cfg.Vehicle.Phases = c.MaxCurrent, c.Phases
			cfg.Building = LoadStep(c.Before, c.After-c.Before, at)
			cfg.Duration, cfg.From, cfg.Length = at+2*time.Minute, at, 2*time.Minute
			m := Run(cfg, law())
			r.Law = m.Law
			r.Max[i] = max(r.Max[i], m.Recovery)
			r.Pauses += m.Pauses
		}
	}
	return r
}
