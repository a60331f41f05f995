package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// tri is an optional boolean expectation.
type tri int8

const (
	anyB tri = iota
	no
	yes
)

func (t tri) ok(b bool) bool { return t == anyB || (t == yes) == b }

// anyDuty skips the duty check of a step.
const anyDuty = -1

// want is what a time-series step expects once its time has run.
type want struct {
	state   EvseState
	duty    int // permille as driven; anyDuty to skip
	closed  tri // contactor feedback (the simulator's truth)
	started tri
	check   func(r *rig) string // more, "" when fine
}

// tstep is one row of a time series: an event, then elapsed time, then
// what must hold.
type tstep struct {
	name    string
	event   func(r *rig)
	elapsed time.Duration
	want    want
}

// series runs the rows in order on r.
func series(t *testing.T, r *rig, rows []tstep) {
	t.Helper()
	if r.guard == nil {
		r.guard = &safety{} // every table row also keeps every invariant
	}
	start := r.now
	for i, row := range rows {
		if row.event != nil {
			row.event(r)
		}
		r.run(row.elapsed)
		w := row.want
		var bad []string
		if r.st.State != w.state {
			bad = append(bad, fmt.Sprintf("state %v, want %v", r.st.State, w.state))
		}
		if w.duty != anyDuty && r.st.DutyPermille != w.duty {
			bad = append(bad, fmt.Sprintf("duty %d‰, want %d‰", r.st.DutyPermille, w.duty))
		}
		if r.pilot.duty != r.st.DutyPermille {
			bad = append(bad, fmt.Sprintf("pilot driven at %d‰ but status says %d‰", r.pilot.duty, r.st.DutyPermille))
		}
		if !w.closed.ok(r.sim.State().Contactor) {
			bad = append(bad, fmt.Sprintf("contactor %v, want %v", r.sim.State().Contactor, w.closed == yes))
		}
		if !w.started.ok(r.st.ChargerStarted) {
			bad = append(bad, fmt.Sprintf("started %v, want %v", r.st.ChargerStarted, w.started == yes))
		}
		if w.check != nil {
			if msg := w.check(r); msg != "" {
				bad = append(bad, msg)
			}
		}
		if len(bad) > 0 {
			t.Errorf("row %d %q at t=%v: %s (fault %q, reason %q)", i, row.name, r.now.Sub(start), strings.Join(bad, "; "), r.st.Fault, r.st.Reason)
		}
	}
}

// Events.
func plug(cable float64, request bool) func(*rig) {
	return func(r *rig) {
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.CableRating = true, request, unitsA(cable) })
	}
}
func unplug(r *rig) { r.vehicle(func(v *sim.Vehicle) { v.Plugged = false }) }
func request(on bool) func(*rig) {
	return func(r *rig) { r.vehicle(func(v *sim.Vehicle) { v.RequestCharge = on }) }
}
func fault(f string) func(*rig) { return func(r *rig) { r.sim.SetFault(f) } }
func start(r *rig) {
	if err := r.start(); err != nil {
		r.t.Errorf("Start: %v", err)
	}
}
func stop(r *rig) {
	if err := r.m.Stop(r.now); err != nil {
		r.t.Errorf("Stop: %v", err)
	}
}
func apply(f func(s *settings.Settings)) func(*rig) {
	return func(r *rig) {
		s := r.m.Settings()
		f(&s)
		if es := s.Validate("", int(r.m.p.HardwareMax)); len(es) > 0 {
			r.t.Fatalf("test settings invalid: %v", es)
		}
		if bad := r.c.applySettings(s); bad != nil {
			r.t.Fatalf("settings refused: %v", bad)
		}
		r.noteSettings(s)
	}
}
func both(fs ...func(*rig)) func(*rig) {
	return func(r *rig) {
		for _, f := range fs {
			f(r)
		}
	}
}

// Checks.
func limitIs(a float64, src LimitSource) func(*rig) string {
	return func(r *rig) string {
		if float64(r.st.CurrentLimit) != a || r.st.LimitSource != src {
			return fmt.Sprintf("limit %v A from %v, want %v A from %v", r.st.CurrentLimit, r.st.LimitSource, a, src)
		}
		return ""
	}
}
func evCurrent(a float64) func(*rig) string {
	return func(r *rig) string {
		if got := r.sim.State().EvCurrent; got != a {
			return fmt.Sprintf("EV draws %v A, want %v", got, a)
		}
		return ""
	}
}
func reasonHas(s string) func(*rig) string {
	return func(r *rig) string {
		if !strings.Contains(r.st.Reason, s) {
			return fmt.Sprintf("reason %q, want it to mention %q", r.st.Reason, s)
		}
		return ""
	}
}
func closings(n int) func(*rig) string {
	return func(r *rig) string {
		if r.closings != n {
			return fmt.Sprintf("%d contactor close commands, want %d", r.closings, n)
		}
		return ""
	}
}
func all(cs ...func(*rig) string) func(*rig) string {
	return func(r *rig) string {
		var bad []string
		for _, c := range cs {
			if msg := c(r); msg != "" {
				bad = append(bad, msg)
			}
		}
		return strings.Join(bad, "; ")
	}
}

