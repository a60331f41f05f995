package scenario

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// LawFactory makes a fresh law (laws keep state during a run).
type LawFactory func() Law

// Laws are the control laws compared: ours (as configured by default,
// with a fixed minimum pause, and without meter 1), then the references.
func Laws() []LawFactory {
	fixed := OursWith("evse-mqtt limiter, fixed 60 s pause (MaxPause = MinPause)", func(p *controller.LimiterParams) { p.MaxPause = p.MinPause })
	return []LawFactory{Ours, fixed, OursNoEVMeter, SmartEVSE, Evcc, EvccPV}
}

// Options choose the scenarios' sizes.
type Options struct {
	StepLimit   int           // W, ControlLimit of scenario 1
	StepOffsets int           // scenario 1 runs with the step at this many loop phases
	DayLimit    int           // W, ControlLimit of scenario 2 (0: charge from PV surplus only)
	Day         DayParams     // scenario 2's trace
	DayFrom     time.Duration // scenario 2 measures [DayFrom, DayFrom+DayLength)
	DayLength   time.Duration
}

// DefaultOptions are the README's scenarios: a 16 kW limit for the step,
// and a full day of PV-surplus charging (import limit 0 W).
func DefaultOptions() Options {
	return Options{StepLimit: 16000, StepOffsets: 8, DayLimit: 0, Day: DefaultDay(1), DayLength: 24 * time.Hour}
}

// StepResult is scenario 1 for one law.
type StepResult struct {
	Law       string
	Mean, Max time.Duration // until the site stays under the limit
	OverWh    float64       // energy above the limit, summed over the runs
	Pauses    int
}

// Report holds the scenarios for every law.
type Report struct {
	Opts    Options
	Step    []StepResult
	Day     []Metrics
	LowDraw []LowDrawResult
	Solar   []Metrics // the solar day (SolarLaws)
}

func baseConfig() Config {
	// The daemon's defaults: control meter every 500 ms, statistics meter
	// every 1 s, not in phase with each other.
	return Config{Tick: 10 * time.Millisecond, MeterPeriod: 500 * time.Millisecond, MeterLatency: 150 * time.Millisecond,
		EVMeterPeriod: time.Second, EVMeterOffset: 320 * time.Millisecond, Vehicle: sim.DefaultVehicle()}
}

// Step runs scenario 1: charging at the limit with 5 kW of house load, the
// house load rises by 5 kW; how long until the site is back under the
// limit? The step falls at StepOffsets different phases of the laws' loops.
func Step(o Options, law LawFactory) StepResult {
	var r StepResult
	for k := range o.StepOffsets {
		at := 180*time.Second + time.Duration(k)*3700*time.Millisecond
		cfg := baseConfig()
		cfg.ControlLimit = o.StepLimit
		cfg.Building = LoadStep(5000, 5000, at)
		cfg.Duration, cfg.From, cfg.Length = at+2*time.Minute, at, 2*time.Minute
		m := Run(cfg, law())
		r.Law = m.Law
		r.Mean += m.Recovery / time.Duration(o.StepOffsets)
		r.Max = max(r.Max, m.Recovery)
		r.OverWh += m.OverWh
		r.Pauses += m.Pauses
	}
	return r
}

// DayRun runs scenario 2: the day trace under law.
func DayRun(o Options, law LawFactory) Metrics {
	cfg := baseConfig()
	cfg.ControlLimit = o.DayLimit
	cfg.Building = Day(o.Day)
	cfg.From, cfg.Length = o.DayFrom, o.DayLength
	cfg.Duration = o.DayFrom + o.DayLength
	// Start a little early so every law has settled when measuring begins.
	cfg.Begin = max(o.DayFrom-5*time.Minute, 0)
	return Run(cfg, law())
}

// Compare runs the scenarios for every law, the laws in parallel.
func Compare(o Options, laws []LawFactory) Report {
	r := Report{Opts: o, Step: make([]StepResult, len(laws)), Day: make([]Metrics, len(laws)), LowDraw: make([]LowDrawResult, len(laws))}
	var wg sync.WaitGroup
	for i, law := range laws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Step[i] = Step(o, law)
			r.Day[i] = DayRun(o, law)
			r.LowDraw[i] = LowDraw(o, law)
		}()
	}
	wg.Wait()
	r.Solar = SolarDay(o, SolarLaws())
	return r
}

