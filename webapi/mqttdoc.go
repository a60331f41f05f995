package webapi

import "github.com/evse-mqtt/evse-mqtt/charger"

// mqttStatusDoc is the MQTT <base>/status document: the vendor's Status
// object field for field, then what the WebAPI cannot carry (documented in
// docs/mqtt.md; Home Assistant discovery reads these names).
type mqttStatusDoc struct {
	statusDoc
	State            string  // short state name, e.g. "charging"
	VendorState      string  // e.g. "EVSE_EV_CHARGE_C1_C2"
	Fault            string  // "" when none
	Reason           string  // why charging is not running now; "" while charging
	VehicleConnected bool    //
	Charging         bool    // contactor closed (feedback)
	Problem          bool    // a fault is active
	CurrentLimit     float64 // A: the current the EVSE offers now
	LimitSource      string  // configuration, boost, hardware, cable, limiter, supervisor lease, fallback
	PowerSource      string  // "meter" or "estimate"
	LimiterActive    bool
	LimiterStale     bool
	LimiterPaused    bool
	LeaseRemainingMs int64  // supervisor lease left, 0 without one
	Mode             string `json:",omitempty"` // charging mode; absent for a bridged box (it has none)
	// With the phase contactor C2 (hardware.phase_switch) only: the
	// phases supplied, the switch step (idle, stopping, f_hold,
	// switching, resuming, verifying), the switches this plug-in, why
	// the last one went as it did, and the phases/set request in force
	// (follow, 1, 3, auto; auto outside the solar modes reads follow).
	PhasesActive  int    `json:",omitempty"`
	PhaseSwitch   string `json:",omitempty"`
	PhaseSwitches *int   `json:",omitempty"`
	PhaseReason   string `json:",omitempty"`
	PhaseRequest  string `json:",omitempty"`
	// LifetimeEnergy (kWh) never decreases: Home Assistant's
	// total_increasing statistics take any drop for a meter reset.
	LifetimeEnergy *float64 `json:",omitempty"`
	// Reachable is false while a bridged box does not answer, with the
	// reason in UnreachableReason; the other fields then hold the last
	// values read (Home Assistant shows the entities unavailable).
	Reachable         bool
	UnreachableReason string `json:",omitempty"`
	// OCPP is the central-system connection and transaction; absent when
	// OCPP is off.
	OCPP *OCPPState `json:",omitempty"`
}

// MQTTStatusDocument renders <base>/status.
func (s *Server) MQTTStatusDocument() []byte {
	st := s.o.Controller.Status()
	d := mqttStatusDoc{
		statusDoc:         s.statusDoc(st),
		State:             st.State.String(),
		VendorState:       st.State.VendorName(),
		Reason:            st.Reason,
		VehicleConnected:  st.VehicleConnected,
		Charging:          st.Charging(),
		Problem:           st.Problem(),
		CurrentLimit:      round(float64(st.CurrentLimit), 2),
		LimitSource:       st.LimitSource.String(),
		PowerSource:       "estimate",
		LimiterActive:     st.LimiterActive,
		LimiterStale:      st.LimiterStale,
		LimiterPaused:     st.LimiterPaused,
		Reachable:         st.Unreachable == "",
		Mode:              s.mode(st),
		UnreachableReason: st.Unreachable,
		OCPP:              s.ocppState(),
	}
	if st.Problem() {
		d.Fault = st.Fault.String()
	}
	if st.PowerFromMeter {
		d.PowerSource = "meter"
	}
	if s.o.LifetimeEnergy != nil {
		v := s.lifetimeKWh(s.o.LifetimeEnergy())
		d.LifetimeEnergy = &v
	}
	if st.PhaseSwitchOK {
		n := st.PhaseSwitches
		d.PhasesActive, d.PhaseSwitch, d.PhaseSwitches, d.PhaseReason = st.PhasesActive, st.PhaseSwitch.String(), &n, st.PhaseReason
		d.PhaseRequest = st.PhaseRequest.String()
	}
	if st.SupervisorLeaseEnd.After(st.At) {
		d.LeaseRemainingMs = st.SupervisorLeaseEnd.Sub(st.At).Milliseconds()
	}
	return encode(d)
}

// mode names the charging mode of a backend that has modes, "" for one
// that has none (a bridged box).
func (s *Server) mode(st charger.Status) string {
	if _, ok := s.o.Controller.(charger.Modes); !ok {
		return ""
	}
	return st.Mode.String()
}

// lifetimeKWh rounds wh to kWh and never returns less than it returned
// before (a NaN or a lower figure repeats the last): a single lower value
// corrupts Home Assistant's long-term statistics.
func (s *Server) lifetimeKWh(wh float64) float64 {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	v := round(wh/1000, 3)
	if v > s.lifeLast { // false for NaN too
		s.lifeLast = v
	}
	return s.lifeLast
}
