package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// lstep is one row of a limiter time series: at offset at, do happens
// (a meter reading, a lease, …), then the limiter updates with the EV
// drawing ev per phase (measured by meter 1 when measured) and must show
// the wanted output.
type lstep struct {
	at     time.Duration
	do     func(l *limiter, now time.Time)
	ev     units.Amps
	want   units.Amps
	paused bool
	stale  bool
	src    LimitSource
	reason string // substring of the pause reason, if set
	repeat bool   // do again every 500 ms until the next row (a meter poll)
}

// site delivers a control-meter reading of house load plus the EV.
func site(house units.Watts, ev units.Amps) func(*limiter, time.Time) {
	return func(l *limiter, now time.Time) {
		l.site, l.siteOK = hw.MeterReading{At: now, Power: house + units.PowerFor(ev, 3)}, true
	}
}

func leaseOf(w units.Watts) func(*limiter, time.Time) {
	return func(l *limiter, now time.Time) { l.setLease(w, now) }
}

func limiterSettings(mutate func(*settings.Settings)) settings.Settings {
	s := settings.Defaults()
	s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUSDM72D, 12000
	if mutate != nil {
		mutate(&s)
	}
	return s
}

// runSeries drives a limiter through steps; between rows it also updates
// every 100 ms with the previous row's EV draw, as the machine does every
// tick, so rules that hold "at most every 5 s" are really exercised.
func runSeries(t *testing.T, p LimiterParams, s settings.Settings, steps []lstep) {
	t.Helper()
	l := limiter{p: p}
	var now time.Time
	var ev units.Amps
	upd := func(at time.Time) {
		in := limitInput{ceiling: 16, phases: 3, ev: uniform(ev, 3), advertised: l.out}
		in.ev.measured, in.ev.at = true, l.site.At
		l.update(at, &s, in)
	}
	for i, st := range steps {
		for at := now.Add(100 * time.Millisecond); i > 0 && at.Before(epoch.Add(st.at)); at = at.Add(100 * time.Millisecond) {
			if prev := steps[i-1]; prev.repeat && at.Sub(now)%(500*time.Millisecond) == 0 {
				prev.do(&l, at)
			}
			upd(at)
		}
		now = epoch.Add(st.at)
		if st.do != nil {
			st.do(&l, now)
		}
		ev = st.ev
		upd(now)
		if l.out != st.want || l.paused != st.paused || l.stale != st.stale || l.source != st.src || !l.active {
			t.Fatalf("row %d (t=%v): out %v paused %v stale %v source %v active %v; want %v %v %v %v",
				i, st.at, l.out, l.paused, l.stale, l.source, l.active, st.want, st.paused, st.stale, st.src)
		}
		if st.reason != "" && !strings.Contains(l.pauseReason(), st.reason) {
			t.Fatalf("row %d: reason %q, want it to contain %q", i, l.pauseReason(), st.reason)
		}
	}
}

