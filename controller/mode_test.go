package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// feedRig is a rig whose control meter is the grid feed (Meter2Type 8)
// with the limiter off (ControlStrategy 0) and no statistics meter: the
// car's draw is the estimate from the pilot.
func feedRig(t *testing.T, mode Mode, mutate func(*Params, *settings.Settings)) *rig {
	r := newRig(t, func(p *Params, s *settings.Settings) {
		s.ControlStrategy, s.Meter2Type, s.Meter1Type = 0, settings.MeterGridFeed, settings.MeterNone
		if mutate != nil {
			mutate(p, s)
		}
	})
	if err := r.m.SetMode(mode, r.now); err != nil {
		t.Fatal(err)
	}
	return r
}

// sitePower is what a grid meter shows: house + car − PV.
func (r *rig) sitePower() units.Watts {
	var w units.Watts
	for _, p := range r.sim.SitePhases() {
		w += p.Power
	}
	return w
}

// runFeeding advances d, pushing the site's power every second while live
// (as a Home Assistant automation would).
func (r *rig) runFeeding(d time.Duration, live bool) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.step()
		if live && r.now.Sub(epoch)%time.Second == 0 {
			if err := r.m.SetGrid(GridReading{Power: r.sitePower()}, r.now); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// TestModeSolarChargesTheSurplusSteadily: in solar the daemon adds the
// car's own draw back to the grid reading, so a steady surplus gives a
// steady current — the Node-RED flow that forgot it closed the contactor
// 6 times in 90 s. Then the surplus goes: the dip is held at 6 A for
// SolarHold, the car pauses with a reason naming the surplus, and comes
// back after the minimum pause.
func TestModeSolarChargesTheSurplusSteadily(t *testing.T) {
	r := feedRig(t, ModeSolar, nil)
	r.sim.SetBuilding(500, 6000)
	r.runFeeding(2*time.Second, true)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.runFeeding(30*time.Second, true)
	// (100 W allowance + 5500 W export) / 690 = 8.1 A
	if r.st.CurrentLimit != 8 || r.st.LimitSource != SourceSolar || !r.st.ContactorFeedback || r.sim.State().EvCurrent != 8 {
		t.Fatalf("limit %v source %v contactor %v EV %v; want 8 A from the solar surplus",
			r.st.CurrentLimit, r.st.LimitSource, r.st.ContactorFeedback, r.sim.State().EvCurrent)
	}
	closings := r.closings
	for i := 0; i < 300; i++ {
		r.runFeeding(time.Second, true)
		if r.st.CurrentLimit != 8 {
			t.Fatalf("t=%v: limit moved to %v under a steady surplus", r.now.Sub(epoch), r.st.CurrentLimit)
		}
	}
	if r.closings != closings {
		t.Fatalf("%d contactor closings in 5 min of steady surplus", r.closings-closings)
	}
	if r.st.Mode != ModeSolar {
		t.Fatalf("status mode %v, want solar", r.st.Mode)
	}
	r.sim.SetBuilding(500, 2000) // a cloud: 1500 W + 100 W, below 6 A
	// The dip is ridden at 6 A for SolarHold (a passing cloud costs a
	// little import, not a contactor cycle), then the car pauses.
	dip := r.now
	r.runFeeding(8*time.Second, true)
	if r.st.LimiterPaused || r.st.CurrentLimit != 6 || r.st.DutyPermille != 100 || !strings.Contains(r.st.Reason, "holding 6 A") {
		t.Fatalf("paused %v limit %v duty %d reason %q; want 6 A held over the dip", r.st.LimiterPaused, r.st.CurrentLimit, r.st.DutyPermille, r.st.Reason)
	}
	hold := DefaultLimiterParams().SolarHold
	r.runFeeding(hold-r.now.Sub(dip)-2*time.Second, true)
	if r.st.LimiterPaused || r.st.CurrentLimit != 6 || r.closings != closings {
		t.Fatalf("%v into the dip: paused %v limit %v, %d closings; want 6 A until %v", r.now.Sub(dip), r.st.LimiterPaused, r.st.CurrentLimit, r.closings-closings, hold)
	}
	r.runFeeding(4*time.Second, true)
	if !r.st.LimiterPaused || r.st.DutyPermille != DutySteady || !strings.Contains(r.st.Reason, "solar surplus") {
		t.Fatalf("paused %v duty %d reason %q; want paused for want of surplus", r.st.LimiterPaused, r.st.DutyPermille, r.st.Reason)
	}
	pausedAt := r.now
	r.sim.SetBuilding(500, 12000)
	for r.st.DutyPermille == DutySteady {
		r.runFeeding(100*time.Millisecond, true)
		if r.now.Sub(pausedAt) > 2*time.Minute {
			t.Fatal("no resume within 2 min of ample surplus")
		}
	}
	if d := r.now.Sub(pausedAt); d < 50*time.Second {
		t.Fatalf("resumed %v after pausing, before the minimum pause", d)
	}
	r.runFeeding(time.Minute, true)
	if r.st.CurrentLimit != 16 {
		t.Fatalf("limit %v with 11.5 kW surplus, want the 16 A configured", r.st.CurrentLimit)
	}
}

// TestModeSolarMeasuredDraw: with a statistics meter the car's measured
// draw is added back, and the result is exact.
func TestModeSolarMeasuredDraw(t *testing.T) {
	r := feedRig(t, ModeSolar, func(_ *Params, s *settings.Settings) { s.Meter1Type = settings.MeterRTUSDM72D })
	r.sim.SetBuilding(300, 5000)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	for i := 0; i < 60; i++ {
		r.runFeeding(time.Second, true)
		r.m.SetMeter(1, reading(r.now, r.sim.EVPhases()))
	}
	// (100 + 4700) / 690 = 6.96 → 6 A
	if r.st.CurrentLimit != 6 || !r.st.ContactorFeedback {
		t.Fatalf("limit %v contactor %v; want 6 A", r.st.CurrentLimit, r.st.ContactorFeedback)
	}
}

// TestModeMinSolar: 6 A without any surplus, more with it, and
// ControlLimit still bounds the import (a pause when even 6 A is over it).
func TestModeMinSolar(t *testing.T) {
	r := feedRig(t, ModeMinSolar, func(_ *Params, s *settings.Settings) { s.ControlStrategy, s.ControlLimit = 1, 9000 })
	r.sim.SetBuilding(1000, 0)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.runFeeding(20*time.Second, true)
	if r.st.CurrentLimit != 6 || !r.st.ContactorFeedback {
		t.Fatalf("limit %v contactor %v with no surplus; want 6 A", r.st.CurrentLimit, r.st.ContactorFeedback)
	}
	r.sim.SetBuilding(1000, 9000) // 8000 W surplus: 11 A
	r.runFeeding(time.Minute, true)
	if r.st.CurrentLimit != 11 {
		t.Fatalf("limit %v with 8 kW surplus; want 11 A", r.st.CurrentLimit)
	}
	r.sim.SetBuilding(8000, 0) // the house alone leaves 1000 W under ControlLimit
	r.runFeeding(5*time.Second, true)
	if r.st.DutyPermille != DutySteady || !r.st.LimiterPaused {
		t.Fatalf("duty %d paused %v with the site over ControlLimit; minsolar must not override it", r.st.DutyPermille, r.st.LimiterPaused)
	}
}

// TestModeNowKeepsTodaysBehaviour: the default mode ignores the surplus.
func TestModeNowKeepsTodaysBehaviour(t *testing.T) {
	r := feedRig(t, ModeNow, nil)
	r.sim.SetBuilding(3000, 0)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.runFeeding(20*time.Second, true)
	if r.st.CurrentLimit != 16 || r.st.LimitSource != SourceConfig || r.st.LimiterActive {
		t.Fatalf("limit %v source %v active %v; want 16 A from the configuration", r.st.CurrentLimit, r.st.LimitSource, r.st.LimiterActive)
	}
}

// TestModeOffStopsTheSession: off withdraws the PWM, opens the contactor
// and ends the session; a start in off charges nothing; now charges again.
func TestModeOffStopsTheSession(t *testing.T) {
	r := feedRig(t, ModeNow, nil)
	r.plugAndCharge()
	if err := r.m.SetMode(ModeOff, r.now); err != nil {
		t.Fatal(err)
	}
	r.step()
	if r.st.ChargerStarted || r.st.DutyPermille != DutySteady || r.st.Reason != "charging mode off" {
		t.Fatalf("started %v duty %d reason %q right after off", r.st.ChargerStarted, r.st.DutyPermille, r.st.Reason)
	}
	r.until(7*time.Second, "contactor open", func() bool { return !r.st.ContactorFeedback })
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	r.run(10 * time.Second)
	if r.st.ContactorClosed || r.st.DutyPermille != DutySteady || r.st.LimitSource != SourceMode {
		t.Fatalf("closed %v duty %d source %v in mode off", r.st.ContactorClosed, r.st.DutyPermille, r.st.LimitSource)
	}
	if err := r.m.SetMode(ModeNow, r.now); err != nil {
		t.Fatal(err)
	}
	r.until(10*time.Second, "charging again", func() bool { return r.st.ContactorFeedback && r.st.CurrentLimit == 16 })
}

// TestGridFeedStaleness: a pushed reading goes stale after MeterStale like
// a Modbus meter's and the fallback applies; a fresh one ends it.
func TestGridFeedStaleness(t *testing.T) {
	r := feedRig(t, ModeSolar, func(p *Params, _ *settings.Settings) { p.Limiter.Fallback = FallbackPause })
	r.sim.SetBuilding(0, 8000)
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.runFeeding(2*time.Minute, true) // the pause fallback held until the first reading: a minimum pause
	if r.st.LimiterStale || r.st.CurrentLimit < 10 {
		t.Fatalf("stale %v limit %v while fed", r.st.LimiterStale, r.st.CurrentLimit)
	}
	last := r.now.Truncate(time.Second)
	r.runFeeding(9500*time.Millisecond, false)
	if r.st.LimiterStale {
		t.Fatalf("stale %v after the last reading, before MeterStale", r.now.Sub(last))
	}
	r.runFeeding(time.Second, false)
	if !r.st.LimiterStale || r.st.LimitSource != SourceFallback || r.st.DutyPermille != DutySteady || !strings.Contains(r.st.Reason, "stale") {
		t.Fatalf("after %v: stale %v source %v duty %d reason %q; want the pause fallback",
			r.now.Sub(last), r.st.LimiterStale, r.st.LimitSource, r.st.DutyPermille, r.st.Reason)
	}
	r.runFeeding(2*time.Second, true)
	if r.st.LimiterStale {
		t.Fatal("still stale after fresh readings")
	}
}

// TestGridFeedNeedsMeter2Type8: a pushed reading is refused (and changes
// nothing) unless the control meter is the grid feed.
func TestGridFeedNeedsMeter2Type8(t *testing.T) {
	r := limitedRig(t, nil)
	if err := r.m.SetGrid(GridReading{Power: -5000}, r.now); !errors.Is(err, ErrNoGridFeed) {
		t.Fatalf("err %v, want ErrNoGridFeed", err)
	}
	if r.m.lim.siteOK {
		t.Fatal("a refused reading reached the limiter")
	}
	r = feedRig(t, ModeSolar, nil)
	if err := r.m.SetGrid(GridReading{Power: 100, Currents: [3]units.Amps{-2, 1, 3}, HasPhases: true}, r.now); err != nil {
		t.Fatal(err)
	}
	if got := r.m.lim.site; got.PhaseCurrent != [3]units.Amps{2, 1, 3} || got.PhasePower[0] >= 0 || got.At != r.now {
		t.Fatalf("reading %+v: currents are magnitudes, the sign goes to the phase power, stamped now", got)
	}
}

// TestModeSurvivesRestart: Reset carries the mode into the fresh machine.
func TestModeSurvivesRestart(t *testing.T) {
	r := feedRig(t, ModeMinSolar, nil)
	r.restart()
	r.until(10*time.Second, "restarted", func() bool { return r.c.restart == nil })
	if r.m.Mode() != ModeMinSolar || r.st.Mode != ModeMinSolar {
		t.Fatalf("mode %v after Reset, want minsolar", r.m.Mode())
	}
}

func TestParseMode(t *testing.T) {
	for _, n := range ModeNames() {
		m, err := ParseMode(strings.ToUpper(n))
		if err != nil || m.String() != n {
			t.Fatalf("%q: %v %v", n, m, err)
		}
	}
	if _, err := ParseMode("eco" + strings.Repeat("x", 100)); !errors.Is(err, ErrMode) || len(err.Error()) > 120 {
		t.Fatalf("err %v: want a short ErrMode", err)
	}
}

// TestModeSolarRide: a dip shorter than SolarHold never pauses and its
// timer starts again once the surplus carries 6 A; SolarHold 0 pauses at
// once; ControlLimit still bounds the site while a dip is ridden; the
// other modes never ride.
func TestModeSolarRide(t *testing.T) {
	t.Run("short dips", func(t *testing.T) {
		r := feedRig(t, ModeSolar, nil)
		r.sim.SetBuilding(500, 6000)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.runFeeding(30*time.Second, true)
		closings := r.closings
		hold := DefaultLimiterParams().SolarHold
		for i := 0; i < 4; i++ { // four dips of 2/3 of the hold, 20 s of sun between
			r.sim.SetBuilding(500, 1500)
			r.runFeeding(hold*2/3, true)
			if r.st.LimiterPaused || r.st.CurrentLimit != 6 {
				t.Fatalf("dip %d: paused %v limit %v; want 6 A held", i, r.st.LimiterPaused, r.st.CurrentLimit)
			}
			r.sim.SetBuilding(500, 6000)
			r.runFeeding(20*time.Second, true)
			if r.st.Reason != "" {
				t.Fatalf("dip %d over: reason %q, want none", i, r.st.Reason)
			}
		}
		if r.closings != closings {
			t.Fatalf("%d contactor closings over dips shorter than the hold", r.closings-closings)
		}
	})
	t.Run("hold 0", func(t *testing.T) {
		r := feedRig(t, ModeSolar, func(p *Params, _ *settings.Settings) { p.Limiter.SolarHold = 0 })
		r.sim.SetBuilding(500, 6000)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.runFeeding(30*time.Second, true)
		r.sim.SetBuilding(500, 1500)
		r.runFeeding(3*time.Second, true)
		if !r.st.LimiterPaused {
			t.Fatalf("limit %v reason %q with SolarHold 0; want paused at once", r.st.CurrentLimit, r.st.Reason)
		}
	})
	t.Run("ControlLimit", func(t *testing.T) {
		r := feedRig(t, ModeSolar, func(_ *Params, s *settings.Settings) { s.ControlStrategy, s.ControlLimit = 1, 3000 })
		r.sim.SetBuilding(500, 6000)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.runFeeding(30*time.Second, true)
		if r.st.LimiterPaused || !r.st.ContactorFeedback {
			t.Fatalf("not charging on 5.5 kW of surplus: %q", r.st.Reason)
		}
		// Shade and a kettle: riding 6 A (4140 W) would import 2640 W
		// over the 3000 W limit with the house at 3000 W.
		r.sim.SetBuilding(3000, 1500)
		r.runFeeding(5*time.Second, true)
		if !r.st.LimiterPaused || r.st.DutyPermille != DutySteady {
			t.Fatalf("paused %v duty %d limit %v: riding the dip must not override ControlLimit", r.st.LimiterPaused, r.st.DutyPermille, r.st.CurrentLimit)
		}
	})
	for _, mode := range []Mode{ModeNow, ModeMinSolar} {
		r := feedRig(t, mode, nil)
		r.sim.SetBuilding(500, 1500)
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
		r.runFeeding(30*time.Second, true)
		if strings.Contains(r.st.Reason, "holding") {
			t.Fatalf("mode %v: reason %q; only solar rides dips", mode, r.st.Reason)
		}
	}
}
