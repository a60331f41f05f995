package scenario

import (
	"math"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// solarLaw is a law for the solar day: it says whether C2 is fitted and
// sets the machine up (mode, phases) before the run.
type solarLaw interface {
	Law
	PhaseSwitch() bool
	Setup(m *controller.Machine, now time.Time)
}

// min3p is the least a 3-phase car charges with: 6 A × 3 × 230 V.
var min3p = float64(units.PowerFor(settings.MinCurrent, 3))

// OursSolar is the controller in mode solar; auto fits C2 and lets the
// phase policy switch (with policy both: 1p → 3p too, else a cloudy
// morning would keep the car on 1p through the sunny afternoon).
func OursSolar(auto bool) LawFactory {
	name := "evse-mqtt solar, fixed 3p"
	if auto {
		name = "evse-mqtt solar, auto 1p/3p (policy both)"
	}
	return func() Law { return &oursSolar{name: name, auto: auto} }
}

type oursSolar struct {
	name string
	auto bool
}

func (o *oursSolar) Name() string { return o.name }
func (o *oursSolar) Configure(p *controller.Params, s *settings.Settings) {
	s.ControlStrategy = 0
	p.Phases.BothWays = true
	p.PhaseSwitch = o.auto
}
func (o *oursSolar) Control(time.Time, *controller.Machine, hw.MeterReading, hw.MeterReading) {}
func (o *oursSolar) PhaseSwitch() bool                                                        { return o.auto }
func (o *oursSolar) Setup(m *controller.Machine, now time.Time) {
	_ = m.SetMode(controller.ModeSolar, now)
	if o.auto {
		_ = m.SetPhases(controller.PhasesAuto)
	}
}

// EvccSolar is evcc's PV mode with automatic phase switching as its
// documentation describes it: every 30 s the current follows the surplus
// (the car's draw included); below 6 A it keeps 6 A for 3 min, then stops,
// and starts again after 1 min of surplus; 3p → 1p after 3 min without the
// 3p minimum, 1p → 3p after 1 min with it, and 60 s of settling after a
// switch. Its switches run through our safe sequence (with no policy of
// ours in the way).
func EvccSolar() Law {
	return &switchLaw{name: "evcc-like PV (30 s, 3 min down / 1 min up, 60 s settle)", period: 30 * time.Second,
		down: 3 * time.Minute, up: time.Minute, settle: time.Minute, enable: time.Minute, disable: 3 * time.Minute, back3: true}
}

// SmartEVSESolar is SmartEVSE's Solar mode with its automatic phase
// switching: a 2 s loop, ¼ of a rise and all of a fall; where it would
// stop for want of 6 A on 3p it switches to 1p instead, and it does not
// return to 3p in the session (SmartEVSE #85).
func SmartEVSESolar() Law {
	return &switchLaw{name: "SmartEVSE-like Solar (2 s, ¼ up, 1p and no way back)", period: 2 * time.Second, quarter: true,
		down: 0, settle: 0, enable: time.Minute, disable: 0}
}

type switchLaw struct {
	name                                 string
	period, down, up, settle             time.Duration
	enable, disable                      time.Duration
	quarter, back3                       bool
	next, lastSwitch, downAt, upAt, shAt time.Time
	surAt                                time.Time
	phases                               int
	set                                  float64
	stopped                              bool
}

func (l *switchLaw) Name() string      { return l.name }
func (l *switchLaw) PhaseSwitch() bool { return true }
func (l *switchLaw) Configure(p *controller.Params, s *settings.Settings) {
	s.ControlStrategy = 0
	s.ChargeCurrent = settings.MinCurrent
	p.Phases.MaxSwitches, p.Phases.MinInterval = 1<<20, 0
	p.PhaseSwitch = true
	p.DutyInterval = min(p.DutyInterval, l.period)
}
func (l *switchLaw) Setup(m *controller.Machine, now time.Time) {
	l.phases, l.set = 3, settings.MinCurrent
	_ = m.SetPhases(controller.Phases3)
}

func (l *switchLaw) Control(now time.Time, m *controller.Machine, site, ev hw.MeterReading) {
	if site.At.IsZero() || now.Before(l.next) {
		return
	}
	l.next = now.Add(l.period)
	avail := float64(ev.Power) - float64(site.Power) // W of surplus, the car's draw included
	settled := now.Sub(l.lastSwitch) >= l.settle
	switch {
	case l.phases == 3 && avail < min3p:
		if l.downAt.IsZero() {
			l.downAt = now
		}
		if now.Sub(l.downAt) >= l.down && settled {
			l.switchTo(m, 1, now)
		}
	case l.phases == 1 && l.back3 && avail >= min3p:
		if l.upAt.IsZero() {
			l.upAt = now
		}
		if now.Sub(l.upAt) >= l.up && settled {
			l.switchTo(m, 3, now)
		}
	default:
		l.downAt, l.upAt = time.Time{}, time.Time{}
	}
	if l.phases == 3 && avail >= min3p {
		l.downAt = time.Time{}
	}
	if l.phases == 1 && avail < min3p {
		l.upAt = time.Time{}
	}
	perA := float64(units.PowerFor(1, l.phases))
	want := avail / perA
	if l.quarter && want > l.set {
		want = l.set + (want-l.set)/4
	}
	if l.stopped {
		if want < settings.MinCurrent {
			l.surAt = time.Time{}
			return
		}
		if l.surAt.IsZero() {
			l.surAt = now
		}
		if now.Sub(l.surAt) < l.enable {
			return
		}
		l.stopped, l.surAt = false, time.Time{}
		l.apply(m, want)
		_ = m.Start(now)
		return
	}
	if want < settings.MinCurrent {
		if l.shAt.IsZero() {
			l.shAt = now
		}
		if now.Sub(l.shAt) < l.disable || l.phases == 3 && l.quarter {
			l.apply(m, settings.MinCurrent)
			return
		}
		l.stopped, l.shAt = true, time.Time{}
		_ = m.Stop(now)
		return
	}
	l.shAt = time.Time{}
	l.apply(m, want)
}

func (l *switchLaw) switchTo(m *controller.Machine, n int, now time.Time) {
	r := controller.Phases1
	if n == 3 {
		r = controller.Phases3
	}
	if m.SetPhases(r) == nil {
		l.phases, l.lastSwitch, l.downAt, l.upAt = n, now, time.Time{}, time.Time{}
	}
}

func (l *switchLaw) apply(m *controller.Machine, a float64) {
	l.set = math.Min(math.Max(a, settings.MinCurrent), 16)
	s := m.Settings()
	if c := int(math.Floor(l.set)); c != s.ChargeCurrent {
		s.ChargeCurrent = c
		m.ApplySettings(s)
	}
}

// SolarLaws are the solar day's rows: ours with auto phases, ours at
// fixed 3p, and the two reference laws with their phase switching.
func SolarLaws() []LawFactory {
	return []LawFactory{OursSolar(true), OursSolar(false), EvccSolar, SmartEVSESolar}
}

// SolarDay runs the 24 h trace in mode solar for each law (in parallel).
func SolarDay(o Options, laws []LawFactory) []Metrics {
	out := make([]Metrics, len(laws))
	done := make(chan struct{}, len(laws))
	for i, law := range laws {
		go func() {
			defer func() { done <- struct{}{} }()
			cfg := baseConfig()
			cfg.ControlLimit = 0
			cfg.Building = Day(o.Day)
			cfg.From, cfg.Length = o.DayFrom, o.DayLength
			cfg.Duration = o.DayFrom + o.DayLength
			cfg.Begin = max(o.DayFrom-5*time.Minute, 0)
			out[i] = Run(cfg, law())
		}()
	}
	for range laws {
		<-done
	}
	return out
}
