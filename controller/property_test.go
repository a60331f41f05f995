package controller

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

var (
	propSteps = flag.Int("steps", 2_000_000, "steps of the safety property test (longer runs: -steps=5000000)")
	propSeed  = flag.Int64("seed", 0, "seed of the safety property test (0: from the clock, printed)")
	// propPhases gives half the random machines the phase contactor C2
	// (on by default; -phases=false runs the machines of before issue 12).
	propPhases = flag.Bool("phases", true, "give half the random machines the phase contactor C2 (1p/3p switching)")
)

// chooser is the source of the harness's decisions: math/rand for the
// property test, the fuzzer's bytes for FuzzSafety.
type chooser interface{ Intn(n int) int }

// byteChooser reads decisions from a byte string; once it is used up
// every decision is 0, which the harness reads as "just tick".
type byteChooser struct{ b []byte }

func (c *byteChooser) Intn(n int) int {
	if len(c.b) < 2 {
		c.b = nil
		return 0
	}
	v := int(binary.BigEndian.Uint16(c.b))
	c.b = c.b[2:]
	return v % n
}

// Board wrappers record the commands the machine really sends, so the
// invariants judge the hardware's inputs, not the machine's own account.
type recPilot struct {
	hw.Pilot
	duty    int
	glitch  units.Volts // reading forced by interference
	glitchN int         // samples left that read glitch
}

// Sample returns the simulator's sample, or the glitch while one lasts.
func (p *recPilot) Sample() hw.PilotSample {
	if p.glitchN > 0 {
		return hw.PilotSample{High: p.glitch, Low: p.glitch}
	}
	return p.Pilot.Sample()
}

func (p *recPilot) SetDuty(d int) { p.duty = d; p.Pilot.SetDuty(d) }
func (p *recPilot) Halt()         { p.duty = DutySteady; p.Pilot.Halt() }

type recContactor struct {
	hw.Contactor
	cmd   bool
	onSet func(closed bool) // sees every command before it is given
}

func (c *recContactor) Set(closed bool) {
	if c.onSet != nil {
		c.onSet(closed)
	}
	c.cmd = closed
	c.Contactor.Set(closed)
}
func (c *recContactor) Halt() { c.Set(false) }

// epoButton is an emergency stop the harness presses on its own, so a
// press can land on top of any simulated fault (the simulator has one
// fault at a time, its EPO among them).
type epoButton struct {
	hw.EmergencyStop
	pressed bool
}

func (e *epoButton) Pressed() bool { return e.pressed || e.EmergencyStop.Pressed() }

type recLock struct {
	hw.Lock
	contactor *recContactor
	loaded    bool // an unlock was commanded under load since the last look
}

func (l *recLock) Set(locked bool, m hw.LockMethod) {
	if !locked && (l.contactor.cmd || l.contactor.Contactor.Closed()) {
		l.loaded = true
	}
	l.Lock.Set(locked, m)
}

// propRig drives a Controller on the simulator with random events and
// checks every invariant after every step. Commands go in through the
// functions the Controller's loop runs for the daemon (the Machine's
// commands, applySettings, restartAt, step), so a Reset here swaps
// machines exactly as SystemInfo Reset does.
type propRig struct {
	probe
	c     *Controller
	epo   *epoButton
	ch    chooser
	now   time.Time
	p     Params
	fault string
	st    Status
	safe  safety
	steps int

	startCmd  bool      // a Start was accepted before the next step
	connSince time.Time // vehicle plugged and the pilot at B, C or D since (zero: not)
	err       error     // a violation found by an event (not by the oracle)

	prevState EvseState
	prevFault Fault
	cov       *coverage
	log       []string // recent events, for the failure message
}

var hwMaxChoices = []units.Amps{16, 32, 40, 63, 80}

