package controller

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Tests that pin behaviour the mutation run found unpinned (see
// MUTANTS.md): the restart's settings hand-over, the boost across a
// restart, the refusal keys, and the loop's lost-step count.

// restartWith is SystemInfo Reset with the settings edit applied to the
// ones in force (as a Reset after a settings file change would load),
// stepped until the fresh machine is in force.
func (r *rig) restartWith(edit func(*settings.Settings)) {
	r.t.Helper()
	s := r.m.Settings()
	edit(&s)
	r.c.restartAt(r.now, r.m.p, func() settings.Settings { return s })
	r.restarted(10 * time.Second)
}

// A restart keeps ChargerMode and LockMethod while a car is connected,
// each on its own, and applies them when none is.
func TestRestartCableSettingsFollowTheCar(t *testing.T) {
	cases := []struct {
		name     string
		plugged  bool
		mode     int
		lock     int
		wantMode int
		wantLock int
	}{
		{"unplugged: mode applied", false, settings.ModeCaseB, 0, settings.ModeCaseB, 0},
		{"unplugged: lock applied", false, settings.ModeCaseC, 1, settings.ModeCaseC, 1},
		{"plugged: mode kept", true, settings.ModeCaseB, 0, settings.ModeCaseC, 0},
		{"plugged: lock kept", true, settings.ModeCaseC, 1, settings.ModeCaseC, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			if tc.plugged {
				r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
				r.until(time.Second, "connected", func() bool { return r.st.VehicleConnected })
			}
			r.restartWith(func(s *settings.Settings) { s.ChargerMode, s.LockMethod = tc.mode, tc.lock })
			got := r.m.Settings()
			if got.ChargerMode != tc.wantMode || got.LockMethod != tc.wantLock {
				t.Fatalf("after the restart ChargerMode %d LockMethod %d, want %d and %d",
					got.ChargerMode, got.LockMethod, tc.wantMode, tc.wantLock)
			}
		})
	}
}

// The boost survives a restart only if it was on and the fresh settings
// still make it a boost (ChargeCurrentBoost above ChargeCurrent).
func TestRestartBoostCarriedOnlyWhenStillABoost(t *testing.T) {
	boosted := func(t *testing.T, on bool, boost int) bool {
		r := newRig(t, func(_ *Params, s *settings.Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 16, 20 })
		r.plugAndCharge()
		if on {
			if err := r.m.SetBoost(true); err != nil {
				t.Fatal(err)
			}
			r.step()
			if !r.st.ChargeBoosted {
				t.Fatal("boost not on before the restart")
			}
		}
		r.restartWith(func(s *settings.Settings) { s.ChargeCurrentBoost = boost })
		r.step()
		return r.st.ChargeBoosted
	}
	if boosted(t, false, 20) {
		t.Error("no boost before the restart, boosted after it")
	}
	if !boosted(t, true, 20) {
		t.Error("boost on and still a boost: lost across the restart")
	}
	if boosted(t, true, 16) {
		t.Error("boost current now equal to the charge current: still boosted after the restart")
	}
}

// Refusal reasons come back under the keys the request used; with none
// of them matching, under the field names.
func TestByRequestKey(t *testing.T) {
	bad := map[string]string{"ChargerMode": "car connected"}
	got := byRequestKey(map[string]json.RawMessage{"chargermode": json.RawMessage("1")}, bad)
	if len(got) != 1 || got["chargermode"] != "car connected" {
		t.Errorf("by request key: %v, want chargermode → car connected", got)
	}
	got = byRequestKey(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage("10")}, bad)
	if len(got) != 1 || got["ChargerMode"] != "car connected" {
		t.Errorf("no request key matches: %v, want the field names", got)
	}
	if byRequestKey(map[string]json.RawMessage{"chargermode": nil}, nil) != nil {
		t.Error("no refusal: want nil")
	}
}

// One lost step is counted (not only several).
func TestLoopStatsCountsOneLostStep(t *testing.T) {
	var s LoopStats
	s.record(0, 1)
	s.record(-time.Millisecond, 0) // early: counted as on time
	o := s.Snapshot()
	if o.Steps != 2 || o.Lost != 1 || o.Max != 0 {
		t.Fatalf("steps %d lost %d max %v, want 2, 1, 0", o.Steps, o.Lost, o.Max)
	}
}

