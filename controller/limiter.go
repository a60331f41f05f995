package controller

import (
	"math"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Fallback says what the limiter does when its input is stale.
type Fallback int

// Fallback modes.
const (
	FallbackMinimum Fallback = iota // charge at 6 A
	FallbackPause                   // pause
	FallbackFixed                   // charge at LimiterParams.FallbackCurrent
)

// LimiterParams tune the power limiter (ControlStrategy 1 and the remote
// supervisor).
type LimiterParams struct {
	LeaseTTL        time.Duration // a supervisor setpoint's time to live
	MeterStale      time.Duration // control meter reading older than this is stale
	MinPause        time.Duration // a pause lasts at least this long
	ResumeMargin    units.Amps    // resume only with this much above 6 A
	StepInterval    time.Duration // increases at most this often
	Fallback        Fallback
	FallbackCurrent units.Amps
}

// DefaultLimiterParams returns the defaults documented in the README.
func DefaultLimiterParams() LimiterParams {
	return LimiterParams{
		LeaseTTL:        60 * time.Second,
		MeterStale:      10 * time.Second,
		MinPause:        60 * time.Second,
		ResumeMargin:    0.5,
		StepInterval:    5 * time.Second,
		Fallback:        FallbackMinimum,
		FallbackCurrent: 6,
	}
}

// LimitSource names what sets the current limit in force.
type LimitSource int8

// Limit sources, reported in the status so users see why the current is
// what it is.
const (
	SourceConfig LimitSource = iota
	SourceBoost
	SourceHardware
	SourceCable
	SourceLimiter
	SourceSupervisor
	SourceFallback
)

var sourceNames = [...]string{"configuration", "boost", "hardware", "cable", "limiter", "supervisor lease", "fallback"}

// String names the source.
func (s LimitSource) String() string { return sourceNames[s] }

// lease is a supervisor's power setpoint with its expiry.
type lease struct {
	power   units.Watts
	expires time.Time
	valid   bool
}

// limiter turns the control meter or the supervisor's lease into one more
// current limit, with the dynamics of issue 6: reduce at once, increase
// stepwise at most every StepInterval, pause below 6 A, resume only after
// MinPause and with ResumeMargin to spare, and fall back when stale.
type limiter struct {
	p LimiterParams

	active    bool        // a limit applies at all
	out       units.Amps  // current allowed now (0 = paused)
	paused    bool        // out is 0 because of too little power
	pausedAt  time.Time   // when the pause began
	raisedAt  time.Time   // last increase
	available units.Watts // power available for charging (reported)
	source    LimitSource // limiter, supervisor or fallback
	stale     bool
	lease     lease
	site      hw.MeterReading
	siteOK    bool
}

// setLease stores a supervisor setpoint valid for the lease TTL.
func (l *limiter) setLease(w units.Watts, now time.Time) {
	l.lease = lease{power: w, expires: now.Add(l.p.LeaseTTL), valid: true}
}

// update recomputes the limit. ev is the EV's power per phase now, phases
// the phases it charges on.
func (l *limiter) update(now time.Time, s *settings.Settings, evPhase [3]units.Amps, evPower units.Watts, phases int) {
	if phases < 1 {
		phases = 1
	}
	var target units.Amps
	l.stale = false
	switch {
	case s.Meter2Type == settings.MeterRemoteSuperv:
		l.active, l.source = true, SourceSupervisor
		if !l.lease.valid || !now.Before(l.lease.expires) {
			l.lease.valid = false
			l.stale = true
			break
		}
		l.available = l.lease.power
		target = units.CurrentFor(l.lease.power, phases)
	case s.ControlStrategy == 1 && settings.IsModbusMeter(s.Meter2Type):
		l.active, l.source = true, SourceLimiter
		if !l.siteOK || now.Sub(l.site.At) > l.p.MeterStale {
			l.stale = true
			break
		}
		avail := units.Watts(s.ControlLimit) - l.site.Power + evPower
		l.available = avail
		target = units.CurrentFor(avail, phases)
		if l.site.HasPhases {
			for i := 0; i < phases && i < 3; i++ {
				other := l.site.PhaseCurrent[i] - evPhase[i]
				if pl := units.Amps(s.PhaseCurrentLimit) - other; pl < target {
					target = pl
				}
			}
		}
	default:
		l.active, l.paused, l.stale = false, false, false
		l.out, l.available = 0, 0
		return
	}
	if l.stale {
		l.source = SourceFallback
		switch l.p.Fallback {
		case FallbackPause:
			target = 0
		case FallbackFixed:
			target = l.p.FallbackCurrent
		default:
			target = settings.MinCurrent
		}
		l.available = units.PowerFor(target, phases)
	}
	target = units.Amps(math.Floor(float64(target)))
	l.step(now, target)
}

// step applies the dynamics to a new target current.
func (l *limiter) step(now time.Time, target units.Amps) {
	switch {
	case target < settings.MinCurrent:
		if !l.paused {
			l.paused, l.pausedAt = true, now
		}
		l.out = 0
	case l.paused:
		if now.Sub(l.pausedAt) >= l.p.MinPause && target >= settings.MinCurrent+l.p.ResumeMargin {
			l.paused = false
			l.out = settings.MinCurrent
			l.raisedAt = now
		}
	case target < l.out:
		l.out = target // protecting the fuse outranks the 5 s spacing
	case target > l.out && now.Sub(l.raisedAt) >= l.p.StepInterval:
		// Climb half the gap (at least 1 A) per step so noisy surplus is
		// followed smoothly rather than overshot.
		up := units.Amps(math.Max(1, math.Floor(float64(target-l.out)/2)))
		if l.out == 0 {
			up = target
		}
		l.out = min(l.out+up, target)
		l.raisedAt = now
	}
}