func newPropRig(ch chooser, start time.Time, mutate func(*Params)) *propRig {
	p := DefaultParams()
	p.HardwareMax = hwMaxChoices[ch.Intn(len(hwMaxChoices))]
	p.Ventilation = ch.Intn(2) == 0
	// Shorter lock retries let a jammed lock reach its fault between the
	// other events (the timing itself is no invariant).
	p.LockRetry = time.Duration(1+ch.Intn(5)) * time.Second
	if mutate != nil {
		mutate(&p)
	}
	r := &propRig{ch: ch, now: start, p: p, fault: sim.FaultNone}
	sm := sim.New(start)
	// Half the machines have the phase contactor C2 (issue 12), with
	// shorter policy times so switches happen between the other events.
	if c2 := ch.Intn(2) == 0; c2 && *propPhases {
		sm.SetPhaseSwitch(true)
		r.p.PhaseSwitch = true
		r.p.Phases.MinInterval = time.Duration(ch.Intn(120)) * time.Second
		r.p.Phases.DownAfter, r.p.Phases.UpAfter = time.Duration(ch.Intn(60))*time.Second, time.Duration(ch.Intn(60))*time.Second
		r.p.Phases.BothWays = ch.Intn(2) == 0
		r.p.Phases.MaxSwitches = ch.Intn(5)
		p = r.p
	}
	b := r.wrap(sm)
	r.epo = &epoButton{EmergencyStop: b.EPO}
	b.EPO = r.epo
	r.m = NewMachine(b, p, randSettings(ch, int(p.HardwareMax)))
	r.c = New(r.m, nil, zerolog.Nop())
	r.logf("params: hwMax %v ventilation %v; settings %+v", p.HardwareMax, p.Ventilation, r.m.Settings())
	return r
}

// randSettings returns valid random settings, sometimes with the remote
// supervisor or the power limiter (whose meter never reports: fallback).
func randSettings(ch chooser, hwMax int) settings.Settings {
	s := settings.Defaults()
	s.ChargerMode = ch.Intn(2)
	s.LockMethod = ch.Intn(2)
	s.ChargeCurrent = settings.MinCurrent + ch.Intn(hwMax-settings.MinCurrent+1)
	s.ChargeCurrentBoost = s.ChargeCurrent + ch.Intn(hwMax-s.ChargeCurrent+1)
	s.ChargeAutoStart = ch.Intn(3) > 0
	s.Charge3Phase = ch.Intn(2) == 0
	switch ch.Intn(6) {
	case 0:
		s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "192.0.2.7"
	case 1:
		s.Meter2Type, s.ControlStrategy = settings.MeterRTUSDM72D, 1
	}
	if es := s.Validate("", hwMax); len(es) > 0 {
		panic(fmt.Sprintf("harness made invalid settings %+v: %v", s, es))
	}
	return s
}

func (r *propRig) logf(format string, a ...any) {
	r.log = append(r.log, fmt.Sprintf("%8.2fs ", r.now.Sub(epoch).Seconds())+fmt.Sprintf(format, a...))
	if len(r.log) > 40 {
		r.log = r.log[len(r.log)-40:]
	}
}

// step advances one tick and checks every invariant; it returns the
// violations with the recent history.
func (r *propRig) step() error {
	r.now = r.now.Add(tick)
	r.sim.Tick(r.now)
	o := r.before(r.now, false)
	o.epo = r.epo.Pressed()
	o.startCmd, r.startCmd = r.startCmd, false
	if !o.plugged || !oracleConnected(o.level) {
		r.connSince = time.Time{}
	} else if r.connSince.IsZero() {
		r.connSince = r.now
	}
	old := r.m
	r.c.step(r.now, &r.st)
	r.m = r.c.m
	if o.reset = r.m != old; o.reset {
		r.cov.restarts++
		r.noteRestart()
		r.logf("restarted: fresh machine")
	}
	if r.pilot.glitchN > 0 {
		r.pilot.glitchN--
	}
	r.after(&o, &r.st)
	if r.st.State != r.prevState || r.st.Fault != r.prevFault || o.duty != r.safe.prev.duty || o.closed != r.safe.prev.closed {
		r.logf("→ %v fault %q duty %d‰ contactor %v (level %v, reason %q)", r.st.State, r.st.Fault, o.duty, o.closed, o.level, r.st.Reason)
		r.prevState, r.prevFault = r.st.State, r.st.Fault
	}
	r.cov.states[r.st.State]++
	if r.st.Fault != r.safe.prev.fault {
		r.cov.faults[r.st.Fault]++
	}
	if o.closed && !r.safe.prev.closed {
		r.cov.closings++
	}
	if o.duty == DutyNegative && o.fault == FaultNone && r.safe.prev.duty != DutyNegative {
		r.cov.wakes++
	}
	if o.c2 != r.safe.prev.c2 && o.plugged {
		r.cov.phaseSwitches++
	}
	if o.latched && !r.safe.prev.latched {
		r.cov.phaseLatches++
	}
	r.steps++
	bad := r.safe.check(o)
	bad = append(bad, r.c2MovesBad()...)
	if r.err != nil {
		bad = append(bad, r.err.Error())
	}
	if len(bad) > 0 {
		return fmt.Errorf("step %d at %.2fs: %s\nstatus: %+v\nrecent events:\n  %s",
			r.steps, r.now.Sub(epoch).Seconds(), strings.Join(bad, "; "), r.st, strings.Join(r.log, "\n  "))
	}
	return nil
}