// A new session on the same plug-in runs a new RCM self-test before the
// contactor closes (the test of the stopped session does not carry over).
func TestRCMNewSessionSamePlugInTestsAgain(t *testing.T) {
	r := newRCMRig(t, true)
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
	}
	if !r.st.ContactorFeedback || r.rcm.started != 1 {
		t.Fatalf("charging %v after %d tests, want charging after 1", r.st.ContactorFeedback, r.rcm.started)
	}
	if err := r.m.Stop(r.now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500 && r.st.ContactorFeedback; i++ {
		r.step()
	}
	if err := r.m.Start(r.now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
		if r.st.ContactorClosed && r.rcm.started < 2 {
			t.Fatal("contactor closed for the new session without a new self-test")
		}
	}
	if !r.st.ContactorFeedback || r.rcm.started != 2 {
		t.Fatalf("second session: charging %v after %d tests, want charging after 2", r.st.ContactorFeedback, r.rcm.started)
	}
}

// A phase over PhaseCurrentLimit counts as over only while it imports:
// at 0 W (no real power: reactive, or a meter rounding an export) it
// does not, at 1 W it does.
func TestLimiterOverPhasePowerEdge(t *testing.T) {
	s := limiterSettings(func(s *settings.Settings) { s.ControlLimit, s.PhaseCurrentLimit = 11000, 16 })
	for _, c := range []struct {
		w    units.Watts
		want bool
	}{{0, false}, {1, true}, {-1, false}} {
		l := limiter{site: hw.MeterReading{Power: 2000, HasPhases: true, PhaseCurrent: [3]units.Amps{20, 5, 5}}}
		l.site.PhasePower = [3]units.Watts{c.w, 1150, 1150}
		if got := l.over(&s, 3); got != c.want {
			t.Errorf("phase 1 at 20 A and %v W: over = %v, want %v", c.w, got, c.want)
		}
	}
}

// The second over-limit cut comes exactly EVResponse after the first, at
// tick resolution, even though the site stays over in between (the car
// follows late, then the house load rises): a cut made while not over a
// limit does not delay the first, and readings over the limit without a
// cut do not push the second back.
func TestLimiterSecondOverCutExactlyEVResponseLater(t *testing.T) {
	s := limiterSettings(func(s *settings.Settings) { s.ControlLimit = 11000 })
	l := limiter{p: DefaultLimiterParams(), out: 27, adv: 27}
	house, draw := units.Watts(2000), units.Amps(10)
	type cut struct {
		at  time.Duration
		out units.Amps
	}
	var got []cut
	for now := epoch; now.Sub(epoch) < 10*time.Second; now = now.Add(tick) {
		at := now.Sub(epoch)
		switch at {
		case time.Second:
			house = 5000 // 5000 + 10 A × 690 = 11.9 kW: over
		case 3 * time.Second:
			house, draw = 6000, 8 // the car follows the 1 s cut; 6000 + 8 A × 690 = 11.52 kW: still over
		}
		site(house, draw)(&l, now)
		in := limitInput{ceiling: 27, phases: 3, advertised: l.out, ev: uniform(draw, 3)}
		in.ev.measured, in.ev.at = true, now.Add(-300*time.Millisecond) // meter 1 lags
		before := l.out
		l.update(now, &s, in)
		if l.out != before {
			got = append(got, cut{at, l.out})
		}
	}
	// 0 s: (11000 − 8900 + 6900)/690 = 13 A, under every limit.
	// 1 s: over; (11000 − 11900 + 6900)/690 = 8.7 → 8 A.
	// 6 s: still over, EVResponse after the 1 s cut; (11000 − 11520 + 5520)/690 = 7.2 → 7 A.
	want := []cut{{0, 13}, {time.Second, 8}, {l.p.EVResponse + time.Second, 7}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cuts (at, A) %v, want %v", got, want)
	}
}

// The solar surplus takes the car meter's reading as the car's draw under
// the same skew rules as the limit (see TestCarReadingSkewEdges): at most
// 2 s from the control meter's reading with the draw settled, or at most
// 50 ms however it was changing; otherwise it brackets the draw from the
// pilot. Here the car draws nothing while offered 16 A, so the two ways
// give different surpluses.
func TestSolarSurplusCarReadingSkewEdges(t *testing.T) {
	site := epoch.Add(time.Hour)
	for _, c := range []struct {
		d        time.Duration
		measured bool
		recent   bool // the offer changed 1 s before the reading: not settled
		used     bool
	}{
		{0, false, false, false},
		{2 * time.Second, true, false, true},
		{2*time.Second + 1, true, false, false},
		{-2 * time.Second, true, false, true},
		{3 * time.Second, true, false, false},
		{time.Second, true, true, false},
		{simultaneous, true, true, true},
		{-simultaneous, true, true, true},
		{simultaneous + 1, true, true, false},
	} {
		l := limiter{p: DefaultLimiterParams(), out: 16, adv: 16}
		if c.recent {
			l.adv = 10
			l.track(site.Add(-time.Second), 16)
		}
		l.site = hw.MeterReading{At: site, Power: -3000}
		in := limitInput{phases: 1, ev: evDraw{measured: c.measured, at: site.Add(c.d), power: 0}}
		lo, hi := l.surplus(in, 1)
		fromCar := units.CurrentFor(l.p.SolarImport+3000, 1) // 3100 W / 230 V = 13.5 A
		used := lo == fromCar && hi == fromCar
		if used != c.used {
			t.Errorf("car reading %v from the control meter's (measured %v, changing %v): used %v (lo %v hi %v), want %v",
				c.d, c.measured, c.recent, used, lo, hi, c.used)
		}
	}
}

