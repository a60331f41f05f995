package controller

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// seq builds observation sequences 10 ms apart for the checker tests.
type seq struct{ obs []obs }

// add appends n observations made from o, 10 ms apart.
func (s *seq) add(n int, o obs) *seq {
	for i := 0; i < n; i++ {
		o.at = epoch.Add(time.Duration(len(s.obs)) * tick)
		s.obs = append(s.obs, o)
	}
	return s
}

// run feeds the sequence to a fresh checker and returns every violation.
func (s *seq) run() []string {
	var c safety
	var all []string
	for _, o := range s.obs {
		all = append(all, c.check(o)...)
	}
	return all
}

// Building blocks of a correct charging sequence: B with PWM (diode seen),
// C stable, then closed.
var (
	obsB       = obs{level: LevelB, low: -12, plugged: true, ppValid: true, started: true, duty: 266, maxAmps: 16, limitAmps: 16}
	obsC       = with(obsB, func(o *obs) { o.level = LevelC })
	obsClosed  = with(obsC, func(o *obs) { o.closed, o.fb = true, true })
	obsIdle    = obs{level: LevelA, duty: DutySteady, ppValid: false}
	obsFault   = obs{level: LevelB, low: -12, plugged: true, ppValid: true, duty: DutyNegative, fault: FaultDiode}
	obsSteadyB = with(obsB, func(o *obs) { o.duty = DutySteady; o.started = false; o.maxAmps, o.limitAmps = 16, 0 })
)

func with(o obs, f func(*obs)) obs { f(&o); return o }

// good is a correct plug-in and charge: every checker must stay silent.
func good() *seq {
	s := &seq{}
	return s.add(10, obsIdle).add(50, obsB).add(50, obsC).add(100, obsClosed).add(5, obsC).add(10, obsB).add(10, obsIdle)
}

func TestSafetyCheckerAcceptsGoodSequences(t *testing.T) {
	if bad := good().run(); len(bad) > 0 {
		t.Fatalf("a correct sequence was flagged: %v", bad)
	}
	// A correct wake-up (3.5 s of F once) and a correct fault (F 500 ms).
	s := &seq{}
	s.add(10, obsIdle).add(50, obsB).add(350, with(obsB, func(o *obs) { o.duty = DutyNegative })).add(50, obsB)
	s.add(50, obsFault).add(20, with(obsFault, func(o *obs) { o.duty = DutySteady }))
	if bad := s.run(); len(bad) > 0 {
		t.Fatalf("a correct wake-up / fault was flagged: %v", bad)
	}
}

