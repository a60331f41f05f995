// Package scenario runs power-limiting scenarios on the simulator with a
// virtual clock: the controller (or a reference control law in its place)
// charges a simulated EV in a simulated building whose control meter is
// polled like a real one, and the run measures what matters at the grid
// connection — energy above the limit, unused headroom, duty changes,
// pauses and contactor cycles.
package scenario

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Building gives the house load and the PV generation at offset t from
// the start of a run.
type Building func(t time.Duration) (house, pv units.Watts)

// Law is a control law under test. Ours is the controller's own limiter;
// the reference laws drive the same machine with the limiter off, setting
// ChargeCurrent and starting/stopping the session as the law prescribes.
type Law interface {
	// Name is the law's row label.
	Name() string
	// Configure adjusts the machine's parameters and settings before the run.
	Configure(p *controller.Params, s *settings.Settings)
	// Control runs every tick before the machine steps, with the latest
	// control-meter (site) and statistics-meter (ev) readings delivered.
	Control(now time.Time, m *controller.Machine, site, ev hw.MeterReading)
}

// Config describes one run.
type Config struct {
	Duration     time.Duration
	Tick         time.Duration // control-loop period (the daemon's is 10 ms)
	MeterPeriod  time.Duration // the control meter is polled this often …
	MeterLatency time.Duration // … and its readings (and meter 1's) arrive this much later
	// EVMeterPeriod and EVMeterOffset poll the statistics meter on its own
	// schedule, as the daemon does (1 s, out of phase with the control
	// meter); zero polls it with the control meter.
	EVMeterPeriod, EVMeterOffset time.Duration
	ControlLimit                 int // W, the site import limit
	Building                     Building
	Vehicle                      sim.Vehicle // plugged in and asking for charge from the start
	// ChargeCurrent, when set, is what the charger may offer (A); a car
	// with a lower MaxCurrent draws less than it is offered.
	ChargeCurrent int
	// PhaseCurrentLimit, when set, is the fuse per phase (A), and the
	// recovery also waits for every phase to be back under it.
	PhaseCurrentLimit int
	// Window, when set, restricts the metrics to [From, From+Length) and
	// measures the recovery from a load step at From.
	From, Length time.Duration
	// Begin is the time of day the simulation starts (the EV plugs in);
	// it runs until Duration.
	Begin time.Duration
}

// Metrics are one run's results. Energies are in watt-hours.
type Metrics struct {
	Law             string
	OverWh          float64 // site import above the limit that the EV caused
	HeadroomWh      float64 // energy an ideal instant controller would have charged in addition
	ChargedWh       float64 // energy charged
	DutyChanges     int
	Pauses          int           // PWM withdrawn after it was offered
	ContactorCycles int           // closings of the contactor
	SurplusWh       float64       // energy charged from PV surplus (the car's draw covered by PV − house)
	ImportWh        float64       // energy the car drew that the surplus did not cover
	PhaseSwitches   int           // changes of the phases supplied (C2)
	Recovery        time.Duration // from From until the site (and each phase, with PhaseCurrentLimit) stays under the limit (Window runs)
}

// start is the virtual clock's origin: midnight, so offsets are times of day.
var start = time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)

type delivery struct {
	due     time.Time
	site    hw.MeterReading // zero At: no control-meter reading in this delivery
	ev      hw.MeterReading
	hasEV   bool
	pending bool
}

