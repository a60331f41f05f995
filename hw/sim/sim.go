// Package sim is a simulated PSP EVSE board with a vehicle and a building
// attached: it implements the hw role interfaces with state under a mutex
// and lets tests (and the daemon's /sim/v1 endpoint) plug in a vehicle,
// make it ask for charge, and inject faults. Time comes in through Tick.
package sim

import (
	"math"
	"sync"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Fault names accepted by SetFault and the /sim/v1/State endpoint.
const (
	FaultNone       = "none"
	FaultEPO        = "epo"
	FaultWeld       = "weld"
	FaultRelayOpen  = "relay_open"
	FaultDiodeShort = "diode_short"
	FaultCPShort    = "cp_short"
	FaultPPShort    = "pp_short"
	FaultPPOpen     = "pp_open"
	FaultLockJam    = "lock_jam"
	FaultCPInvalid  = "cp_invalid" // pilot reads between the IEC bands (a damaged cable or EV)
)

// Faults lists every fault name.
var Faults = []string{FaultNone, FaultEPO, FaultWeld, FaultRelayOpen, FaultDiodeShort, FaultCPShort, FaultPPShort, FaultPPOpen, FaultLockJam, FaultCPInvalid, FaultC2Stuck}

// Lock feedback delays per method: a solenoid pulse is quick, a servo
// takes its travel time.
const (
	solenoidDelay = 200 * time.Millisecond
	servoDelay    = 600 * time.Millisecond
)

// Sim is the simulated charger, vehicle and building.
type Sim struct {
	mu  sync.Mutex
	now time.Time

	// EVSE outputs
	duty          int // permille, 1000 steady, 0 = −12 V
	dutyAt        time.Time
	contactorCmd  bool
	c1OpenedAt    time.Time     // when C1 was last commanded open (halt.go)
	c1Dropout     time.Duration // C1's mechanical release time (halt.go)
	welded        bool          // contacts stuck closed once a weld fault is injected
	lockCmd       bool
	lockCmdAt     time.Time
	lockDelay     time.Duration
	locked        bool
	fault         string
	negativeSince time.Time // EVSE has driven −12 V since (for the wake-up)
	c2Present     bool      // phases.go
	c2Cmd         bool
	c2Closed      bool

	// vehicle
	ev        Vehicle
	evLevel   units.Volts // CP high level the EV's resistors make
	evLevelAt time.Time
	woken     bool
	current   units.Amps // drawn per phase now
	pending   units.Amps // current the EV is moving to
	pendingAt time.Time  // when it gets there

	// building
	house units.Watts
	pv    units.Watts
}

// Vehicle is the simulated EV's configuration.
type Vehicle struct {
	Plugged       bool
	RequestCharge bool
	Ventilation   bool
	MaxCurrent    units.Amps
	Phases        int
	Response      time.Duration // delay before following a new duty
	CableRating   units.Amps    // Case B PP rating; 0 = invalid coding
	Asleep        bool          // ignores PWM until woken by F (IEC wake-up)
}

// DefaultVehicle is an unplugged 3-phase 16 A car with a 32 A cable.
func DefaultVehicle() Vehicle {
	return Vehicle{MaxCurrent: 16, Phases: 3, Response: 2 * time.Second, CableRating: 32}
}

// New returns a simulator at time now with nothing plugged in.
func New(now time.Time) *Sim {
	return &Sim{now: now, duty: 1000, ev: DefaultVehicle(), fault: FaultNone, evLevel: 12, lockDelay: solenoidDelay}
}

// Board returns the simulator's devices as an hw.Board.
func (s *Sim) Board() hw.Board {
	b := hw.Board{Pilot: (*Pilot)(s), Proximity: (*Proximity)(s), Contactor: (*Contactor)(s), Lock: (*Lock)(s), EPO: (*EPO)(s),
		Clock: (*Clock)(s)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c2Present {
		b.Phases = (*PhaseContactor)(s)
	}
	return b
}

// Tick advances the simulation to now: the vehicle reacts to the pilot
// after its response delay, locks move, current follows.
func (s *Sim) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	s.advance()
}

// advance recomputes the vehicle's state; s.mu is held.
func (s *Sim) advance() {
	now := s.now
	if s.lockCmd != s.locked && s.fault != FaultLockJam && now.Sub(s.lockCmdAt) >= s.lockDelay {
		s.locked = s.lockCmd
	}
	if !s.ev.Plugged {
		s.woken = false // a sleeping car plugged in again needs a new wake-up
	}
	if s.ev.Plugged && s.duty == 0 && !s.negativeSince.IsZero() && now.Sub(s.negativeSince) >= time.Second {
		s.woken = true
	}
	pwm := s.duty >= 100 && s.duty <= 960
	// CP level the vehicle presents.
	want := units.Volts(12)
	if s.ev.Plugged {
		want = 9
		ready := s.ev.RequestCharge && (!s.ev.Asleep || s.woken)
		switch {
		case !ready:
		case pwm:
			want = 6
			if s.ev.Ventilation {
				want = 3
			}
		case s.evLevel <= 6 && now.Sub(s.dutyAt) < s.ev.Response:
			// PWM just withdrawn: the EV takes its response time to
			// stop and open S2 (IEC: within 3 s).
			want = s.evLevel
		}
	}
	if want != s.evLevel {
		// Closing S2 (B→C) follows the PWM after a short reaction;
		// everything else (unplug, battery full) is immediate.
		if want < s.evLevel && s.evLevel < 12 && now.Sub(s.dutyAt) < s.reaction() {
			want = s.evLevel
		}
		s.evLevel, s.evLevelAt = want, now
	}
	// Current the vehicle draws.
	target := units.Amps(0)
	if s.contactorClosed() && pwm && s.evLevel <= 6 && s.evLevel > 0 {
		adv := advertised(s.duty)
		target = min(adv, s.ev.MaxCurrent)
	}
	if !s.contactorClosed() || s.evLevel > 6 {
		s.current, s.pending = 0, 0 // no voltage, no current
		s.pendingAt = time.Time{}
		return
	}
	if target != s.pending {
		s.pending = target
		s.pendingAt = now.Add(s.ev.Response)
	}
	if !now.Before(s.pendingAt) {
		s.current = s.pending
	}
}

func (s *Sim) reaction() time.Duration { return min(s.ev.Response/4, 500*time.Millisecond) }

// advertised decodes a duty the way an EV does, to 0.1 A.
func advertised(d int) units.Amps {
	var a float64
	switch {
	case d < 100 || d > 960:
		return 0
	case d <= 850:
		a = float64(d) / 10 * 0.6
	default:
		a = (float64(d)/10 - 64) * 2.5
	}
	return units.Amps(math.Round(a*10) / 10)
}

func (s *Sim) contactorClosed() bool {
	switch {
	case s.welded:
		return true
	case s.fault == FaultRelayOpen:
		return false
	case !s.contactorCmd && s.now.Sub(s.c1OpenedAt) < s.c1Dropout:
		return true // still dropping out
	}
	return s.contactorCmd
}

// Pilot is the simulator's control pilot.
type Pilot Sim

// SetDuty implements hw.Pilot.
func (p *Pilot) SetDuty(d int) {
	s := (*Sim)(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == s.duty {
		return
	}
	if d == 0 {
		s.negativeSince = s.now
	} else {
		s.negativeSince = time.Time{}
	}
	s.duty, s.dutyAt = d, s.now
	s.advance()
}

// Halt implements hw.Pilot: steady +12 V.
func (p *Pilot) Halt() { p.SetDuty(1000) }

// Sample implements hw.Pilot.
func (p *Pilot) Sample() hw.PilotSample {
	s := (*Sim)(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sample()
}

func (s *Sim) sample() hw.PilotSample {
	if s.fault == FaultCPShort {
		return hw.PilotSample{}
	}
	if s.fault == FaultCPInvalid {
		return hw.PilotSample{High: -5, Low: -5}
	}
	if s.duty == 0 {
		return hw.PilotSample{High: -12, Low: -12}
	}
	high := s.evLevel
	if s.duty == 1000 {
		return hw.PilotSample{High: high, Low: high}
	}
	low := units.Volts(-12)
	if s.ev.Plugged && s.fault == FaultDiodeShort {
		low = -high // no diode: the EV's resistors load the negative half too
	}
	return hw.PilotSample{High: high, Low: low}
}

// Proximity is the simulator's PP input.
type Proximity Sim

// Ohms implements hw.Proximity.
func (p *Proximity) Ohms() float64 {
	s := (*Sim)(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fault == FaultPPShort:
		return 10
	case !s.ev.Plugged || s.fault == FaultPPOpen:
		return math.Inf(1)
	}
	switch s.ev.CableRating {
	case 13:
		return 1500
	case 20:
		return 680
	case 32:
		return 220
	case 63:
		return 100
	}
	return 4700 // no valid coding
}

// Contactor is the simulator's contactor.
type Contactor Sim

// Set implements hw.Contactor.
func (c *Contactor) Set(closed bool) {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !closed && s.contactorCmd {
		s.c1OpenedAt = s.now
	}
	s.contactorCmd = closed
	s.advance()
}

// Closed implements hw.Contactor (the feedback contact).
func (c *Contactor) Closed() bool {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contactorClosed()
}

// Halt implements hw.Contactor.
func (c *Contactor) Halt() { c.Set(false) }

// Lock is the simulator's cable lock.
type Lock Sim

// Set implements hw.Lock.
func (l *Lock) Set(locked bool, method hw.LockMethod) {
	s := (*Sim)(l)
	s.mu.Lock()
	defer s.mu.Unlock()
	if locked == s.lockCmd {
		return
	}
	s.lockCmd, s.lockCmdAt = locked, s.now
	s.lockDelay = solenoidDelay
	if method == hw.LockServo {
		s.lockDelay = servoDelay
	}
}

// Locked implements hw.Lock.
func (l *Lock) Locked() bool {
	s := (*Sim)(l)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked
}

// EPO is the simulator's emergency-stop input.
type EPO Sim

// Pressed implements hw.EmergencyStop.
func (e *EPO) Pressed() bool {
	s := (*Sim)(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault == FaultEPO
}

var (
	_ hw.Pilot         = (*Pilot)(nil)
	_ hw.Proximity     = (*Proximity)(nil)
	_ hw.Contactor     = (*Contactor)(nil)
	_ hw.Lock          = (*Lock)(nil)
	_ hw.EmergencyStop = (*EPO)(nil)
)