var cableChoices = []units.Amps{13, 20, 32, 32, 63, 63, 32, 20, 13, 0}

// event applies one random event (or none) before the next tick.
func (r *propRig) event() {
	ch := r.ch
	if ch.Intn(1000) < 985 {
		return
	}
	veh := func(what string, f func(v *sim.Vehicle)) {
		v := r.sim.Vehicle()
		f(&v)
		r.sim.SetVehicle(v)
		r.logf("vehicle %s: %+v", what, v)
	}
	switch ch.Intn(38) {
	case 0, 1, 2, 31, 32:
		veh("plug", func(v *sim.Vehicle) {
			v.Plugged = true
			v.CableRating = cableChoices[ch.Intn(len(cableChoices))]
			v.Asleep = ch.Intn(4) == 0
			v.RequestCharge = ch.Intn(4) > 0
		})
	case 3:
		veh("unplug", func(v *sim.Vehicle) { v.Plugged = false })
	case 4:
		// Unplugged and plugged in again faster than the debounce time
		// (issue 9 item 5): 1–3 ticks away.
		// Mostly two ticks: A seen twice, so the spell away from C/D lasts
		// the debounce time while no single level does.
		n := 2
		if ch.Intn(2) == 0 {
			n = 1 + ch.Intn(4)
		}
		veh("unplug (fast)", func(v *sim.Vehicle) { v.Plugged = false })
		for ; n > 0; n-- {
			if err := r.step(); err != nil {
				panic(err)
			}
		}
		veh("replug (fast)", func(v *sim.Vehicle) {
			v.Plugged = true
			if ch.Intn(4) == 0 {
				v.CableRating = cableChoices[ch.Intn(len(cableChoices))]
			}
		})
	case 5, 6, 7:
		veh("request", func(v *sim.Vehicle) { v.RequestCharge = !v.RequestCharge })
	case 8:
		veh("ventilation", func(v *sim.Vehicle) { v.Ventilation = !v.Ventilation })
	case 9:
		veh("ev", func(v *sim.Vehicle) {
			v.MaxCurrent = units.Amps(ch.Intn(81))
			v.Phases = 1 + 2*ch.Intn(2)
			v.Response = time.Duration(ch.Intn(10001)) * time.Millisecond
		})
	case 10:
		veh("cable", func(v *sim.Vehicle) { v.CableRating = cableChoices[ch.Intn(len(cableChoices))] })
	case 23, 24:
		// The emergency stop button, on top of whatever fault is active;
		// pressed less often than released, so presses stay short.
		if r.epo.pressed || ch.Intn(4) == 0 {
			r.epo.pressed = !r.epo.pressed
			r.logf("EPO button pressed %v", r.epo.pressed)
		}
	case 11:
		// cp_invalid holds until unplug like the others but is drawn less
		// often, so it does not crowd out closings and wake-ups.
		r.fault = sim.Faults[1+ch.Intn(len(sim.Faults)-1)]
		for r.fault == sim.FaultCPInvalid && ch.Intn(4) != 0 {
			r.fault = sim.Faults[1+ch.Intn(len(sim.Faults)-1)]
		}
		r.sim.SetFault(r.fault)
		r.logf("fault %s", r.fault)
	case 12, 13, 28, 29:
		r.fault = sim.FaultNone
		r.sim.SetFault(r.fault)
		r.logf("fault cleared")
	case 14, 15:
		err := r.m.Start(r.now)
		r.startCmd = r.startCmd || err == nil
		r.logf("Start: %v", err)
	case 16:
		err := r.m.Stop(r.now)
		r.logf("Stop: %v", err)
	case 17:
		on := ch.Intn(2) == 0
		err := r.m.SetBoost(on)
		r.logf("SetBoost(%v): %v", on, err)
	case 30:
		// The lock is forced open (a broken actuator, a vandal): under
		// load that is "lock lost under load".
		r.raw.Lock.Set(false, hw.LockMethod(r.m.Settings().LockMethod))
		r.logf("lock forced open")
	case 18:
		// SystemInfo Reset: the configuration is read again, sometimes
		// with other settings (a ChargerMode among them).
		s := r.m.Settings()
		if ch.Intn(3) == 0 {
			s = randSettings(ch, int(r.p.HardwareMax))
		}
		r.c.restartAt(r.now, r.p, func() settings.Settings { return s })
		r.logf("Reset (restart with settings %+v)", s)
	case 19:
		s := randSettings(ch, int(r.p.HardwareMax))
		was, taken := r.m.Settings(), r.st.VehicleConnected
		bad := r.c.applySettings(s)
		if bad == nil {
			r.noteSettings(s)
		} else {
			r.cov.refused++
		}
		changed := s.ChargerMode != was.ChargerMode || s.LockMethod != was.LockMethod
		// Refused while the machine has the car (a plug-in under way) or the
		// pilot has shown it for a while; a car hidden behind a shorted
		// pilot has had nothing read or locked yet, so nothing can be lifted.
		if bad == nil && changed && (taken || !r.connSince.IsZero() && r.now.Sub(r.connSince) >= 5*tick) {
			r.err = fmt.Errorf("ChargerMode/LockMethod %d/%d → %d/%d applied with a vehicle connected (plug-in %v, pilot for %v)",
				was.ChargerMode, was.LockMethod, s.ChargerMode, s.LockMethod, taken, r.now.Sub(r.connSince))
		}
		r.logf("settings %+v: refused %v", s, bad)
	case 20:
		w := units.Watts(ch.Intn(25000))
		err := r.m.SetSupervisorPower(w, r.now)
		if err == nil {
			r.noteLease(w, r.now)
		}
		r.logf("supervisor %v W: %v", w, err)
	case 22:
		// A meter reading: the statistics meter (energy, early open after
		// a stop) or the control meter (the power limiter's input).
		n := 1 + ch.Intn(2)
		var rd hw.MeterReading
		rd.At = r.now
		rd.Power = units.Watts(ch.Intn(30000))
		rd.ImportEnergy = units.WattHours(ch.Intn(1_000_000))
		rd.HasPhases = ch.Intn(2) == 0
		for i := range rd.PhaseCurrent {
			rd.PhaseCurrent[i] = units.Amps(ch.Intn(400)) / 10
		}
		r.m.SetMeter(n, rd)
		if n == 2 {
			r.noteMeter2(rd.At)
		}
		r.logf("meter %d: %+v", n, rd)
	case 35:
		// phases/set: 1, 3 or auto (refused without C2, auto without solar).
		req := []PhaseRequest{Phases1, Phases3, PhasesAuto, PhasesFollow}[ch.Intn(4)]
		err := r.m.SetPhases(req)
		r.logf("SetPhases(%d): %v", req, err)
	case 36:
		mode := Mode(ch.Intn(int(numModes)))
		err := r.m.SetMode(mode, r.now)
		r.logf("SetMode(%v): %v", mode, err)
	case 37:
		// Meter 1 as it really reads the car (the phase switch verifies on it).
		rd := hw.MeterReading{At: r.now, HasPhases: true}
		for i, p := range r.sim.EVPhases() {
			rd.PhaseCurrent[i], rd.PhasePower[i] = p.Current, p.Power
			rd.Power += p.Power
		}
		r.m.SetMeter(1, rd)
		r.logf("meter 1 (true): %+v", rd.PhaseCurrent)
	case 21:
		// Interference on the pilot line: a level between or outside the
		// bands for a few ticks.
		r.pilot.glitch = units.Volts(ch.Intn(300)-150) / 10
		r.pilot.glitchN = 1 + ch.Intn(10)
		r.logf("pilot glitch %v V for %d samples", r.pilot.glitch, r.pilot.glitchN)
	default:
		n := 1 + ch.Intn(500)
		if ch.Intn(5) == 0 {
			n = 1 + ch.Intn(4000)
		}
		r.logf("run %d ticks", n)
		for i := 0; i < n; i++ {
			if err := r.step(); err != nil {
				panic(err) // unwound by drive
			}
		}
	}
}