const ms = time.Millisecond

// TestSeriesABCBA walks A → B → C → B → A with auto start: duty from the
// setting, C stable before closing, open within 100 ms when C ends.
func TestSeriesABCBA(t *testing.T) {
	r := newRig(t, nil)
	series(t, r, []tstep{
		{"idle", nil, 100 * ms, want{state: StateIdle, duty: DutySteady, closed: no, started: no}},
		{"plug in: auto start offers 16 A", plug(32, false), time.Second, want{state: StateConnected, duty: 266, closed: no, started: yes,
			check: limitIs(16, SourceConfig)}},
		{"EV ready: C, not closed before C is stable", request(true), 200 * ms, want{state: StateCharge, duty: 266, closed: no}},
		{"closed once C is stable", nil, 300 * ms, want{state: StateCharge, duty: 266, closed: yes}},
		{"EV follows after its response time", nil, 2500 * ms, want{state: StateCharge, duty: 266, closed: yes, check: evCurrent(16)}},
		{"EV stops: B, open within 100 ms", request(false), 100 * ms, want{state: StateConnected, duty: 266, closed: no, started: yes,
			check: evCurrent(0)}},
		{"EV again: C, closed again", request(true), time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		{"unplugged under load: A, open within 100 ms", unplug, 100 * ms, want{state: StateIdle, duty: DutySteady, closed: no, started: no}},
	})
}

// TestSeriesStartStop covers auto start off and the explicit, idempotent
// Start/Stop with their errors.
func TestSeriesStartStop(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) { s.ChargeAutoStart = false })
	if err := r.m.Start(r.now); err != ErrNoVehicle {
		t.Fatalf("Start with no vehicle: %v, want ErrNoVehicle", err)
	}
	if err := r.m.Stop(r.now); err != nil {
		t.Fatalf("Stop of a stopped session: %v", err)
	}
	series(t, r, []tstep{
		{"plug in: no auto start, X1", plug(32, true), time.Second, want{state: StateConnected, duty: DutySteady, closed: no, started: no,
			check: reasonHas("not started")}},
		{"StartStopAllowed with a vehicle", nil, 0, want{state: StateConnected, duty: DutySteady, check: func(r *rig) string {
			if !r.st.StartStopAllowed || r.st.AutoStartAllowed {
				return fmt.Sprintf("StartStopAllowed %v AutoStartAllowed %v", r.st.StartStopAllowed, r.st.AutoStartAllowed)
			}
			return ""
		}}},
		{"Start: PWM, EV closes S2, contactor closes", both(start, start), 1500 * ms, want{state: StateCharge, duty: 266, closed: yes, started: yes}},
		{"Stop: PWM withdrawn at once, still closed (C1)", both(stop, stop), 10 * ms, want{state: StateCharge, duty: DutySteady, closed: yes, started: no}},
		{"EV opens S2 after its response: contactor opens", nil, 2100 * ms, want{state: StateConnected, duty: DutySteady, closed: no, started: no}},
		{"Start again", start, 1500 * ms, want{state: StateCharge, duty: 266, closed: yes, started: yes}},
		{"auto start turned on does not restart a stopped session", both(stop, apply(func(s *settings.Settings) { s.ChargeAutoStart = true })), 3 * time.Second,
			want{state: StateConnected, duty: DutySteady, closed: no, started: no}},
		{"unplug and replug: auto start now", both(unplug), 100 * ms, want{state: StateIdle, duty: DutySteady, started: no}},
		{"replug", plug(32, true), 1500 * ms, want{state: StateCharge, duty: 266, closed: yes, started: yes,
			check: func(r *rig) string {
				if !r.st.AutoStartAllowed {
					return "AutoStartAllowed false"
				}
				return ""
			}}},
	})
}