// TestSafetyCheckersCanFail feeds each checker a sequence that breaks its
// invariant and expects exactly that invariant to be reported.
func TestSafetyCheckersCanFail(t *testing.T) {
	closedAt := func(f func(o *obs)) *seq {
		s := &seq{}
		return s.add(10, obsIdle).add(50, obsB).add(50, obsC).add(20, obsClosed).add(20, with(obsClosed, f))
	}
	cases := []struct {
		inv  string
		name string
		s    *seq
	}{
		{"1", "closing in B", (&seq{}).add(50, obsB).add(30, with(obsB, func(o *obs) { o.closed = true }))},
		{"1", "closing without session", (&seq{}).add(50, obsB).add(50, obsC).add(5, with(obsClosed, func(o *obs) { o.started = false }))},
		{"1", "closing before the diode check", (&seq{}).add(1, obsIdle).add(50, with(obsC, func(o *obs) { o.low = 12 })).add(5, with(obsClosed, func(o *obs) { o.low = 12 }))},
		{"1", "Case B closed unlocked", closedAt(func(o *obs) { o.caseB = true })},
		{"2", "unlock under load", closedAt(func(o *obs) { o.unlockedLoaded = true })},
		{"3", "advertising above the limit", closedAt(func(o *obs) { o.maxAmps = 10 })},
		{"4", "duty 97 %", closedAt(func(o *obs) { o.duty = 970 })},
		{"5", "limit of 3 A", closedAt(func(o *obs) { o.limitAmps = 3 })},
		{"6", "closed 150 ms in B", closedAt(func(o *obs) { o.level = LevelB })},
		{"7", "EPO with PWM on", good().add(1, with(obsB, func(o *obs) { o.epo = true }))},
		{"7", "fault with contactor closed", closedAt(func(o *obs) { o.fault = FaultCPShort; o.duty = DutyNegative })},
		{"8", "PWM withdrawn for 6.5 s while closed", closedAt(func(o *obs) {}).add(650, with(obsClosed, func(o *obs) { o.duty = DutySteady }))},
		{"9", "closing after 100 ms of C", (&seq{}).add(50, obsB).add(10, obsC).add(5, obsClosed)},
		{"9", "permitted for 4 s but open", (&seq{}).add(50, obsB).add(400, obsC)},
		{"10", "closed in D without ventilation", closedAt(func(o *obs) { o.level = LevelD })},
		{"11", "duty raised 1 s after a change while charging", closedAt(func(o *obs) {}).add(100, with(obsClosed, func(o *obs) { o.duty = 200 })).add(1, with(obsClosed, func(o *obs) { o.duty = 266 }))},
		{"11", "resume 1 s after a stop while charging", closedAt(func(o *obs) {}).add(100, with(obsClosed, func(o *obs) { o.duty = DutySteady })).add(1, obsClosed)},
		{"12", "weld latch lost without reset", (&seq{}).add(50, with(obsFault, func(o *obs) { o.fault = FaultWeld })).add(1, obsSteadyB)},
		{"13", "PWM with invalid PP in Case B", good().add(1, with(obsB, func(o *obs) { o.caseB, o.ppValid, o.locked = true, false, true }))},
		{"14", "F for 100 ms only", (&seq{}).add(50, obsSteadyB).add(10, obsFault).add(1, with(obsFault, func(o *obs) { o.duty = DutySteady }))},
		{"14", "EPO pressed on a fault, F for 100 ms", (&seq{}).add(50, with(obsFault, func(o *obs) { o.duty = DutySteady })).
			add(10, with(obsFault, func(o *obs) { o.epo = true })).add(1, with(obsFault, func(o *obs) { o.epo, o.fault, o.duty = true, FaultEPO, DutySteady }))},
		{"18", "offer above the cable read at plug-in", closedAt(func(o *obs) { o.caseB, o.locked, o.ppMin = true, true, 13 })},
		{"19", "diode fault gone without an unplug", (&seq{}).add(60, obsFault).add(1, obsSteadyB)},
		{"20", "session restarted by itself after a stop", (&seq{}).add(10, obsIdle).add(50, obsB).add(50, obsSteadyB).add(1, obsB)},
		{"17", "second wake-up in one plug-in", (&seq{}).add(50, obsB).add(350, with(obsB, func(o *obs) { o.duty = DutyNegative })).add(50, obsB).add(350, with(obsB, func(o *obs) { o.duty = DutyNegative }))},
		{"17", "wake-up of 1 s", (&seq{}).add(50, obsB).add(100, with(obsB, func(o *obs) { o.duty = DutyNegative })).add(5, obsB)},
		{"17", "wake-up under load", closedAt(func(o *obs) {}).add(1, with(obsClosed, func(o *obs) { o.duty = DutyNegative }))},
	}
	for _, tc := range cases {
		bad := tc.s.run()
		found := false
		for _, b := range bad {
			found = found || strings.HasPrefix(b, "invariant "+tc.inv+":")
		}
		if !found {
			t.Errorf("invariant %s, %s: not reported (got %v)", tc.inv, tc.name, bad)
		}
	}
}

// TestSafetyHarnessCatchesBrokenMachines runs the property harness on
// machines whose parameters break the standard and expects the invariant
// each one breaks to be reported, proving the wiring (board wrappers,
// observation, checker) end to end.
func TestSafetyHarnessCatchesBrokenMachines(t *testing.T) {
	cases := []struct {
		inv    string
		mutate func(p *Params)
	}{
		{"14", func(p *Params) { p.FHold = 100 * time.Millisecond }},
		{"9", func(p *Params) { p.CStable = 0 }},
		{"11", func(p *Params) { p.DutyInterval = time.Second }},
		{"17", func(p *Params) { p.WakePulse = time.Second }},
		{"8", func(p *Params) { p.StopTimeout = 9 * time.Second }},
		{"9", func(p *Params) { p.CStable = 4 * time.Second }},
	}
	for _, tc := range cases {
		_, err := drive(rand.New(rand.NewSource(2)), 3_000_000, 20_000, &coverage{}, tc.mutate)
		if err == nil || !strings.Contains(err.Error(), "invariant "+tc.inv+":") {
			t.Errorf("mutated machine (invariant %s): got %v", tc.inv, firstLine(err))
		}
	}
}

func firstLine(err error) string {
	if err == nil {
		return "no violation"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