// drive runs steps random steps (in sequences on fresh machines) and
// returns the first violation.
func drive(ch chooser, steps, perSeq int, cov *coverage, mutate func(*Params)) (total int, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(error)
			if !ok {
				panic(p)
			}
			err = e
		}
	}()
	for seq := 0; total < steps; {
		r := newPropRig(ch, epoch, mutate)
		r.cov = cov
		for r.steps < perSeq && total+r.steps < steps {
			r.event()
			if err := r.step(); err != nil {
				return total + r.steps, fmt.Errorf("%d steps into the run: %w", total+r.steps, err)
			}
		}
		total += r.steps
		if err := r.haltAtEnd(seq); err != nil {
			return total, fmt.Errorf("halt after %d steps: %w", total, err)
		}
		seq++
		if bc, ok := ch.(*byteChooser); ok && bc.b == nil {
			break
		}
	}
	return total, nil
}

// TestSafetyProperties drives the Controller + simulator with random
// plugs (fast replugs among them), requests, faults, EPO presses,
// commands, settings changes, Resets (the daemon's restart path) and time,
// and checks invariants 1–14 and 17–20 of safety_test.go after every step.
// The seed is logged on every run (go test -v shows it), not only on
// failure.
func TestSafetyProperties(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun: go test ./controller -run 'TestSafetyProperties$' -seed=%d)", seed, seed)
	start := time.Now()
	var cov coverage
	rng := rand.New(rand.NewSource(seed))
	n, err := drive(rng, *propSteps, 20_000, &cov, nil)
	if err != nil {
		t.Fatalf("seed %d (rerun: go test ./controller -run 'TestSafetyProperties$' -seed=%d): %v", seed, seed, err)
	}
	if n < *propSteps {
		t.Fatalf("only %d of %d steps ran", n, *propSteps)
	}
	// The rarest states (a lock jam needs Case B, a session and the jam
	// at once) are missed by about one seed in fifteen since the phase and
	// mode events joined the mix. Coverage is the run's stopping rule, not
	// luck: up to twelve more quarters are driven (every step checked as
	// before) until each state and fault was seen; a generator that can
	// no longer reach one still fails below. (Four were once enough; with
	// C2 in the mix a run of 4 M steps without a contactor that failed to
	// close was seen once in 200 seeds: its rate depends on the random
	// rigs, 1–12 per 2 M steps.)
	for extra := 0; extra < 12 && !cov.complete(); extra++ {
		m, err := drive(rng, *propSteps/4, 20_000, &cov, nil)
		n += m
		if err != nil {
			t.Fatalf("seed %d (rerun: go test ./controller -run 'TestSafetyProperties$' -seed=%d): %v", seed, seed, err)
		}
	}
	t.Logf("seed %d: %d steps in %v; %v", seed, n, time.Since(start).Round(time.Millisecond), &cov)
	// A run that never reaches a state or fault proves nothing about it.
	for st, k := range cov.states {
		// Waiting is a start-up state: the random run sees it only for a
		// step now and then (≈ 5 times in 2 M steps), so a floor on it
		// would make the test flaky.
		if k == 0 && EvseState(st) != StateWaiting {
			t.Errorf("seed %d: the random run never reached state %v", seed, EvseState(st))
		}
	}
	for f, k := range cov.faults {
		// The simulated board has no residual-current monitor; the RCM
		// faults are the periph driver's (hw/periph's property test).
		if k == 0 && Fault(f) != FaultNone && Fault(f) != FaultRCMTrip && Fault(f) != FaultRCMTest {
			t.Errorf("seed %d: the random run never entered fault %q", seed, Fault(f))
		}
	}
	// Coverage floors well below what runs reach (≈ 250 closings, 10–22
	// wake-ups, ≈ 150 restarts and ≈ 100 refused settings changes per 2 M
	// steps), so they catch a degenerate generator without making the
	// test flaky.
	if *propPhases && cov.phaseSwitches < n/200_000 {
		t.Errorf("seed %d: only %d phase switches with a car", seed, cov.phaseSwitches)
	}
	if cov.closings < n/20_000 || cov.wakes < n/600_000 || cov.restarts < n/50_000 || cov.refused < n/100_000 {
		t.Errorf("seed %d: only %d closings, %d wake-ups, %d restarts, %d refused settings changes",
			seed, cov.closings, cov.wakes, cov.restarts, cov.refused)
	}
}