// Run simulates cfg under law and returns its metrics.
func Run(cfg Config, law Law) Metrics {
	p := controller.DefaultParams()
	s := settings.Defaults()
	s.ControlLimit = cfg.ControlLimit
	s.Meter1Type, s.Meter2Type = settings.MeterRTUSDM72D, settings.MeterRTUSDM72D
	if cfg.ChargeCurrent > 0 {
		s.ChargeCurrent = cfg.ChargeCurrent
	}
	if cfg.PhaseCurrentLimit > 0 {
		s.PhaseCurrentLimit = cfg.PhaseCurrentLimit
	}
	law.Configure(&p, &s)
	sm := sim.New(start.Add(cfg.Begin))
	su, solar := law.(solarLaw)
	if solar {
		sm.SetPhaseSwitch(su.PhaseSwitch())
	}
	v := cfg.Vehicle
	v.Plugged, v.RequestCharge = true, true
	sm.SetVehicle(v)
	m := controller.NewMachine(sm.Board(), p, s)
	if solar {
		su.Setup(m, start.Add(cfg.Begin))
	}
	lastPhases := 0

	res := Metrics{Law: law.Name()}
	var st controller.Status
	var site, ev hw.MeterReading
	var queue, evQueue [4]delivery // readings in flight (latency < 4 periods)
	var house, pv units.Watts
	lastDuty, wasPWM, wasClosed := controller.DutySteady, false, false
	phases := max(min(v.Phases, 3), 1)
	maxEV := units.PowerFor(min(units.Amps(s.ChargeCurrent), v.MaxCurrent), phases)
	minEV := units.PowerFor(settings.MinCurrent, phases)
	limit := units.Watts(cfg.ControlLimit)
	dtH := cfg.Tick.Hours()
	measured := func(t time.Duration) bool {
		return cfg.Length == 0 || t >= cfg.From && t < cfg.From+cfg.Length
	}
	var lastOver time.Duration = -1
	for t := cfg.Begin; t < cfg.Duration; t += cfg.Tick {
		now := start.Add(t)
		if h, g := cfg.Building(t); h != house || g != pv {
			house, pv = h, g
			sm.SetBuilding(house, pv)
		}
		sm.Tick(now)
		if t%cfg.MeterPeriod == 0 {
			q := &queue[(t/cfg.MeterPeriod)%time.Duration(len(queue))]
			*q = delivery{due: now.Add(cfg.MeterLatency), site: reading(now, sm.SitePhases()), pending: true}
			if cfg.EVMeterPeriod == 0 {
				q.ev, q.hasEV = reading(now, sm.EVPhases()), true
			}
		}
		if cfg.EVMeterPeriod > 0 && (t-cfg.EVMeterOffset)%cfg.EVMeterPeriod == 0 {
			q := &evQueue[((t-cfg.EVMeterOffset)/cfg.EVMeterPeriod)%time.Duration(len(evQueue))]
			*q = delivery{due: now.Add(cfg.MeterLatency), ev: reading(now, sm.EVPhases()), hasEV: true, pending: true}
		}
		for _, qs := range [][]delivery{queue[:], evQueue[:]} {
			for i := range qs {
				q := &qs[i]
				if !q.pending || now.Before(q.due) {
					continue
				}
				q.pending = false
				if !q.site.At.IsZero() {
					site = q.site
					m.SetMeter(2, site)
				}
				if q.hasEV {
					ev = q.ev
					if s.Meter1Type != settings.MeterNone {
						m.SetMeter(1, ev)
					}
				}
			}
		}
		law.Control(now, m, site, ev)
		m.Step(now)
		m.Snapshot(now, &st)

		pwm := controller.IsPWM(st.DutyPermille)
		in := measured(t)
		if in {
			if st.DutyPermille != lastDuty {
				res.DutyChanges++
			}
			if wasPWM && !pwm {
				res.Pauses++
			}
			if st.ContactorFeedback && !wasClosed {
				res.ContactorCycles++
			}
			if lastPhases != 0 && st.PhasesActive != lastPhases {
				res.PhaseSwitches++
			}
		}
		lastDuty, wasPWM, wasClosed, lastPhases = st.DutyPermille, pwm, st.ContactorFeedback, st.PhasesActive
		if !in {
			continue
		}
		var evP units.Watts
		for _, ph := range sm.EVPhases() {
			evP += ph.Power
		}
		sitePow := house - pv + evP
		if over := sitePow - limit; over > 0 {
			res.OverWh += float64(min(over, evP)) * dtH
			if evP > 0 {
				lastOver = t
			}
		}
		if cfg.PhaseCurrentLimit > 0 && evP > 0 && phaseOver(sm.SitePhases(), units.Amps(cfg.PhaseCurrentLimit)) {
			lastOver = t
		}
		// What an instant controller under the same rules (whole amperes,
		// at least 6 A) would let the EV draw.
		ideal := units.PowerFor(units.CurrentFor(limit-(sitePow-evP), phases).Floor(), phases)
		switch {
		case ideal < minEV:
			ideal = 0
		case ideal > maxEV:
			ideal = maxEV
		}
		res.HeadroomWh += float64(max(ideal-evP, 0)) * dtH
		res.ChargedWh += float64(evP) * dtH
		fromPV := min(evP, max(pv-house, 0))
		res.SurplusWh += float64(fromPV) * dtH
		res.ImportWh += float64(evP-fromPV) * dtH
	}
	if cfg.Length > 0 && lastOver >= cfg.From {
		res.Recovery = lastOver + cfg.Tick - cfg.From
	}
	return res
}

// phaseOver reports whether a phase imports more than limit.
func phaseOver(ph [3]sim.Phase, limit units.Amps) bool {
	for _, p := range ph {
		if p.Power > 0 && p.Current > limit {
			return true
		}
	}
	return false
}

// reading turns simulated phases into a meter reading taken at now.
func reading(now time.Time, ph [3]sim.Phase) hw.MeterReading {
	r := hw.MeterReading{At: now, HasPhases: true}
	for i, p := range ph {
		r.Power += p.Power
		r.PhaseCurrent[i], r.PhasePower[i], r.PhaseVoltage[i] = p.Current, p.Power, p.Voltage
	}
	return r
}
