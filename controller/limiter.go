package controller

import (
	"errors"
	"fmt"
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

var fallbackNames = [...]string{"minimum", "pause", "fixed"}

// String names the mode as the configuration spells it.
func (f Fallback) String() string {
	if f < 0 || int(f) >= len(fallbackNames) {
		return "unknown"
	}
	return fallbackNames[f]
}

// LimiterParams tune the power limiter (ControlStrategy 1 and the remote
// supervisor).
type LimiterParams struct {
	LeaseTTL   time.Duration // a supervisor setpoint's time to live
	MeterStale time.Duration // control meter reading older than this is stale
	MinPause   time.Duration // a pause lasts at least this long
	// MaxPause caps the adaptive minimum pause: when charging after a
	// resume lasted less than ShortRun, the next pause's minimum doubles
	// (up to MaxPause), so passing clouds do not cycle the contactor every
	// minute; a run of ShortRun or more resets it to MinPause. MaxPause ≤
	// MinPause turns this off.
	MaxPause        time.Duration
	ShortRun        time.Duration
	ResumeMargin    units.Amps    // resume only with this much above 6 A
	StepInterval    time.Duration // increases at most this often
	Fallback        Fallback
	FallbackCurrent units.Amps
	// EVResponse bounds how long an EV may keep drawing the old current
	// after the advertised current drops (IEC 61851-1 allows 5 s). Without
	// a statistics meter the limiter assumes the EV may still draw the
	// highest current advertised within this window, so a reduction the
	// control meter does not show yet is not taken for new house load.
	EVResponse time.Duration
	// SolarImport is what the solar mode may import from the grid on top
	// of the surplus (issue 12's small allowance), so a passing cloud
	// worth a few hundred watts does not pause the car at once.
	SolarImport units.Watts
	// SolarHold is how long the solar mode rides a dip of the surplus
	// below 6 A at 6 A (importing the difference) before it pauses: a
	// passing cloud then costs a little import instead of a contactor
	// cycle and a minimum pause (evcc's disable delay is 3 min, SmartEVSE's
	// stop timer 10 min). 0 pauses at once. ControlLimit still bounds the
	// site while riding.
	SolarHold time.Duration
}

// DefaultLimiterParams returns the defaults documented in the README.
func DefaultLimiterParams() LimiterParams {
	return LimiterParams{
		LeaseTTL:        60 * time.Second,
		MeterStale:      10 * time.Second,
		MinPause:        60 * time.Second,
		MaxPause:        2 * time.Minute,
		ShortRun:        90 * time.Second,
		ResumeMargin:    0.5,
		StepInterval:    5 * time.Second,
		Fallback:        FallbackMinimum,
		FallbackCurrent: 6,
		EVResponse:      5 * time.Second,
		SolarImport:     100,
		SolarHold:       3 * time.Minute,
	}
}

// ErrLimiterParams reports limiter parameters that would break invariants
// 15 and 16 (a value held forever, or a pause without hysteresis).
var ErrLimiterParams = errors.New("invalid limiter parameters")

// Validate reports the first parameter that breaks the issue-6 rules.
func (p LimiterParams) Validate() error {
	switch {
	case p.LeaseTTL <= 0:
		return fmt.Errorf("%w: LeaseTTL %v must be positive", ErrLimiterParams, p.LeaseTTL)
	case p.MeterStale <= 0:
		return fmt.Errorf("%w: MeterStale %v must be positive", ErrLimiterParams, p.MeterStale)
	case p.MinPause < 0 || p.MaxPause < 0 || p.ShortRun < 0:
		return fmt.Errorf("%w: MinPause %v, MaxPause %v and ShortRun %v must not be negative", ErrLimiterParams, p.MinPause, p.MaxPause, p.ShortRun)
	case p.ResumeMargin < 0.5:
		return fmt.Errorf("%w: ResumeMargin %v A must be at least 0.5 A", ErrLimiterParams, p.ResumeMargin)
	case p.Fallback < FallbackMinimum || p.Fallback > FallbackFixed:
		return fmt.Errorf("%w: unknown fallback %d", ErrLimiterParams, p.Fallback)
	case p.SolarHold < 0 || p.SolarHold > time.Hour:
		return fmt.Errorf("%w: SolarHold %v must be 0…1h", ErrLimiterParams, p.SolarHold)
	case p.SolarImport < 0 || p.SolarImport > 100_000:
		return fmt.Errorf("%w: SolarImport %v W must be 0…100000 W", ErrLimiterParams, float64(p.SolarImport))
	case p.Fallback == FallbackFixed && p.FallbackCurrent < settings.MinCurrent:
		return fmt.Errorf("%w: FallbackCurrent %v A below %d A", ErrLimiterParams, p.FallbackCurrent, settings.MinCurrent)
	}
	return nil
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
	SourceSolar // the surplus (modes solar and minsolar)
	SourceMode  // the charging mode is off
	SourceOCPP  // an OCPP central system's charging profile (external.go)
)

var sourceNames = [...]string{"configuration", "boost", "hardware", "cable", "limiter", "supervisor lease", "fallback", "solar surplus", "charging mode", "ocpp"}

// String names the source.
func (s LimitSource) String() string {
	if s < 0 || int(s) >= len(sourceNames) {
		return "unknown"
	}
	return sourceNames[s]
}

// lease is a supervisor's power setpoint with its expiry.
type lease struct {
	power   units.Watts
	expires time.Time
	valid   bool
}

// evDraw is what the EV draws, as the machine knows it.
type evDraw struct {
	measured bool          // from a fresh statistics meter reading
	at       time.Time     // when it was measured
	phase    [3]units.Amps // per phase (measured only)
	power    units.Watts   // total (measured only)
}

// limitInput is what the machine hands the limiter every step.
type limitInput struct {
	ceiling    units.Amps // every other limit (configuration, boost, cable, hardware)
	advertised units.Amps // what the EV may draw now (0 with the PWM off or the contactor open)
	ev         evDraw
	phases     int
	mode       Mode
}

// change records a change of the advertised current at at; before it the
// EV was offered from.
type change struct {
	at   time.Time
	from units.Amps
}

// limiter turns the control meter or the supervisor's lease into one more
// current limit, with the dynamics of issue 6: reduce at once, increase
// stepwise at most every StepInterval, pause below 6 A, resume only after
// MinPause and with ResumeMargin to spare, and fall back when stale.
type limiter struct {
	p LimiterParams

	active    bool          // a limit applies at all
	out       units.Amps    // current allowed now (0 = paused)
	paused    bool          // out is 0 because of too little power (or the pause fallback)
	pausedAt  time.Time     // when the pause began
	pauseMin  time.Duration // this pause's minimum (MinPause, or more after short runs)
	resumedAt time.Time     // when charging last resumed after a pause
	lastPause time.Duration // the previous pause's minimum
	changedAt time.Time     // last change of out: increases wait StepInterval after it
	upSince   time.Time     // more than out has been surely available since (zero: not now)
	upMin     units.Amps    // the least surely available since upSince
	available units.Watts   // power available for charging (reported)
	source    LimitSource   // limiter, supervisor or fallback
	super     bool          // the input is the supervisor's lease, not the control meter
	stale     bool
	staleAt   time.Time // when the input went stale
	why       string    // reason for a pause; set on transitions only (no allocation per step)
	blind     bool      // this update paused for an overload only because, without meter 1, the car's draw is unknown
	overRead  bool      // the control meter's reading is over a limit
	overCutAt time.Time // last reduction made while a reading was over a limit
	lease     lease
	solarW    units.Watts // the surplus (with the car's draw) at the last fresh reading, for auto phases
	dipAt     time.Time   // solar: the surplus below 6 A while charging since (zero: not now)
	rideWhy   string      // solar: why the current is held at 6 A over a dip; set on transitions only
	site      hw.MeterReading
	siteOK    bool

	adv  units.Amps // advertised current last step
	chg  [32]change // recent changes of the advertised current (ring)
	nChg int
}

// setLease stores a supervisor setpoint valid for the lease TTL.
func (l *limiter) setLease(w units.Watts, now time.Time) {
	l.lease = lease{power: max(w, 0), expires: now.Add(l.p.LeaseTTL), valid: true}
}

// update recomputes the limit from the inputs at now.
func (l *limiter) update(now time.Time, s *settings.Settings, in limitInput) {
	l.track(now, in.advertised)
	l.blind, l.overRead = false, false
	if in.mode != ModeSolar {
		l.dipAt, l.rideWhy = time.Time{}, "" // only the solar mode rides dips
	}
	phases := max(in.phases, 1)
	var lo, hi units.Amps // available current per phase, not rounded (bounds)
	wasStale := l.stale
	l.stale = false
	switch {
	case s.Meter2Type == settings.MeterRemoteSuperv:
		l.active, l.source, l.super = true, SourceSupervisor, true
		if !l.lease.valid || !now.Before(l.lease.expires) {
			l.lease.valid = false
			l.stale = true
			break
		}
		lo = units.CurrentFor(l.lease.power, phases)
		hi = lo
	case s.ControlStrategy == 1 || in.mode.Solar():
		l.active, l.source, l.super = true, SourceLimiter, false
		// No control meter configured counts as stale: the user asked for
		// a limit we cannot measure, so the safe fallback applies.
		if !settings.IsControlMeter(s.Meter2Type) || !l.siteOK || now.Sub(l.site.At) > l.p.MeterStale {
			l.stale = true
			break
		}
		lo, hi = units.Amps(math.Inf(1)), units.Amps(math.Inf(1))
		if s.ControlStrategy == 1 {
			lo, hi = l.fromMeter(now, s, in, phases)
		}
		if in.mode.Solar() {
			slo, shi := l.surplus(in, phases)
			l.solarW = units.PowerFor(max(slo, 0), phases)
			if in.mode == ModeMinSolar || l.ride(now, shi) {
				// 6 A at least, but never above what ControlLimit allows.
				slo, shi = max(slo, settings.MinCurrent), max(shi, settings.MinCurrent)
			}
			if shi < hi || slo < lo {
				l.source = SourceSolar
			}
			lo, hi = min(lo, slo), min(hi, shi)
		}
	default:
		// Limiter off: a stale or absent control meter never blocks charging.
		*l = limiter{p: l.p, lease: l.lease, site: l.site, siteOK: l.siteOK, adv: l.adv, chg: l.chg, nChg: l.nChg}
		return
	}
	if l.stale {
		if !wasStale {
			l.staleAt = now
		}
		l.source = SourceFallback
		switch l.p.Fallback {
		case FallbackPause:
			lo = 0
		case FallbackFixed:
			lo = l.p.FallbackCurrent
		default:
			lo = settings.MinCurrent
		}
		hi = lo
	}
	l.available = units.PowerFor(max(lo, 0), phases)
	if in.ceiling > 0 {
		// Ramp relative to what can really be advertised, so a climb is
		// gradual on the pilot and not only inside the limiter.
		lo, hi = min(lo, in.ceiling), min(hi, in.ceiling)
	}
	out := l.out
	l.step(now, lo, hi, s.ControlLimit, wasStale != l.stale)
	if l.overRead && !l.stale && l.out < out {
		l.overCutAt = now
	}
}

// ride reports whether a dip of the solar surplus below 6 A (shi, what
// may surely be drawn) is ridden at 6 A: only while charging, for at
// most SolarHold from the dip's start. The timer restarts only once the
// surplus carries 6 A again, so a long shade pauses after SolarHold
// however it flickers below 6 A.
func (l *limiter) ride(now time.Time, shi units.Amps) bool {
	if shi.Floor() >= settings.MinCurrent || l.out == 0 { // paused: out is 0
		l.dipAt, l.rideWhy = time.Time{}, ""
		return false
	}
	if l.dipAt.IsZero() {
		l.dipAt = now
		l.rideWhy = fmt.Sprintf("solar surplus below 6 A: holding 6 A until %s (limiter.solar_hold), then pausing",
			now.Add(l.p.SolarHold).UTC().Format("15:04:05"))
	}
	if now.Sub(l.dipAt) < l.p.SolarHold {
		return true
	}
	l.rideWhy = ""
	return false
}

// rideReason is the text for Status.Reason while a dip is ridden; ""
// otherwise.
func (l *limiter) rideReason() string {
	if !l.active || l.paused || l.stale {
		return ""
	}
	return l.rideWhy
}

// fromMeter applies the issue-6 formula to the control meter's reading:
// (limit − site + EV) / (230 V × phases), and per phase
// PhaseCurrentLimit − (I_phase − I_EV,phase). Without a measured EV draw
// it returns the result for the least (lo) and the most (hi) the EV may
// have drawn when the meter read; over a limit, hi is blindCut's.
func (l *limiter) fromMeter(now time.Time, s *settings.Settings, in limitInput, phases int) (lo, hi units.Amps) {
	l.overRead = l.over(s, phases)
	d := in.ev.at.Sub(l.site.At)
	together := d <= simultaneous && d >= -simultaneous
	skewOK := in.ev.measured && d <= maxMeterSkew && d >= -maxMeterSkew
	if skewOK && (together || l.settled(minTime(in.ev.at, l.site.At))) {
		a := l.formula(s, in.ev, phases)
		return a, a
	}
	evLo, evHi := l.evRange(l.site.At)
	lo, hi = l.formula(s, uniform(evLo, phases), phases), l.formula(s, uniform(evHi, phases), phases)
	if l.overRead && (l.overCutAt.IsZero() || now.Sub(l.overCutAt) >= l.p.EVResponse) {
		hi = l.blindCut(s, in, skewOK, evLo, hi, phases)
	}
	return lo, hi
}

// blindCut is the reduction over a limit with the car's draw unknown (no
// statistics meter, or one read while the car was still following a
// change of the pilot). The reading is then house plus a car drawing
// anything from evMin up to its offer on each of its phases: it may be
// capped below the offer, or charge on fewer phases than configured.
// Taking only the excess off the offer (hi, the car assumed at its offer)
// fixes nothing when the car draws less than that, and the next cut must
// wait out EVResponse: the fuse then stays overloaded cut after cut, for
// tens of seconds (issue 9 item 6). The cut that is back under within the
// car's response whatever it draws holds with the house at the whole
// reading less evMin and the car at its new offer: limit − (site − evMin).
// Without meter 1 evMin is 0 and, the site being over the limit, that is
// below 0 A: a pause. With meter 1 read within maxMeterSkew, evMin is the
// lower of its reading and the least offered since.
//
// It does not oscillate: it applies only while a reading is over a limit,
// so a car charging under the limit is never cut for its own draw (which
// would ratchet the offer down reading after reading); it applies once
// per overload, not again within EVResponse of the cut it made, so the
// readings taken while the car follows that cut are not taken for new
// house load; and the resume after a pause starts from readings with the
// car at 0 A, which are exact, so it does not overshoot into the next
// pause. The price without meter 1 is a pause where a cut might have
// done: the control meter cannot tell house from car.
func (l *limiter) blindCut(s *settings.Settings, in limitInput, skewOK bool, evLo, hi units.Amps, phases int) units.Amps {
	evMin := evDraw{}
	if skewOK {
		evMin = lower(in.ev, evLo, phases)
	}
	cut := l.formula(s, evMin, phases)
	// The pause text says so when this rule alone pauses for want of meter 1.
	l.blind = !in.ev.measured && hi.Floor() >= settings.MinCurrent && cut.Floor() < settings.MinCurrent
	return min(hi, cut)
}

// lower is the least of a statistics-meter reading and an offer of a, per
// phase and in total.
func lower(ev evDraw, a units.Amps, phases int) evDraw {
	d := evDraw{power: min(ev.power, units.PowerFor(a, phases))}
	for i := 0; i < phases && i < 3; i++ {
		d.phase[i] = min(ev.phase[i], a)
	}
	return d
}

// over reports whether the control meter's reading is above ControlLimit
// or, on a phase the car may use, above PhaseCurrentLimit.
func (l *limiter) over(s *settings.Settings, phases int) bool {
	if l.site.Power > units.Watts(s.ControlLimit) {
		return true
	}
	if l.site.HasPhases {
		for i := 0; i < phases && i < 3; i++ {
			if l.site.PhasePower[i] > 0 && l.site.PhaseCurrent[i] > units.Amps(s.PhaseCurrentLimit) {
				return true
			}
		}
	}
	return false
}

// settled reports whether the car's draw was steady from t on: the
// advertised current last changed at least EVResponse before t. Only then
// do two meters read at different moments see the same draw; during a
// ramp the statistics meter may still show the old value while the
// control meter already sees the new one (they are polled at different
// periods), which would read as house load. While it is not settled the
// limiter bounds the draw from the pilot; a follow-up reduction can then
// lag by up to EVResponse, the first one never does.
func (l *limiter) settled(t time.Time) bool {
	if l.nChg == 0 {
		return true
	}
	last := l.chg[(l.nChg-1)%len(l.chg)].at
	return last.Before(t.Add(-l.p.EVResponse))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// simultaneous is how close two readings must be to count as taken at
// the same moment even while the car's draw is changing.
const simultaneous = 50 * time.Millisecond

// maxMeterSkew is how far apart the statistics and control meters may
// read for the EV's measured draw to stand for its draw at the control
// meter's reading; further apart, the limiter bounds it from the pilot.
const maxMeterSkew = 2 * time.Second

// uniform is an EV drawing a on each of its phases.
func uniform(a units.Amps, phases int) evDraw {
	d := evDraw{power: units.PowerFor(a, phases)}
	for i := 0; i < phases && i < 3; i++ {
		d.phase[i] = a
	}
	return d
}

// surplus is the solar modes' current: what the site exports plus what
// the car itself draws (so the car's own draw is never taken for house
// load), plus the SolarImport allowance, per phase. It brackets the car's
// draw like fromMeter when no statistics meter measured it with the
// reading, but never cuts blindly: an import over the allowance is not
// an overload, only less surplus.
func (l *limiter) surplus(in limitInput, phases int) (lo, hi units.Amps) {
	limitW := l.p.SolarImport
	d := in.ev.at.Sub(l.site.At)
	together := d <= simultaneous && d >= -simultaneous
	skewOK := in.ev.measured && d <= maxMeterSkew && d >= -maxMeterSkew
	if skewOK && (together || l.settled(minTime(in.ev.at, l.site.At))) {
		a := units.CurrentFor(limitW-l.site.Power+in.ev.power, phases)
		return a, a
	}
	evLo, evHi := l.evRange(l.site.At)
	lo = units.CurrentFor(limitW-l.site.Power+units.PowerFor(evLo, phases), phases)
	hi = units.CurrentFor(limitW-l.site.Power+units.PowerFor(evHi, phases), phases)
	return lo, hi
}

func (l *limiter) formula(s *settings.Settings, ev evDraw, phases int) units.Amps {
	raw := units.CurrentFor(units.Watts(s.ControlLimit)-l.site.Power+ev.power, phases)
	if l.site.HasPhases {
		for i := 0; i < phases && i < 3; i++ {
			site := l.site.PhaseCurrent[i]
			if l.site.PhasePower[i] < 0 {
				site = -site // exporting: the EV's current first cancels the export
			}
			if pl := units.Amps(s.PhaseCurrentLimit) - (site - ev.phase[i]); pl < raw {
				raw = pl
			}
		}
	}
	return raw
}

// step applies the dynamics to the available current, known to lie in
// [lo, hi]: reductions and pauses follow hi (what is surely too much),
// increases and resumes follow lo (what is surely available).
func (l *limiter) step(now time.Time, lo, hi units.Amps, limitW int, staleChanged bool) {
	if l.paused && staleChanged {
		l.why = l.pauseText(limitW, true) // the reason changed while paused
	}
	up := lo.Floor()
	switch {
	case l.paused || up <= l.out:
		l.upSince = time.Time{}
	case l.upSince.IsZero():
		l.upSince, l.upMin = now, lo
	default:
		l.upMin = min(l.upMin, lo)
	}
	switch {
	case l.paused:
		// The fallback current is a configured value, not a measurement
		// that could be noise, so it needs no margin; MinPause still holds.
		need := settings.MinCurrent + l.p.ResumeMargin
		if l.stale {
			need = settings.MinCurrent
		}
		if now.Sub(l.pausedAt) >= max(l.pauseMin, l.p.MinPause) && lo >= need {
			// Resume at what is surely available: the 0.5 A margin and the
			// pause already filtered noise, and the EV ramps up by itself.
			l.paused, l.why, l.resumedAt = false, "", now
			l.out, l.changedAt = max(up, settings.MinCurrent), now
		}
	case hi.Floor() < settings.MinCurrent || l.out == 0 && up < settings.MinCurrent:
		l.paused, l.pausedAt, l.changedAt = true, now, now
		l.pauseMin = l.p.MinPause
		if !l.resumedAt.IsZero() && now.Sub(l.resumedAt) < l.p.ShortRun {
			l.pauseMin = min(max(l.pauseMin, 2*l.lastPause), l.p.MaxPause)
		}
		l.lastPause = max(l.pauseMin, l.p.MinPause)
		l.out = 0
		l.why = l.pauseText(limitW, false)
	case hi.Floor() < l.out:
		l.out, l.changedAt = hi.Floor(), now // protecting the fuse outranks the 5 s spacing
	case l.out == 0 && up >= settings.MinCurrent:
		l.out, l.changedAt = up, now // first value since the limiter became active
	case !l.upSince.IsZero() && now.Sub(l.upSince) >= l.p.StepInterval && now.Sub(l.changedAt) >= l.p.StepInterval:
		// Climb only on a surplus that held for a whole StepInterval, and
		// half the gap (at least 1 A) per step, so a noisy signal is
		// followed smoothly rather than chased up and down.
		up = l.upMin.Floor()
		l.out, l.changedAt = min(l.out+max(1, ((up-l.out)/2).Floor()), up), now
		l.upSince, l.upMin = now, lo // the next step needs its own StepInterval of surplus
	}
}

// pauseText explains a pause; it runs on transitions only. ongoing says
// the pause began earlier for another reason.
func (l *limiter) pauseText(limitW int, ongoing bool) string {
	resume := l.pausedAt.Add(max(l.pauseMin, l.p.MinPause)).UTC().Format("15:04:05")
	input := "control meter reading"
	if l.super {
		input = "supervisor lease"
	}
	switch {
	case l.stale:
		return fmt.Sprintf("paused: %s stale since %s (fallback %s; earliest resume %s)",
			input, l.staleAt.UTC().Format("15:04:05"), l.p.Fallback, resume)
	case ongoing:
		return fmt.Sprintf("paused: %s fresh again; minimum pause until %s, then ≥ %.1f A needed",
			input, resume, float64(settings.MinCurrent+l.p.ResumeMargin))
	case l.blind:
		return fmt.Sprintf("paused: site over its limit and, without a statistics meter (Meter1Type), the car's draw is unknown; earliest resume %s with ≥ %.1f A",
			resume, float64(settings.MinCurrent+l.p.ResumeMargin))
	case l.super:
		return fmt.Sprintf("paused: supervisor grants %.0f W, below 6 A; earliest resume %s with ≥ %.1f A",
			float64(l.lease.power), resume, float64(settings.MinCurrent+l.p.ResumeMargin))
	}
	if l.source == SourceSolar {
		return fmt.Sprintf("paused: %.0f W of solar surplus (with the %.0f W import allowance), below 6 A; earliest resume %s with ≥ %.1f A",
			float64(l.available), float64(l.p.SolarImport), resume, float64(settings.MinCurrent+l.p.ResumeMargin))
	}
	return fmt.Sprintf("paused: %.0f W available under the %d W limit, below 6 A; earliest resume %s with ≥ %.1f A",
		float64(l.available), limitW, resume, float64(settings.MinCurrent+l.p.ResumeMargin))
}

// track records changes of the advertised current for evRange.
func (l *limiter) track(now time.Time, adv units.Amps) {
	if adv != l.adv {
		l.chg[l.nChg%len(l.chg)] = change{at: now, from: l.adv}
		l.nChg++
	}
	l.adv = adv
}

// evRange bounds what the EV drew when the control meter read at: the
// currents advertised from at − EVResponse until at.
func (l *limiter) evRange(at time.Time) (lo, hi units.Amps) {
	from := at.Add(-l.p.EVResponse)
	n := min(l.nChg, len(l.chg))
	v, i := l.adv, 0
	for ; i < n; i++ { // changes after the reading: the meter saw what came before
		c := l.chg[(l.nChg-1-i)%len(l.chg)]
		if !c.at.After(at) {
			break
		}
		v = c.from
	}
	lo, hi = v, v
	for ; i < n; i++ {
		c := l.chg[(l.nChg-1-i)%len(l.chg)]
		if !c.at.After(from) {
			break
		}
		v = c.from
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// pauseReason is the text for Status.Reason while the limiter pauses
// charging; "" when it does not.
func (l *limiter) pauseReason() string {
	if !l.active || !l.paused {
		return ""
	}
	return l.why
}