// complete reports whether every state but waiting and every fault the
// simulator can cause (not the RCM's) was seen.
func (c *coverage) complete() bool {
	for st, k := range c.states {
		if k == 0 && EvseState(st) != StateWaiting {
			return false
		}
	}
	for f, k := range c.faults {
		if k == 0 && Fault(f) != FaultNone && Fault(f) != FaultRCMTrip && Fault(f) != FaultRCMTest {
			return false
		}
	}
	return true
}

// regressionSeeds once made TestSafetyProperties fail; they run on every
// test run. 1796038506874585305 (issue 9 item 5: a fast unplug and replug
// carried the old plug-in over) found its defect with the harness of that
// time; the harness has changed since, so TestFastReplugEndsThePlugIn
// replays that exact scenario, and the seed stays as one more fixed run.
// 1796050073892566282: a car plugged in while C2, moved with no car and
// then stuck, was still settling; it saw 760 ms of F before C1 closed
// (invariant 22; found after the merges, fixed in phase.go).
// 1796051056122898083: a phase switch began 2.99 s into a wake-up pulse
// and took its F over (invariant 17); a switch now waits for the pulse.
// 1796051113544262246: a hold begun with no car after a Reset counted
// its F for a car that arrived 4.7 s into it (invariant 22).
// 1796051967279152236: C2 settled with the car connected and F ended in
// the step that completed 5 s, so the car saw F for 4.99 s (invariant 22).
// 1796052056912313810: a Reset during the 1p fallback after C2 failed to
// close restarted the sequence towards the 3p it had failed to reach
// (invariant 24; the fallback now retargets the sequence to 1p).
// 1796052078754667868 and 1796052363365287561 broke the checker, not the
// machine: a latch, and an auto start, the machine made for the plug-in
// before while its debounce had not yet seen a one-tick unplug (the
// first no longer reaches that sequence since the phase.go fixes).
// Each runs as far as the step its failure was found at.
var regressionSeeds = []struct {
	seed  int64
	steps int
}{
	{1796038506874585305, 200_000}, {1796050073892566282, 200_000}, {1796051056122898083, 200_000},
	{1796051113544262246, 200_000}, {1796051967279152236, 200_000}, {1796052056912313810, 1_970_000},
	{1796052078754667868, 1_000_000}, {1796052363365287561, 1_975_000},
}