// Markdown writes the report as markdown tables.
func (r Report) Markdown(w io.Writer) error {
	o := r.Opts
	p := &printer{w: w}
	p.f("### Scenario 1: +5 kW house load while charging at the limit\n\n")
	p.f("ControlLimit %d W, house 5 kW → 10 kW, EV 3 × 16 A (2 s response), control meter polled every 500 ms and statistics meter every 1 s (out of phase), 150 ms latency; "+
		"the step falls at %d phases of the control loop.\n\n", o.StepLimit, o.StepOffsets)
	p.f("| Control law | Back under the limit (mean) | (worst) | Energy above the limit (Wh, all runs) | Pauses |\n")
	p.f("|---|---:|---:|---:|---:|\n")
	for _, s := range r.Step {
		p.f("| %s | %.1f s | %.1f s | %.1f | %d |\n", s.Law, s.Mean.Seconds(), s.Max.Seconds(), s.OverWh, s.Pauses)
	}
	p.f("\nThe SmartEVSE-like law cuts again on its next 2 s loop, before the EV has followed the first cut, " +
		"drops below 6 A and stops; it restarts 60 s later and its ¼ step overshoots while the EV ramps up.\n")
	p.f("\n### Scenario 2: PV and house trace with passing clouds\n\n")
	d := o.Day
	p.f("%v from %v, ControlLimit %d W (import), %.1f kW PV peak, cumulus %v–%v (shade median %v, sun median %v), "+
		"%d appliance runs (seed %d). Energy above the limit counts only what the EV added; unused headroom is what an "+
		"instant controller advertising floor(available) A (≥ 6 A) would have charged in addition.\n\n",
		o.DayLength, o.DayFrom, o.DayLimit, float64(d.PVPeak)/1000, d.CloudsFrom, d.CloudsUntil, d.ShadeMedian, d.SunMedian, d.Appliance, d.Seed)
	p.f("| Control law | Energy above the limit (Wh) | Unused headroom (Wh) | Charged (kWh) | Duty changes | Pauses | Contactor cycles |\n")
	p.f("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Day {
		p.f("| %s | %.1f | %.0f | %.2f | %d | %d | %d |\n", m.Law, m.OverWh, m.HeadroomWh, m.ChargedWh/1000, m.DutyChanges, m.Pauses, m.ContactorCycles)
	}
	p.f("\nThe second row is our limiter without the adaptive minimum pause (MaxPause = MinPause = 60 s): " +
		"more energy charged, more contactor cycles. The last row is evcc with its PV-mode timers, for information: " +
		"it charges through clouds at 6 A and so imports far more.\n")
	if len(r.LowDraw) > 0 {
		r.lowDrawTable(p)
	}
	if len(r.Solar) > 0 {
		r.solarTable(p)
	}
	return p.err
}

func (r Report) lowDrawTable(p *printer) {
	cases := LowDrawCases()
	p.f("\n### Scenario 3: the car draws less than it is offered\n\n")
	p.f("The car is capped below its offer, or charges on one phase with Charge3Phase on; the limiter has climbed to the full offer, "+
		"then the house load steps up (the step falls at %d phases of the control loop; meters as in scenario 1). "+
		"Worst time until the site and every phase are back under their limits:\n\n", r.Opts.StepOffsets)
	p.f("| Control law |")
	for _, c := range cases {
		p.f(" %s |", c.Name)
	}
	p.f(" Pauses |\n|---|")
	for range cases {
		p.f("---:|")
	}
	p.f("---:|\n")
	for _, l := range r.LowDraw {
		p.f("| %s |", l.Law)
		for _, d := range l.Max {
			p.f(" %.1f s |", d.Seconds())
		}
		p.f(" %d |\n", l.Pauses)
	}
	p.f("\nWithout meter 1 the control meter cannot tell house from car, so over a limit our limiter pauses: " +
		"only that is back under within the car's response whatever the car draws. " +
		"The house step in the second column leaves no room for 6 A, so every law must pause there; the reference laws " +
		"look at the site's power only, not at its phases. 120.0 s: still going over at the end of the 2-minute window.\n")
}

// printer keeps the first write error so Markdown reads as a template.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (r Report) solarTable(p *printer) {
	d := r.Opts.Day
	p.f("\n### Scenario 4: a solar day (mode solar)\n\n")
	p.f("The trace of scenario 2 (%v from %v, seed %d), charged from the surplus only: ours in mode solar (100 W import allowance) "+
		"with auto 1p/3p and at fixed 3p, and two reference laws with their own phase switching run through the same safe sequence. "+
		"Surplus is the car's draw covered by PV − house; import is the rest of it.\n\n", r.Opts.DayLength, r.Opts.DayFrom, d.Seed)
	p.f("| Control law | Charged from surplus (kWh) | Imported by the car (Wh) | Grid share of the car's energy | Phase switches | Contactor cycles |\n")
	p.f("|---|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Solar {
		share := 0.0
		if e := m.SurplusWh + m.ImportWh; e > 0 {
			share = 100 * m.ImportWh / e
		}
		p.f("| %s | %.2f | %.0f | %.1f %% | %d | %d |\n", m.Law, m.SurplusWh/1000, m.ImportWh, share, m.PhaseSwitches, m.ContactorCycles)
	}
}