// In a solar mode under a power limit, the status names the surplus as
// the source only when it binds harder than the limit: with the limit
// equal to the solar import allowance (the same reading, the same car
// draw) the limit stays the named source.
func TestSolarSourceOnlyWhenTheSurplusBindsHarder(t *testing.T) {
	now := epoch.Add(time.Hour)
	imp := DefaultLimiterParams().SolarImport
	for _, c := range []struct {
		limit units.Watts
		want  LimitSource
	}{{imp - 1, SourceLimiter}, {imp, SourceLimiter}, {imp + 1, SourceSolar}} {
		s := limiterSettings(func(s *settings.Settings) { s.ControlLimit = int(c.limit) })
		l := limiter{p: DefaultLimiterParams(), out: 10, adv: 10}
		l.site, l.siteOK = hw.MeterReading{At: now, Power: -3000}, true
		in := limitInput{phases: 1, advertised: 10, mode: ModeSolar, ev: evDraw{measured: true, at: now, power: 2300}}
		l.update(now, &s, in)
		if l.source != c.want {
			t.Errorf("ControlLimit %v W, SolarImport %v W: source %v, want %v", c.limit, imp, l.source, c.want)
		}
	}
}

// A fast replug in Case B with a lower-rated cable: the lowest PP rating
// read since the pilot first read A bounds the new plug-in, even when
// the PP reads higher a tick later (a contact settling), so a 13 A cable
// is never offered 20 A.
func TestFastReplugLowestPPSinceTheUnplug(t *testing.T) {
	for _, away := range []int{1, 2} {
		t.Run(fmt.Sprintf("A for %d ticks", away), func(t *testing.T) {
			r := newRig(t, func(p *Params, s *settings.Settings) { caseB(0)(p, s); s.ChargeCurrent = 32 })
			r.guard = &safety{}
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.CableRating = true, true, 32 })
			r.until(10*time.Second, "charging", func() bool { return r.st.ContactorFeedback })
			unplug(r)
			for range away {
				r.step()
			}
			r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.CableRating = true, 13 })
			r.step()
			r.vehicle(func(v *sim.Vehicle) { v.CableRating = 20 })
			for end := r.now.Add(20 * time.Second); r.now.Before(end); {
				r.step()
				if a := oracleAmps(r.st.DutyPermille); a > 13 {
					t.Fatalf("t=%v: %v A offered to a plug-in whose PP read 13 A", r.now.Sub(epoch), a)
				}
			}
			if !r.st.ContactorFeedback {
				t.Fatal("not charging again")
			}
		})
	}
}

// A one-phase car is judged on L1 only: L2 over its limit is not the
// car's to relieve (TestOverJudgesTheCarsPhases covers L3).
func TestLimiterOverOnePhaseCarIgnoresL2(t *testing.T) {
	s := limiterSettings(func(s *settings.Settings) { s.ControlLimit, s.PhaseCurrentLimit = 11000, 16 })
	l := limiter{site: hw.MeterReading{Power: 5000, HasPhases: true, PhaseCurrent: [3]units.Amps{10, 17, 10}}}
	for i, a := range l.site.PhaseCurrent {
		l.site.PhasePower[i] = units.PowerFor(a, 1)
	}
	if l.over(&s, 1) {
		t.Error("L2 at 17 A judged an overload of a one-phase car")
	}
	if !l.over(&s, 3) {
		t.Error("L2 at 17 A not an overload of a three-phase car")
	}
}

// The solar pause names the surplus, the import allowance and the
// current needed to resume (6 A + ResumeMargin).
func TestSolarPauseText(t *testing.T) {
	l := limiter{p: DefaultLimiterParams(), source: SourceSolar, available: 1200}
	got := l.pauseText(0, false)
	for _, want := range []string{"1200 W of solar surplus", "100 W import allowance", "≥ 6.5 A"} {
		if !strings.Contains(got, want) {
			t.Errorf("pause text %q lacks %q", got, want)
		}
	}
}