func TestSafetyPropertiesRegressions(t *testing.T) {
	for _, r := range regressionSeeds {
		t.Logf("seed %d", r.seed)
		if _, err := drive(rand.New(rand.NewSource(r.seed)), r.steps, 20_000, &coverage{}, nil); err != nil {
			t.Errorf("seed %d: %v", r.seed, err)
		}
	}
}

// FuzzSafety is the same property test driven by the fuzzer's bytes:
// go test ./controller -run '^$' -fuzz FuzzSafety -fuzztime 5m
func FuzzSafety(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("plug in, charge, fault, unplug, repeat"))
	seeded := make([]byte, 4096)
	rand.New(rand.NewSource(61851)).Read(seeded)
	f.Add(seeded)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := drive(&byteChooser{b: data}, 50_000, 50_000, &coverage{}, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// coverage counts what a random run reached, so a run that degenerated
// (never charging, never faulting) fails instead of passing vacuously.
type coverage struct {
	states          [numStates]int
	faults          [len(faultText)]int
	closings, wakes int
	restarts        int // machines swapped by a Reset
	refused         int // settings changes refused for a connected vehicle
	phaseSwitches   int // C2 moved with a car plugged in
	phaseLatches    int // phase-switch mismatches latched
}

func (c *coverage) String() string {
	var b strings.Builder
	for st, k := range c.states {
		fmt.Fprintf(&b, "%v %d, ", EvseState(st), k)
	}
	for f, k := range c.faults[1:] {
		fmt.Fprintf(&b, "fault%d %d, ", f+1, k)
	}
	fmt.Fprintf(&b, "closings %d, wake-ups %d, restarts %d, settings refused %d, phase switches %d, phase latches %d",
		c.closings, c.wakes, c.restarts, c.refused, c.phaseSwitches, c.phaseLatches)
	return b.String()
}
