// Package controller is the charger's IEC 61851-1 Mode 3 control loop: a
// state machine (Machine) driven by hardware samples, commands and an
// injected time, and a Controller that owns a Machine from one goroutine
// and publishes typed status snapshots.
package controller

// EvseState is the WebAPI's EvseState enumeration (cpEvseStateEnum_t).
type EvseState int

// The twelve EVSE states of the vendor's WebAPI, in its order.
const (
	StateWaiting    EvseState = iota // controller starting, inputs not settled yet
	StateIdle                        // A: no vehicle
	StateRelayErr                    // F: contactor welded or failed to close
	StateEPO                         // F: emergency stop pressed
	StateConnected                   // B: vehicle connected, not charging
	StateCharge                      // C: vehicle ready (charging or paused)
	StateVent                        // D: vehicle ready, asks for ventilation
	StateDiodeErr                    // F: EV diode missing or shorted
	StateErrE                        // F: CP shorted to PE (state E)
	StateGeneralErr                  // F: implausible pilot level
	StatePPErr                       // F: Case B cable PP coding invalid
	StateLockErr                     // F: cable lock did not engage or was lost
	numStates
)

var stateNames = [numStates]string{
	"waiting", "idle", "relay_error", "emergency_stop", "connected", "charging",
	"ventilation", "diode_error", "cp_error", "general_error", "pp_error", "lock_error",
}

var stateVendor = [numStates]string{
	"EVSE_WAITING", "EVSE_IDLE_A1_A2", "EVSE_RELAY_ERR_F", "EVSE_EPO_F",
	"EVSE_EV_CONNECTED_B1_B2", "EVSE_EV_CHARGE_C1_C2", "EVSE_EV_VENT_D1_D2",
	"EVSE_EV_DIODE_ERR", "EVSE_EV_ERR_E", "EVSE_EV_GENERAL_ERR", "EVSE_PP_ERR_F", "EVSE_LOCK_ERR_F",
}

// StateNames lists the short state names in EvseState order (the options
// of Home Assistant's enum sensor).
func StateNames() []string { return append([]string(nil), stateNames[:]...) }

// String returns the short name (e.g. "charging").
func (s EvseState) String() string {
	if s < 0 || s >= numStates {
		return "unknown"
	}
	return stateNames[s]
}

// VendorName returns the vendor's enumerator name (e.g. "EVSE_EV_CHARGE_C1_C2").
func (s EvseState) VendorName() string {
	if s < 0 || s >= numStates {
		return "unknown"
	}
	return stateVendor[s]
}

// Fault is an error condition that takes the charger out of service.
// Faults. Recovery policy (also in the README):
//   - FaultEPO clears when the emergency stop is released; the session is
//     stopped and must be started again (or auto-starts on the next plug-in).
//     Releasing it clears the EPO only: a fault active under it stays.
//   - FaultWeld latches until Reset (an in-process restart), and is gone
//     after it only when the contactor feedback reads open.
//   - FaultRelayOpen retries after RelayRetry, at most Params.RelayTries times
//     per plug-in, then holds until the vehicle is unplugged.
//   - FaultCPShort (state E) clears when the pilot reads a valid level again.
//   - FaultDiode, FaultGeneral, FaultLock and the RCM faults clear when
//     the vehicle is unplugged (state A); a persisting trip re-enters.
//   - FaultPP clears when the vehicle is unplugged or the PP reads valid.
//
// Faults stack, and Reset carries every one but the weld (detected anew
// from the feedback) into the fresh machine. After any fault entry the
// pilot is held at F for at least Params.FHold.
type Fault int8

// Fault kinds.
const (
	FaultNone Fault = iota
	FaultEPO
	FaultWeld
	FaultRelayOpen
	FaultCPShort
	FaultDiode
	FaultGeneral
	FaultPP
	FaultLock
	FaultRCMTrip // residual-current monitor tripped (rcm.go)
	FaultRCMTest // residual-current monitor failed its self-test
)

var faultText = [...]string{
	FaultNone:      "",
	FaultEPO:       "emergency stop pressed",
	FaultWeld:      "contactor welded (latched until reset)",
	FaultRelayOpen: "contactor failed to close",
	FaultCPShort:   "control pilot shorted to PE (state E)",
	FaultDiode:     "vehicle diode check failed",
	FaultGeneral:   "implausible control-pilot level",
	FaultPP:        "cable proximity coding invalid",
	FaultLock:      "cable lock failed",
	FaultRCMTrip:   "residual current detected (RCM tripped)",
	FaultRCMTest:   "residual-current monitor self-test failed",
}

// String describes the fault for people.
func (f Fault) String() string {
	if f < 0 || int(f) >= len(faultText) {
		return "unknown fault"
	}
	return faultText[f]
}

// State returns the EvseState that reports the fault.
func (f Fault) State() EvseState {
	switch f {
	case FaultEPO:
		return StateEPO
	case FaultWeld, FaultRelayOpen:
		return StateRelayErr
	case FaultCPShort:
		return StateErrE
	case FaultDiode:
		return StateDiodeErr
	case FaultPP:
		return StatePPErr
	case FaultLock:
		return StateLockErr
	case FaultGeneral, FaultRCMTrip, FaultRCMTest:
		return StateGeneralErr
	}
	return StateWaiting
}

// faultSet holds the active faults, one bit per Fault. Faults stack: an
// EPO pressed during a fault that only an unplug clears must not clear
// that fault on release.
type faultSet uint16

func (s faultSet) has(f Fault) bool         { return s&(1<<f) != 0 }
func (s faultSet) with(f Fault) faultSet    { return s | 1<<f }
func (s faultSet) without(f Fault) faultSet { return s &^ (1 << f) }

// top returns the fault to report: a weld, then the EPO, then the rest
// (only one of which can be active: a new one is detected only when none
// is).
func (s faultSet) top() Fault {
	switch {
	case s.has(FaultWeld):
		return FaultWeld
	case s.has(FaultEPO):
		return FaultEPO
	}
	for f := FaultRelayOpen; int(f) < len(faultText); f++ {
		if s.has(f) {
			return f
		}
	}
	return FaultNone
}