func TestLimiterSeries(t *testing.T) {
	s := limiterSettings(nil)
	sec := time.Second
	cases := []struct {
		name  string
		p     func(*LimiterParams)
		s     settings.Settings
		steps []lstep
	}{
		{"over-limit reduction at once", nil, s, []lstep{
			{at: 0, do: site(500, 0), want: 16, src: SourceLimiter},
			{at: 10 * sec, do: site(500, 16), ev: 16, want: 16, src: SourceLimiter},
			// +3 kW: (12000 − 14540 + 11040)/690 = 12.3 A, reduced 1 s after the last change
			{at: 11 * sec, do: site(3500, 16), ev: 16, want: 12, src: SourceLimiter},
			// and again 500 ms later: +2 kW more
			{at: 11*sec + 500*time.Millisecond, do: site(5500, 12), ev: 12, want: 9, src: SourceLimiter},
		}},
		{"gradual increase on a surplus held 5 s, at most every 5 s", nil, s, []lstep{
			{at: 0, do: site(5500, 0), want: 9, src: SourceLimiter},
			{at: 1 * sec, do: site(0, 9), ev: 9, want: 9, src: SourceLimiter, repeat: true},
			{at: 5 * sec, do: site(0, 9), ev: 9, want: 9, src: SourceLimiter, repeat: true},
			{at: 6 * sec, do: site(0, 9), ev: 9, want: 12, src: SourceLimiter}, // half of 9→16, floored
			{at: 10900 * time.Millisecond, do: site(0, 12), ev: 12, want: 12, src: SourceLimiter, repeat: true},
			{at: 11 * sec, do: site(0, 12), ev: 12, want: 14, src: SourceLimiter, repeat: true},
			{at: 16 * sec, do: site(0, 14), ev: 14, want: 15, src: SourceLimiter, repeat: true},
			{at: 21 * sec, do: site(0, 15), ev: 15, want: 16, src: SourceLimiter},
		}},
		{"a dip in the surplus restarts the 5 s it must hold", nil, s, []lstep{
			{at: 0, do: site(5500, 0), want: 9, src: SourceLimiter},
			{at: 1 * sec, do: site(0, 9), ev: 9, want: 9, src: SourceLimiter, repeat: true},
			// 4 s later the surplus dips to 9.6 A for one reading: no increase …
			{at: 5 * sec, do: site(5300, 9), ev: 9, want: 9, src: SourceLimiter},
			{at: 5500 * time.Millisecond, do: site(0, 9), ev: 9, want: 9, src: SourceLimiter, repeat: true},
			{at: 10400 * time.Millisecond, do: site(0, 9), ev: 9, want: 9, src: SourceLimiter, repeat: true},
			// … until it has held 5 s again
			{at: 10500 * time.Millisecond, do: site(0, 9), ev: 9, want: 12, src: SourceLimiter},
		}},
		{"a reduction restarts the 5 s spacing", nil, s, []lstep{
			{at: 0, do: site(2000, 0), want: 14, src: SourceLimiter},
			{at: 6 * sec, do: site(3000, 14), ev: 14, want: 13, src: SourceLimiter},
			{at: 6500 * time.Millisecond, do: site(0, 13), ev: 13, want: 13, src: SourceLimiter, repeat: true},
			{at: 11400 * time.Millisecond, do: site(0, 13), ev: 13, want: 13, src: SourceLimiter, repeat: true},
			{at: 11500 * time.Millisecond, do: site(0, 13), ev: 13, want: 14, src: SourceLimiter},
		}},
		{"pause below 6 A, resume only after min pause and 0.5 A margin", nil, s, []lstep{
			{at: 0, do: site(5000, 0), want: 10, src: SourceLimiter},
			// 12000 − 9000 = 3000 W → 4.3 A: pause at once
			{at: 1 * sec, do: site(9000, 10), ev: 10, want: 0, paused: true, src: SourceLimiter, reason: "below 6 A"},
			// 12000 − 7800 = 4200 W → 6.09 A: enough for 6 A but inside the margin
			{at: 5 * sec, do: site(7800, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			{at: 70 * sec, do: site(7800, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			// 4600 W → 6.67 A and 70 s after the pause began
			{at: 71 * sec, do: site(7400, 0), want: 6, src: SourceLimiter},
		}},
		{"min pause holds even with plenty of power", nil, s, []lstep{
			{at: 0, do: site(9000, 0), want: 0, paused: true, src: SourceLimiter},
			{at: 30 * sec, do: site(0, 0), want: 0, paused: true, src: SourceLimiter},
			{at: 59900 * time.Millisecond, do: site(0, 0), want: 0, paused: true, src: SourceLimiter},
			// resumes at what is surely available (capped at 16 A)
			{at: 60 * sec, do: site(0, 0), want: 16, src: SourceLimiter},
		}},
		{"meter staleness → minimum fallback, recovery climbs", nil, s, []lstep{
			{at: 0, do: site(0, 0), want: 16, src: SourceLimiter},
			{at: 10 * sec, ev: 16, want: 16, src: SourceLimiter},
			{at: 10*sec + 100*time.Millisecond, ev: 16, want: 6, stale: true, src: SourceFallback},
			{at: 12 * sec, do: site(0, 6), ev: 6, want: 6, src: SourceLimiter, repeat: true},
			{at: 16900 * time.Millisecond, do: site(0, 6), ev: 6, want: 6, src: SourceLimiter, repeat: true},
			{at: 17 * sec, do: site(0, 6), ev: 6, want: 11, src: SourceLimiter},
		}},
		{"no control meter reading ever → fallback at once", nil, s, []lstep{
			{at: 0, want: 6, stale: true, src: SourceFallback},
		}},
		{"control strategy 1 without a control meter → fallback", nil,
			limiterSettings(func(s *settings.Settings) { s.Meter2Type = settings.MeterNone }), []lstep{
				{at: 0, do: site(0, 0), want: 6, stale: true, src: SourceFallback},
			}},
		{"pause fallback", func(p *LimiterParams) { p.Fallback = FallbackPause }, s, []lstep{
			{at: 0, do: site(0, 0), want: 16, src: SourceLimiter},
			{at: 11 * sec, ev: 16, want: 0, paused: true, stale: true, src: SourceFallback, reason: "control meter reading stale"},
			{at: 20 * sec, do: site(0, 0), want: 0, paused: true, src: SourceLimiter, reason: "minimum pause"},
			{at: 71 * sec, do: site(0, 0), want: 16, src: SourceLimiter},
		}},
		{"a short run doubles the next minimum pause", nil, s, []lstep{
			{at: 0, do: site(9000, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			{at: 60 * sec, do: site(0, 0), want: 16, src: SourceLimiter},
			// 10 s of charging, then a cloud: the next pause lasts 120 s
			{at: 70 * sec, do: site(9000, 16), ev: 16, want: 0, paused: true, src: SourceLimiter, reason: "earliest resume 00:03:10", repeat: true},
			{at: 180 * sec, do: site(0, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			{at: 189900 * time.Millisecond, do: site(0, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			{at: 190 * sec, do: site(0, 0), want: 16, src: SourceLimiter, repeat: true},
			// 100 s of charging is no short run: back to 60 s
			{at: 290 * sec, do: site(9000, 16), ev: 16, want: 0, paused: true, src: SourceLimiter, reason: "earliest resume 00:05:50", repeat: true},
			{at: 349900 * time.Millisecond, do: site(0, 0), want: 0, paused: true, src: SourceLimiter, repeat: true},
			{at: 350 * sec, do: site(0, 0), want: 16, src: SourceLimiter},
		}},
		{"fixed fallback", func(p *LimiterParams) { p.Fallback, p.FallbackCurrent = FallbackFixed, 10 }, s, []lstep{
			{at: 0, do: site(0, 0), want: 16, src: SourceLimiter},
			{at: 11 * sec, ev: 16, want: 10, stale: true, src: SourceFallback},
		}},
		{"minimum fallback after a pause waits for the min pause", nil, s, []lstep{
			{at: 0, do: site(9000, 0), want: 0, paused: true, src: SourceLimiter},
			{at: 11 * sec, want: 0, paused: true, stale: true, src: SourceFallback, reason: "stale"},
			{at: 60 * sec, want: 6, stale: true, src: SourceFallback},
		}},
		{"supervisor lease and its expiry", nil, limiterSettings(func(s *settings.Settings) { s.Meter2Type = settings.MeterRemoteSuperv }), []lstep{
			{at: 0, do: leaseOf(6900), want: 10, src: SourceSupervisor},
			{at: 59900 * time.Millisecond, want: 10, src: SourceSupervisor},
			{at: 60 * sec, want: 6, stale: true, src: SourceFallback},
			{at: 61 * sec, do: leaseOf(11040), want: 6, src: SourceSupervisor},
			{at: 65 * sec, do: leaseOf(11040), want: 6, src: SourceSupervisor},
			{at: 66 * sec, do: leaseOf(11040), want: 11, src: SourceSupervisor},
			{at: 67 * sec, do: leaseOf(2000), want: 0, paused: true, src: SourceSupervisor, reason: "supervisor grants 2000 W"},
		}},
		{"no supervisor lease yet → fallback", nil, limiterSettings(func(s *settings.Settings) { s.Meter2Type = settings.MeterRemoteSuperv }), []lstep{
			{at: 0, want: 6, stale: true, src: SourceFallback},
			{at: 30 * sec, want: 6, stale: true, src: SourceFallback},
		}},
		{"per-phase limit", nil, limiterSettings(func(s *settings.Settings) { s.ControlLimit = 50000 }), []lstep{
			{at: 0, do: func(l *limiter, now time.Time) {
				// L1 carries 10 A of other load beside the EV's 10 A: 25 − 10 = 15 A
				l.site, l.siteOK = hw.MeterReading{At: now, Power: 8000, HasPhases: true,
					PhaseCurrent: [3]units.Amps{20, 12, 10}, PhasePower: [3]units.Watts{4600, 2760, 2300}}, true
			}, ev: 10, want: 15, src: SourceLimiter},
			{at: 1 * sec, do: func(l *limiter, now time.Time) {
				// exporting 9 A on L1 while the EV draws 10: other load is −19 A → not limiting
				l.site, l.siteOK = hw.MeterReading{At: now, Power: 3000, HasPhases: true,
					PhaseCurrent: [3]units.Amps{9, 12, 10}, PhasePower: [3]units.Watts{-2070, 2760, 2300}}, true
			}, ev: 10, want: 15, src: SourceLimiter},
			{at: 6 * sec, ev: 10, want: 16, src: SourceLimiter},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultLimiterParams()
			if c.p != nil {
				c.p(&p)
			}
			runSeries(t, p, c.s, c.steps)
		})
	}
}

// TestLimiterOff: with ControlStrategy 0 a dead control meter is ignored.
func TestLimiterOff(t *testing.T) {
	s := limiterSettings(func(s *settings.Settings) { s.ControlStrategy = 0 })
	l := limiter{p: DefaultLimiterParams()}
	l.site, l.siteOK = hw.MeterReading{At: epoch, Power: 50000}, true
	for _, d := range []time.Duration{0, time.Minute, time.Hour} {
		l.update(epoch.Add(d), &s, limitInput{ceiling: 16, phases: 3})
		if l.active || l.stale || l.paused || l.out != 0 {
			t.Fatalf("t=%v: active %v stale %v paused %v out %v, want inactive", d, l.active, l.stale, l.paused, l.out)
		}
	}
}

// TestLimiterNoCascade: without meter 1 and with a car that draws what it
// is offered, a reduction or an increase the control meter does not show
// yet (the EV takes up to 5 s to follow) is not taken for a change of
// house load: charging under the limit is never cut. A house step that
// puts the site over the limit pauses (the car's draw is unknown, issue 9
// item 6), and the resume, computed with the car at 0 A, is exact: it
// never leads to a second pause, and nothing moves after it.
func TestLimiterNoCascade(t *testing.T) {
	s := limiterSettings(nil)
	l := limiter{p: DefaultLimiterParams()}
	const resp = 2 * time.Second // the EV follows the pilot this late
	var drawn units.Amps
	var advAt time.Time
	var last units.Amps
	var outs []units.Amps
	pauses := 0
	for ms := 0; ms <= 150_000; ms += 10 {
		now := epoch.Add(time.Duration(ms) * time.Millisecond)
		if l.out != last {
			last, advAt = l.out, now
			outs = append(outs, l.out)
		}
		if now.Sub(advAt) >= resp {
			drawn = last
		}
		house := units.Watts(1000)
		if ms >= 20_000 {
			house = 4000
		}
		if ms%500 == 0 { // the control meter reads every 500 ms
			site(house, drawn)(&l, now)
		}
		wasPaused := l.paused
		l.update(now, &s, limitInput{ceiling: 16, phases: 3, advertised: l.out})
		if l.paused && !wasPaused {
			pauses++
			if ms < 20_000 {
				t.Fatalf("t=%v: paused (out %v) before the house step; the site never needs it", now.Sub(epoch), l.out)
			}
		}
	}
	// (12000 − 1000)/690 = 15.9 → 15 A; +3 kW puts the site at 14.35 kW:
	// pause; 60 s later (12000 − 4000)/690 = 11.6 → 11 A, and it stays.
	if want := []units.Amps{15, 0, 11}; fmt.Sprint(outs) != fmt.Sprint(want) || pauses != 1 {
		t.Fatalf("outputs %v with %d pauses; want %v with one pause (no cascade, no oscillation)", outs, pauses, want)
	}
}

func TestLimiterParamsValidate(t *testing.T) {
	if err := DefaultLimiterParams().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(*LimiterParams){
		func(p *LimiterParams) { p.LeaseTTL = 0 },
		func(p *LimiterParams) { p.MeterStale = 0 },
		func(p *LimiterParams) { p.ResumeMargin = 0.4 },
		func(p *LimiterParams) { p.Fallback, p.FallbackCurrent = FallbackFixed, 5 },
		func(p *LimiterParams) { p.Fallback = 9 },
	} {
		p := DefaultLimiterParams()
		f(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}

// TestLimiterSkewedEVMeter: a statistics-meter reading seconds older than
// the control meter's does not stand for the EV's draw (here it predates
// the EV starting): the limiter bounds the draw from the pilot instead of
// taking the EV's 11 kW for house load and pausing. (The site stays under
// the limit: over it, a reading that old bounds nothing and the car's draw
// counts as unknown, see blindCut.)
func TestLimiterSkewedEVMeter(t *testing.T) {
	s := limiterSettings(nil)
	l := limiter{p: DefaultLimiterParams(), adv: 16, out: 16} // advertising 16 A for long
	for ms := 0; ms <= 20_000; ms += 100 {
		now := epoch.Add(time.Duration(ms) * time.Millisecond)
		if ms%500 == 0 {
			site(500, 16)(&l, now) // the EV draws 16 A all along
		}
		in := limitInput{ceiling: 16, phases: 3, advertised: 16}
		in.ev = evDraw{measured: true, at: epoch.Add(-5 * time.Second)} // 0 A, 5 s before the first reading
		l.update(now, &s, in)
		if l.paused || l.out != 16 {
			t.Fatalf("t=%v: out %v paused %v; want 16 A ((12000 − 11540 + 11040)/690 = 16.7)", now.Sub(epoch), l.out, l.paused)
		}
	}
}

// TestLimiterLaggingEVMeterOnRamp: the statistics meter is polled every
// second, the control meter every 500 ms, out of phase. While the car
// ramps up, the control meter already sees its draw but meter 1 still
// shows the old value; taken at face value that reads as 11 kW of new
// house load and pauses charging right after every resume. While the
// advertised current has changed within EVResponse of the readings, the
// limiter must bound the draw from the pilot instead.
func TestLimiterLaggingEVMeterOnRamp(t *testing.T) {
	s := limiterSettings(nil) // 12000 W limit
	l := limiter{p: DefaultLimiterParams()}
	const resp = 2 * time.Second
	var drawn, last, m1Val units.Amps
	var advAt, m1At time.Time
	for ms := 0; ms <= 30_000; ms += 10 {
		now := epoch.Add(time.Duration(ms) * time.Millisecond)
		if l.out != last {
			last, advAt = l.out, now
		}
		if now.Sub(advAt) >= resp {
			drawn = last
		}
		if ms%500 == 0 {
			site(1000, drawn)(&l, now)
		}
		if ms%1000 == 700 {
			m1Val, m1At = drawn, now
		}
		in := limitInput{ceiling: 16, phases: 3, advertised: l.out}
		if !m1At.IsZero() {
			in.ev = uniform(m1Val, 3)
			in.ev.measured, in.ev.at = true, m1At
		}
		l.update(now, &s, in)
		if l.paused {
			t.Fatalf("t=%v: paused (out %v, drawn %v, meter 1 %v at %v); the site has 11 kW to spare",
				now.Sub(epoch), l.out, drawn, m1Val, m1At.Sub(epoch))
		}
	}
	if l.out != 15 { // (12000 − 1000)/690 = 15.9
		t.Fatalf("out %v, want 15", l.out)
	}
}
