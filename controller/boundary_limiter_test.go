package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestLimiterParamsEdges: each limiter parameter on the edge of what is
// allowed is accepted, one step beyond it refused.
func TestLimiterParamsEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(p *LimiterParams)
		ok   bool
	}{
		{"defaults", func(p *LimiterParams) {}, true},
		{"LeaseTTL 1 ns", func(p *LimiterParams) { p.LeaseTTL = 1 }, true},
		{"LeaseTTL 0", func(p *LimiterParams) { p.LeaseTTL = 0 }, false},
		{"MeterStale 1 ns", func(p *LimiterParams) { p.MeterStale = 1 }, true},
		{"MeterStale 0", func(p *LimiterParams) { p.MeterStale = 0 }, false},
		{"MinPause 0", func(p *LimiterParams) { p.MinPause = 0 }, true},
		{"MinPause −1 ns", func(p *LimiterParams) { p.MinPause = -1 }, false},
		{"MaxPause 0", func(p *LimiterParams) { p.MaxPause = 0 }, true},
		{"MaxPause −1 ns", func(p *LimiterParams) { p.MaxPause = -1 }, false},
		{"ShortRun 0", func(p *LimiterParams) { p.ShortRun = 0 }, true},
		{"ShortRun −1 ns", func(p *LimiterParams) { p.ShortRun = -1 }, false},
		{"ResumeMargin 0.5 A", func(p *LimiterParams) { p.ResumeMargin = 0.5 }, true},
		{"ResumeMargin 0.49 A", func(p *LimiterParams) { p.ResumeMargin = 0.49 }, false},
		{"Fallback minimum", func(p *LimiterParams) { p.Fallback = FallbackMinimum }, true},
		{"Fallback −1", func(p *LimiterParams) { p.Fallback = -1 }, false},
		{"Fallback fixed at 6 A", func(p *LimiterParams) { p.Fallback, p.FallbackCurrent = FallbackFixed, 6 }, true},
		{"Fallback fixed at 5.9 A", func(p *LimiterParams) { p.Fallback, p.FallbackCurrent = FallbackFixed, 5.9 }, false},
		{"Fallback fixed + 1", func(p *LimiterParams) { p.Fallback = FallbackFixed + 1 }, false},
		{"Fallback pause ignores the current", func(p *LimiterParams) { p.Fallback, p.FallbackCurrent = FallbackPause, 0 }, true},
	} {
		p := DefaultLimiterParams()
		c.edit(&p)
		err := p.Validate()
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrLimiterParams) {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// TestReasonAtSixAmps: charging at exactly 6 A is charging, not a pause.
func TestReasonAtSixAmps(t *testing.T) {
	b := newBench(t, func(_ *Params, s *settings.Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 6, 6 })
	b.charge()
	b.run(time.Second)
	if b.duty != DutyFor(6) || strings.Contains(b.st.Reason, "paused") {
		t.Fatalf("at 6 A: duty %d, reason %q", b.duty, b.st.Reason)
	}
}

// TestLimiterPauseReason: a pause for lack of power says what is
// available and when charging may resume, not only that it is paused.
func TestLimiterPauseReason(t *testing.T) {
	b := limiterBench(t)
	for end := b.now.Add(2 * time.Second); b.now.Before(end); {
		b.m.SetMeter(2, hw.MeterReading{At: b.now, Power: 20000})
		b.step()
	}
	if !b.st.LimiterPaused || !strings.Contains(b.st.Reason, "W available under the 11000 W limit") || !strings.Contains(b.st.Reason, "earliest resume") ||
		!strings.Contains(b.st.Reason, "with ≥ 6.5 A") {
		t.Fatalf("paused %v, reason %q", b.st.LimiterPaused, b.st.Reason)
	}
	// The meter goes silent past MeterStale, then reads again: the pause
	// goes on, and the reason says what it now waits for.
	b.run(DefaultLimiterParams().MeterStale + time.Second)
	if !strings.Contains(b.st.Reason, "stale since") {
		t.Fatalf("meter silent: reason %q", b.st.Reason)
	}
	b.m.SetMeter(2, hw.MeterReading{At: b.now, Power: 20000})
	b.step()
	if !b.st.LimiterPaused || !strings.Contains(b.st.Reason, "fresh again") || !strings.Contains(b.st.Reason, "then ≥ 6.5 A needed") {
		t.Fatalf("meter back: paused %v, reason %q", b.st.LimiterPaused, b.st.Reason)
	}
}

// TestSupervisorPauseReason: a supervisor's grant below 6 A pauses
// charging, and the reason names the grant and what a resume needs.
func TestSupervisorPauseReason(t *testing.T) {
	b := newBench(t, func(_ *Params, s *settings.Settings) {
		s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7"
	})
	if err := b.m.SetSupervisorPower(1000, b.now); err != nil {
		t.Fatal(err)
	}
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	b.run(2 * time.Second)
	if !b.st.LimiterPaused || b.pwm() || !strings.Contains(b.st.Reason, "supervisor grants 1000 W") || !strings.Contains(b.st.Reason, "with ≥ 6.5 A") {
		t.Fatalf("paused %v, duty %d, reason %q", b.st.LimiterPaused, b.duty, b.st.Reason)
	}
}

// TestUnlockOnlyAfterFeedbackOpen: when the car goes (state A) while
// the cable stays in the socket (its PP still valid), the cable is
// released only on a step that has read the contactor open — never in
// the step that commands it open.
func TestUnlockOnlyAfterFeedbackOpen(t *testing.T) {
	b := newBench(t, func(_ *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.ohms, b.ppFixed = 220, true
	b.charge()
	b.vehicle(func(v *simVehicle) { v.Plugged = false })
	b.until(time.Second, "unlock", func() bool { return !b.lockCmd })
	if b.closed || !b.lockAt.After(b.closedAt) {
		t.Fatalf("contactor %v opened at %v, cable released at %v: want the release after a step that read it open",
			b.closed, b.closedAt.Sub(epoch), b.lockAt.Sub(epoch))
	}
}

// TestPausedLimiterDoesNotAllocate: a pause that goes on (the control
// meter keeps reading too much load) costs no allocation per step; the
// reason text is built on transitions only.
func TestPausedLimiterDoesNotAllocate(t *testing.T) {
	b := limiterBench(t)
	load := hw.MeterReading{Power: 20000}
	for end := b.now.Add(2 * time.Second); b.now.Before(end); {
		load.At = b.now
		b.m.SetMeter(2, load)
		b.step()
	}
	if !b.st.LimiterPaused {
		t.Fatal("not paused")
	}
	allocs := testing.AllocsPerRun(50, func() {
		b.now = b.now.Add(tick)
		load.At = b.now
		b.m.SetMeter(2, load)
		b.m.Step(b.now)
	})
	b.m.Snapshot(b.now, &b.st)
	if allocs != 0 || !b.st.LimiterPaused {
		t.Fatalf("%v allocations per paused step (paused %v), want 0", allocs, b.st.LimiterPaused)
	}
}

// TestShortRunEdge: a pause that follows a resume by less than ShortRun
// doubles the next minimum pause; one that follows by exactly ShortRun
// does not.
func TestShortRunEdge(t *testing.T) {
	p := DefaultLimiterParams()
	for _, c := range []struct {
		run   time.Duration // charging between resume and the next pause
		pause time.Duration // minimum of that pause
	}{
		{p.ShortRun, p.MinPause},
		{p.ShortRun - 100*time.Millisecond, 2 * p.MinPause},
	} {
		s := settings.Defaults()
		s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUSDM72D, 12000
		l := limiter{p: p}
		house := units.Watts(20000)
		now := epoch
		update := func() {
			l.site, l.siteOK = hw.MeterReading{At: now, Power: house}, true
			l.update(now, &s, limitInput{ceiling: 16, phases: 3, ev: evDraw{measured: true, at: now}})
		}
		advance := func(d time.Duration) {
			for end := now.Add(d); now.Before(end); {
				now = now.Add(100 * time.Millisecond)
				update()
			}
		}
		update()
		if !l.paused {
			t.Fatal("20 kW of house load under 12 kW: not paused")
		}
		house = 0
		advance(p.MinPause)
		if l.paused {
			t.Fatalf("not resumed after MinPause")
		}
		advance(c.run - 100*time.Millisecond)
		house = 20000
		advance(100 * time.Millisecond)
		if !l.paused {
			t.Fatal("not paused again")
		}
		house = 0
		advance(c.pause - 100*time.Millisecond)
		if !l.paused {
			t.Fatalf("after a run of %v: resumed before %v", c.run, c.pause)
		}
		advance(100 * time.Millisecond)
		if l.paused {
			t.Fatalf("after a run of %v: still paused after %v", c.run, c.pause)
		}
	}
}

// TestOfferWithdrawnBeforeTheCarDraws: while the car is connected but not
// charging (PWM on, contactor open) it draws nothing, and the limiter must
// not count the offer as its draw: house load that leaves less than 6 A
// withdraws the offer before the car can take it.
func TestOfferWithdrawnBeforeTheCarDraws(t *testing.T) {
	b := newBench(t, func(p *Params, s *settings.Settings) {
		s.ControlStrategy, s.Meter2Type, s.ControlLimit = 1, settings.MeterRTUNMID30, 11000
	})
	house := units.Watts(0)
	feed := func() { b.m.SetMeter(2, hw.MeterReading{At: b.now, Power: house}) }
	feed()
	b.vehicle(func(v *simVehicle) { v.Plugged = true }) // connected, not asking for charge
	for end := b.now.Add(10 * time.Second); b.now.Before(end); {
		b.step()
		feed()
	}
	if !b.pwm() || b.closed {
		t.Fatalf("setup: duty %d, contactor %v; want an offer in B", b.duty, b.closed)
	}
	house = 9000 // (11000 − 9000) / 690 = 2.9 A
	feed()
	b.until(time.Second, "offer withdrawn", func() bool { return !b.pwm() })
}