// TestSeriesPWMWithdrawnOpensBy6s: an EV that ignores the withdrawn PWM
// is cut off under load after StopTimeout, not before.
func TestSeriesPWMWithdrawnOpensBy6s(t *testing.T) {
	r := newRig(t, nil)
	r.vehicle(func(v *sim.Vehicle) { v.Response = 9 * time.Second })
	series(t, r, []tstep{
		{"charging", plug(32, true), 3 * time.Second, want{state: StateCharge, duty: 266, closed: yes}},
		{"Stop; EV stays in C", stop, 5900 * ms, want{state: StateCharge, duty: DutySteady, closed: yes}},
		{"opened at 6 s", nil, 110 * ms, want{state: StateCharge, duty: DutySteady, closed: no}},
		{"stays open while C1", nil, 5 * time.Second, want{state: StateConnected, duty: DutySteady, closed: no}},
	})
}

// TestSeriesDutyPacing: increases while charging wait 5 s after the last
// change; reductions and stops are immediate; no current below 6 A.
func TestSeriesDutyPacing(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 10, 20 })
	set := func(a int) func(*rig) { return apply(func(s *settings.Settings) { s.ChargeCurrent = a }) }
	series(t, r, []tstep{
		{"charging at 10 A", plug(32, true), 6 * time.Second, want{state: StateCharge, duty: 166, closed: yes}},
		{"raised to 16 A: immediate (last change > 5 s ago)", set(16), 10 * ms, want{state: StateCharge, duty: 266, closed: yes}},
		{"raised to 20 A 1 s later: held", both(func(r *rig) { r.run(time.Second) }, set(20)), 10 * ms, want{state: StateCharge, duty: 266, closed: yes}},
		{"still held at 4.9 s", nil, 3880 * ms, want{state: StateCharge, duty: 266, closed: yes}},
		{"applied 5 s after the last change", nil, 120 * ms, want{state: StateCharge, duty: 333, closed: yes}},
		{"reduced to 8 A: immediate", set(8), 10 * ms, want{state: StateCharge, duty: 133, closed: yes}},
		{"raised to 12 A right after the reduction: held", set(12), 4900 * ms, want{state: StateCharge, duty: 133, closed: yes}},
		{"applied 5 s after the reduction", nil, 200 * ms, want{state: StateCharge, duty: 200, closed: yes}},
		{"stop then start 1 s later: resume held 5 s", both(stop, func(r *rig) { r.run(time.Second) }, start), 10 * ms,
			want{state: StateCharge, duty: DutySteady, closed: yes}},
		{"resumed 5 s after the stop, before the 6 s cut-off", nil, 4100 * ms, want{state: StateCharge, duty: 200, closed: yes}},
	})
}

// TestSeriesBoost: boost raises to ChargeCurrentBoost (paced), its
// permission rules, and its end.
func TestSeriesBoost(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 10, 20 })
	boost := func(on bool, wantErr error) func(*rig) {
		return func(r *rig) {
			if err := r.m.SetBoost(on); err != wantErr {
				r.t.Errorf("SetBoost(%v): %v, want %v", on, err, wantErr)
			}
		}
	}
	boosted := func(b bool) func(*rig) string {
		return func(r *rig) string {
			if r.st.ChargeBoosted != b || !r.st.BoostAllowed {
				return fmt.Sprintf("ChargeBoosted %v BoostAllowed %v, want %v true", r.st.ChargeBoosted, r.st.BoostAllowed, b)
			}
			return ""
		}
	}
	series(t, r, []tstep{
		{"charging at 10 A", plug(32, true), 6 * time.Second, want{state: StateCharge, duty: 166, closed: yes, check: boosted(false)}},
		{"boost: 20 A from the boost setting", both(boost(true, nil), boost(true, nil)), 10 * ms, want{state: StateCharge, duty: 333, closed: yes,
			check: all(boosted(true), limitIs(20, SourceBoost))}},
		{"boost off: back to 10 A at once", boost(false, nil), 10 * ms, want{state: StateCharge, duty: 166, closed: yes, check: boosted(false)}},
		{"boost on again is paced", boost(true, nil), 10 * ms, want{state: StateCharge, duty: 166, closed: yes, check: boosted(true)}},
		{"…5 s after the last change", nil, 5 * time.Second, want{state: StateCharge, duty: 333, closed: yes}},
		{"boost setting lowered to ChargeCurrent: boost ends, not allowed", apply(func(s *settings.Settings) { s.ChargeCurrentBoost = 10 }), 10 * ms,
			want{state: StateCharge, duty: 166, closed: yes, check: func(r *rig) string {
				if r.st.ChargeBoosted || r.st.BoostAllowed {
					return fmt.Sprintf("ChargeBoosted %v BoostAllowed %v, want false false", r.st.ChargeBoosted, r.st.BoostAllowed)
				}
				return ""
			}}},
		{"SetBoost refused", boost(true, ErrBoostNotNeeded), 10 * ms, want{state: StateCharge, duty: 166, closed: yes}},
		{"boost allowed again; unplug ends it", both(apply(func(s *settings.Settings) { s.ChargeCurrentBoost = 20 }), boost(true, nil), unplug), 100 * ms,
			want{state: StateIdle, duty: DutySteady, closed: no, check: func(r *rig) string {
				if r.st.ChargeBoosted {
					return "still boosted after unplug"
				}
				return ""
			}}},
		{"boost refused during a fault", both(plug(32, false), fault(sim.FaultCPShort)), 100 * ms, want{state: StateErrE, duty: DutyNegative, closed: no,
			check: func(r *rig) string {
				if err := r.m.SetBoost(true); err != ErrFaulted || r.st.BoostAllowed {
					return fmt.Sprintf("SetBoost in fault: %v, BoostAllowed %v", err, r.st.BoostAllowed)
				}
				return ""
			}}},
	})
}

