package controller

import (
	"math"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// bench is the boundary tests' rig: a machine on the simulator, stepped
// in 10 ms ticks like the daemon's loop, whose board records when each
// output command changed. It depends only on the machine's exported
// surface and the simulator, so the boundary tests read as statements
// about timings and bands, not about the machine's fields.
type bench struct {
	t   testing.TB
	sim *sim.Sim
	m   *Machine
	now time.Time
	st  Status

	duty     int // last duty commanded
	dutyAt   time.Time
	closed   bool // last contactor command
	closedAt time.Time
	lockCmd  bool // last lock command
	lockAt   time.Time
	locks    []time.Time // every lock (engage) command
	lockSets int         // lock commands sent, changes or not
	ohms     float64     // PP resistance when ppFixed
	ppFixed  bool
	lockLost bool         // the lock's feedback reads open whatever the lock does
	low      *units.Volts // PWM low level read instead of the simulator's, when set
}

type benchPilot struct {
	hw.Pilot
	b *bench
}

func (p benchPilot) SetDuty(d int) {
	if d != p.b.duty {
		p.b.duty, p.b.dutyAt = d, p.b.now
	}
	p.Pilot.SetDuty(d)
}

// Sample reads the simulator's pilot, with the PWM low level replaced
// while b.low is set.
func (p benchPilot) Sample() hw.PilotSample {
	s := p.Pilot.Sample()
	if p.b.low != nil && IsPWM(p.b.duty) {
		s.Low = *p.b.low
	}
	return s
}

type benchContactor struct {
	hw.Contactor
	b *bench
}

func (c benchContactor) Set(closed bool) {
	if closed != c.b.closed {
		c.b.closed, c.b.closedAt = closed, c.b.now
	}
	c.Contactor.Set(closed)
}

type benchLock struct {
	hw.Lock
	b *bench
}

func (l benchLock) Set(locked bool, m hw.LockMethod) {
	l.b.lockSets++
	if locked != l.b.lockCmd {
		l.b.lockCmd, l.b.lockAt = locked, l.b.now
		if locked {
			l.b.locks = append(l.b.locks, l.b.now)
		}
	}
	l.Lock.Set(locked, m)
}

// Locked reads the lock's feedback, or open while lockLost.
func (l benchLock) Locked() bool { return !l.b.lockLost && l.Lock.Locked() }

type benchPP struct {
	hw.Proximity
	b *bench
}

// Ohms reads the fixed resistance while one is set (a cable left in the
// socket keeps its coding when the car end is unplugged); otherwise what
// the simulated cable shows.
func (p benchPP) Ohms() float64 {
	if p.b.ppFixed {
		return p.b.ohms
	}
	return p.Proximity.Ohms()
}

func newBench(t testing.TB, edit func(*Params, *settings.Settings)) *bench {
	t.Helper()
	p := DefaultParams()
	s := settings.Defaults()
	if edit != nil {
		edit(&p, &s)
	}
	b := &bench{t: t, now: epoch, sim: sim.New(epoch), duty: DutySteady}
	raw := b.sim.Board()
	board := hw.Board{
		Pilot:     benchPilot{raw.Pilot, b},
		Proximity: benchPP{raw.Proximity, b},
		Contactor: benchContactor{raw.Contactor, b},
		Lock:      benchLock{raw.Lock, b},
		EPO:       raw.EPO,
	}
	b.m = NewMachine(board, p, s)
	b.step()
	return b
}

func (b *bench) step() {
	b.now = b.now.Add(tick)
	b.sim.Tick(b.now)
	b.m.Step(b.now)
	b.m.Snapshot(b.now, &b.st)
}

// run advances d in ticks.
func (b *bench) run(d time.Duration) {
	for end := b.now.Add(d); b.now.Before(end); {
		b.step()
	}
}

// until steps until cond holds and returns the time it first held;
// fails after limit.
func (b *bench) until(limit time.Duration, what string, cond func() bool) time.Time {
	b.t.Helper()
	start := b.now
	for !cond() {
		if b.now.Sub(start) > limit {
			b.t.Fatalf("%s: not within %v (state %v, fault %v, reason %q, duty %d)", what, limit, b.st.State, b.st.Fault, b.st.Reason, b.duty)
		}
		b.step()
	}
	return b.now
}

// never steps for d and fails the first time cond holds.
func (b *bench) never(d time.Duration, what string, cond func() bool) {
	b.t.Helper()
	for end := b.now.Add(d); b.now.Before(end); {
		b.step()
		if cond() {
			b.t.Fatalf("t=%v: %s (state %v, fault %v, reason %q, duty %d)", b.now.Sub(epoch), what, b.st.State, b.st.Fault, b.st.Reason, b.duty)
		}
	}
}

func (b *bench) vehicle(f func(v *sim.Vehicle)) {
	v := b.sim.Vehicle()
	f(&v)
	b.sim.SetVehicle(v)
}

// charge plugs in a car that asks for charge and waits for the contactor.
func (b *bench) charge() {
	b.t.Helper()
	b.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	b.until(10*time.Second, "charging", func() bool { return b.closed && b.st.ContactorFeedback })
}

// pwm reports whether the last duty commanded is a PWM.
func (b *bench) pwm() bool { return IsPWM(b.duty) }

// exactly fails unless the event came d after from: one tick earlier
// nothing may have happened, and at d it must have.
func exactly(t testing.TB, what string, from, at time.Time, d time.Duration) {
	t.Helper()
	if got := at.Sub(from); got != d {
		t.Errorf("%s after %v, want exactly %v (tick %v)", what, got, d, tick)
	}
}

var inf = math.Inf(1)

// simVehicle is the simulated car's configuration.
type simVehicle = sim.Vehicle
