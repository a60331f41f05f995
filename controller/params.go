package controller

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// Params are the installation's fixed properties and the control loop's
// timings. Defaults follow ../shared/reference/iec61851.md §3.
type Params struct {
	HardwareMax units.Amps // installation's maximum current per phase
	Ventilation bool       // the site can ventilate: state D may charge

	Debounce     time.Duration // pilot level must hold this long to count
	CStable      time.Duration // C must hold this long before closing (250–500 ms)
	FHold        time.Duration // F driven at least this long after a fault (≥ 300 ms)
	SwitchGrace  time.Duration // contactor feedback may lag the command this long
	StopTimeout  time.Duration // PWM withdrawn in C: open under load after this (6 s)
	DutyInterval time.Duration // minimum spacing of duty increases (5 s)
	WakeAfter    time.Duration // B2 this long without C/D → wake-up pulse (30 s)
	WakePulse    time.Duration // length of the wake-up F pulse (3–4 s)
	LockTimeout  time.Duration // lock feedback must follow within this
	LockRetry    time.Duration // pause before a new lock attempt
	LockAttempts int           // lock attempts before LOCK_ERR
	RelayRetry   time.Duration // pause before retrying a contactor that did not close
	RelayTries   int           // retries per plug-in before holding the fault

	Limiter LimiterParams
	Phases  PhaseParams // 1p/3p switching, with a C2 only
	// PhaseSwitch says C2 is in use (hardware.phase_switch); without it
	// a board's C2 is never driven.
	PhaseSwitch bool
}

// DefaultParams returns the timings used unless configured otherwise.
func DefaultParams() Params {
	return Params{
		HardwareMax:  32,
		Debounce:     20 * time.Millisecond,
		CStable:      300 * time.Millisecond,
		FHold:        500 * time.Millisecond,
		SwitchGrace:  500 * time.Millisecond,
		StopTimeout:  6 * time.Second,
		DutyInterval: 5 * time.Second,
		WakeAfter:    30 * time.Second,
		WakePulse:    3500 * time.Millisecond,
		LockTimeout:  1 * time.Second,
		LockRetry:    5 * time.Second,
		LockAttempts: 3,
		RelayRetry:   30 * time.Second,
		RelayTries:   3,
		Limiter:      DefaultLimiterParams(),
		Phases:       DefaultPhaseParams(),
	}
}