// TestSeriesPhasesAndEnergy: the power estimate uses Charge3Phase, the
// session energy integrates it, the duration freezes when the session ends.
func TestSeriesPhasesAndEnergy(t *testing.T) {
	for _, three := range []bool{true, false} {
		r := newRig(t, func(p *Params, s *settings.Settings) { s.Charge3Phase = three })
		phases := 1.0
		if three {
			phases = 3
		}
		r.plugAndCharge()
		closedAt := r.now
		r.run(time.Minute)
		a := float64(CurrentForDuty(266))
		if r.st.ThreePhase != three || float64(r.st.ActualCurrent) != a || r.st.PowerFromMeter {
			t.Errorf("3-phase %v: status %v phases, %v A, from meter %v", three, r.st.ThreePhase, r.st.ActualCurrent, r.st.PowerFromMeter)
		}
		if p := float64(r.st.ActualPower); p < a*230*phases-0.01 || p > a*230*phases+0.01 {
			t.Errorf("3-phase %v: power %v W, want %v", three, p, a*230*phases)
		}
		wantE := a * 230 * phases * r.now.Sub(closedAt).Seconds()
		if e := float64(r.st.Energy); e < wantE-a*230*phases*0.05 || e > wantE+a*230*phases*0.05 {
			t.Errorf("3-phase %v: energy %v Ws, want %v ± 50 ms worth", three, e, wantE)
		}
		d := r.st.Duration
		if d < time.Minute || d > time.Minute+2*time.Second {
			t.Errorf("duration %v", d)
		}
		unplug(r)
		r.run(time.Second)
		ended := r.st.Duration
		r.run(10 * time.Second)
		if r.st.Duration != ended || ended-d > 50*ms {
			t.Errorf("duration after the session %v (%v at unplug), want frozen at about %v", r.st.Duration, ended, d)
		}
		if r.st.ActualPower != 0 || r.st.ActualCurrent != 0 {
			t.Errorf("after unplug: %v W %v A", r.st.ActualPower, r.st.ActualCurrent)
		}
	}
}

func TestDutyFor(t *testing.T) {
	for _, c := range []struct {
		a    float64
		duty int
	}{
		{0, DutySteady}, {5.9, DutySteady}, {-3, DutySteady}, {6, 100}, {6.5, 108}, {10, 166}, {13, 216}, {16, 266},
		{20, 333}, {32, 533}, {40, 666}, {50.9, 848}, {51, 850}, {51.5, 850}, {52.4, 850}, {52.5, 850}, {53, 852},
		{63, 892}, {70, 920}, {79.9, 959}, {80, 960}, {100, 960},
	} {
		if got := DutyFor(unitsA(c.a)); got != c.duty {
			t.Errorf("DutyFor(%v) = %d‰, want %d‰", c.a, got, c.duty)
		}
	}
	// Rounded down everywhere: never more than asked, never a whole step less.
	for i := 60; i <= 800; i++ {
		a := float64(i) / 10
		d := DutyFor(unitsA(a))
		if !ValidDuty(d) || float64(CurrentForDuty(d)) > a+1e-9 {
			t.Fatalf("DutyFor(%v) = %d‰ advertises %v A", a, d, CurrentForDuty(d))
		}
		if d < 960 && d != 850 && float64(CurrentForDuty(d+1)) <= a-1e-9 {
			t.Fatalf("DutyFor(%v) = %d‰ rounds down more than one step", a, d)
		}
	}
	for d := 0; d <= 1000; d++ {
		want := d == 0 || d == 50 || d == 1000 || d >= 100 && d <= 960
		if ValidDuty(d) != want {
			t.Fatalf("ValidDuty(%d) = %v", d, !want)
		}
	}
}

func unitsA(a float64) units.Amps { return units.Amps(a) }

func unitsW(w float64) units.Watts { return units.Watts(w) }
