package scenario

import (
	"math"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Ours is the controller's own limiter: ControlStrategy 1 on the control
// meter, with the default LimiterParams.
func Ours() Law { return ours{name: "evse-mqtt limiter"} }

// OursWith is our limiter with tuned parameters, for comparisons.
func OursWith(name string, tune func(*controller.LimiterParams)) LawFactory {
	return func() Law { return ours{name: name, tune: tune} }
}

// OursNoEVMeter is our limiter without a statistics meter: it bounds the
// EV's draw from the currents it advertised.
func OursNoEVMeter() Law { return ours{name: "evse-mqtt limiter without meter 1", noEVMeter: true} }

type ours struct {
	name      string
	tune      func(*controller.LimiterParams)
	noEVMeter bool
}

func (o ours) Name() string { return o.name }

func (o ours) Configure(p *controller.Params, s *settings.Settings) {
	s.ControlStrategy = 1
	if o.noEVMeter {
		s.Meter1Type = settings.MeterNone
	}
	if o.tune != nil {
		o.tune(&p.Limiter)
	}
}

func (ours) Control(time.Time, *controller.Machine, hw.MeterReading, hw.MeterReading) {}

// SmartEVSE is SmartEVSE's published behaviour: a 2 s loop on the mains
// meter, Idiff = (limit − site)/(230 V × phases); a positive difference is
// added a quarter at a time, a negative one all at once; below 6 A the
// session stops and restarts no sooner than 60 s later, once 6 A are
// available.
func SmartEVSE() Law {
	return &loopLaw{name: "SmartEVSE-like (2 s, ¼ up, all down)", period: 2 * time.Second, up: 0.25, incremental: true, restartDelay: time.Minute}
}

// Evcc is evcc's default 30 s interval: every 30 s the current is set to
// what the site has available, (limit − site + EV)/(230 V × phases), up or
// down at once; below 6 A the session stops, and it restarts at the next
// interval with 6 A available.
func Evcc() Law {
	return &loopLaw{name: "evcc-like (30 s interval)", period: 30 * time.Second, up: 1}
}

// EvccPV is Evcc with evcc's PV-mode timers (enable after 1 min of
// surplus, disable after 3 min of shortage, charging at 6 A meanwhile).
// It is shown for information: those timers trade energy above the limit
// for fewer contactor cycles.
func EvccPV() Law {
	return &loopLaw{name: "evcc-like PV mode (30 s, 1 min on / 3 min off)", period: 30 * time.Second, up: 1,
		enableDelay: time.Minute, disableDelay: 3 * time.Minute}
}

// loopLaw is a reference control law run every period in place of our
// limiter: it sets ChargeCurrent and starts or stops the session.
type loopLaw struct {
	name         string
	period       time.Duration
	up           float64 // fraction of a positive difference applied per loop
	incremental  bool    // Idiff added to its own setpoint (SmartEVSE) instead of set = available (evcc)
	restartDelay time.Duration
	enableDelay  time.Duration
	disableDelay time.Duration

	maxA      float64
	next      time.Time
	set       float64
	stopped   bool
	stoppedAt time.Time
	short     time.Time // shortage since (disableDelay)
	surplus   time.Time // surplus since while stopped (enableDelay)
}

func (l *loopLaw) Name() string { return l.name }

func (l *loopLaw) Configure(p *controller.Params, s *settings.Settings) {
	s.ControlStrategy = 0
	l.maxA = float64(s.ChargeCurrent)
	l.set = settings.MinCurrent
	s.ChargeCurrent = settings.MinCurrent
	// Let the law's own loop set the pace of its increases, as published.
	p.DutyInterval = min(p.DutyInterval, l.period)
}

func (l *loopLaw) Control(now time.Time, m *controller.Machine, site, ev hw.MeterReading) {
	if site.At.IsZero() || now.Before(l.next) {
		return
	}
	l.next = now.Add(l.period)
	s := m.Settings()
	phases := 1
	if s.Charge3Phase {
		phases = 3
	}
	perA := float64(units.PowerFor(1, phases))
	diff := (float64(s.ControlLimit) - float64(site.Power)) / perA
	avail := diff + float64(ev.Power)/perA
	if l.stopped {
		if avail < settings.MinCurrent || now.Sub(l.stoppedAt) < l.restartDelay {
			l.surplus = time.Time{}
			return
		}
		if l.surplus.IsZero() {
			l.surplus = now
		}
		if now.Sub(l.surplus) < l.enableDelay {
			return
		}
		l.stopped, l.surplus, l.short = false, time.Time{}, time.Time{}
		l.set = math.Min(math.Floor(avail), l.maxA)
		l.apply(m)
		_ = m.Start(now)
		return
	}
	switch {
	case !l.incremental:
		l.set = avail
	case diff > 0:
		l.set += l.up * diff
	default:
		l.set += diff
	}
	l.set = math.Min(l.set, l.maxA)
	if l.set < settings.MinCurrent {
		if l.short.IsZero() {
			l.short = now
		}
		if now.Sub(l.short) < l.disableDelay {
			l.set = settings.MinCurrent
			l.apply(m)
			return
		}
		l.stopped, l.stoppedAt, l.short = true, now, time.Time{}
		_ = m.Stop(now)
		return
	}
	l.short = time.Time{}
	l.apply(m)
}

func (l *loopLaw) apply(m *controller.Machine) {
	s := m.Settings()
	if a := int(math.Floor(l.set)); a != s.ChargeCurrent {
		s.ChargeCurrent = a
		m.ApplySettings(s)
	}
}
