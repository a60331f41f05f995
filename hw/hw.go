// Package hw defines the small role interfaces through which the controller
// drives the charger's hardware: control pilot, proximity pilot, contactor,
// cable lock, emergency-stop input and energy meters. Real pin drivers and
// the simulator (hw/sim) implement them.
//
// Every output device has Halt, which puts it in its inert, safe state:
// contactor open, pilot steady (no PWM), lock left as it is (a lock is only
// released by the controller once the contactor is proven open).
package hw

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// PilotSample is one measurement of the control-pilot line: the voltage of
// the PWM high phase and of the low phase. With a steady output both are
// the same level.
type PilotSample struct {
	High units.Volts
	Low  units.Volts
}

// Pilot is the control-pilot driver and sense circuit.
type Pilot interface {
	// SetDuty drives the pilot. dutyPermille 1000 is steady +12 V (state
	// X1), 0 is steady −12 V (state F), anything else a 1 kHz PWM with that
	// duty in tenths of a percent.
	SetDuty(dutyPermille int)
	// Sample returns the last measured high and low levels.
	Sample() PilotSample
	// Halt drives steady +12 V (no PWM offered).
	Halt()
}

// Proximity reads the proximity-pilot resistance of a Case B socket.
type Proximity interface {
	// Ohms returns the measured PP-to-PE resistance; +Inf when open.
	Ohms() float64
}

// Contactor is the main contactor with its auxiliary feedback contact.
type Contactor interface {
	// Set commands the contactor closed (true) or open (false).
	Set(closed bool)
	// Closed reports the feedback: whether the output is really live.
	Closed() bool
	// Halt opens the contactor.
	Halt()
}

// LockMethod selects how a Case B cable lock is driven; it is the
// SystemConfig LockMethod value.
type LockMethod int

const (
	// LockSolenoid is a bistable solenoid driven by a short pulse.
	LockSolenoid LockMethod = 0
	// LockServo is a servomotor driven to a position.
	LockServo LockMethod = 1
)

// Lock is the Case B socket's cable lock with its feedback switch.
type Lock interface {
	// Set drives the lock to locked (true) or unlocked (false) using the
	// given method; the feedback follows some time later, or never when
	// the lock is jammed.
	Set(locked bool, method LockMethod)
	// Locked reports the feedback switch.
	Locked() bool
}

// EmergencyStop is the emergency power-off (EPO) input.
type EmergencyStop interface {
	// Pressed reports whether the EPO circuit is open (stop requested).
	Pressed() bool
}

// PhaseContactor is the optional second contactor, C2, that switches
// phases L2 and L3 for 1-phase/3-phase switching, with its own feedback
// contact. Its control logic belongs to the charging modes; a driver
// provides the output and the feedback.
type PhaseContactor interface {
	Contactor
}

// ResidualCurrentMonitor is an optional residual-current monitor (an
// RDC-DD module detecting 6 mA DC) with its fault input and test output.
// The controller tests it before every session and refuses to close the
// contactor unless the test passed; a trip opens the contactor at once.
type ResidualCurrentMonitor interface {
	// Tripped reports a residual-current trip (or a module fault). It is
	// false while the module's own self-test is running.
	Tripped() bool
	// StartTest starts the module's self-test; it does not block.
	StartTest()
	// TestResult reports whether the last test has finished and whether
	// the module tripped and recovered as it should.
	TestResult() (done, passed bool)
}

// Board bundles the charger's devices. Halt puts all of them in the safe
// state and is called on shutdown, on panic recovery and on faults.
// Phases, RCM and Clock are optional (nil without them).
type Board struct {
	Pilot     Pilot
	Proximity Proximity
	Contactor Contactor
	Lock      Lock
	EPO       EmergencyStop
	Phases    PhaseContactor
	RCM       ResidualCurrentMonitor
	// Clock is what Halt waits for C1 with; nil is the wall clock.
	Clock Clock
}

// Halt opens C1, stops the PWM and then releases C2 — never in the same
// instant: C2 is released only once C1's feedback reads open, or after
// C1ReleaseTime (WaitOpen), so C2's contacts never part under load
// (invariant 21). The wait is bounded, so Halt also serves a panic; if
// the process dies before the wait ends, C2 stays where it is and
// whatever the pin does after the process (the coil driver's pull-down,
// the next start's Open, the hardware watchdog; docs/hardware.md, "Safe
// state") is the last resort — C1 is open by then.
func (b *Board) Halt() {
	b.Contactor.Halt()
	b.Pilot.Halt()
	if b.Phases != nil {
		WaitOpen(b.Contactor.Closed, b.Clock)
		b.Phases.Halt()
	}
}

// MeterReading is what the controller needs from one energy meter. Meter
// drivers deliver it only from a valid poll; the controller judges
// staleness from At.
type MeterReading struct {
	At           time.Time
	Power        units.Watts     // total active power, import positive
	ImportEnergy units.WattHours // total import energy register
	HasPhases    bool            // per-phase values below are measured
	PhaseCurrent [3]units.Amps
	PhasePower   [3]units.Watts
	PhaseVoltage [3]units.Volts
}
