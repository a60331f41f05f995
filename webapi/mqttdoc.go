package webapi

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
	LeaseRemainingMs int64 // supervisor lease left, 0 without one
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
		UnreachableReason: st.Unreachable,
		OCPP:              s.ocppState(),
	}
	if st.Problem() {
		d.Fault = st.Fault.String()
	}
	if st.PowerFromMeter {
		d.PowerSource = "meter"
	}
	if st.SupervisorLeaseEnd.After(st.At) {
		d.LeaseRemainingMs = st.SupervisorLeaseEnd.Sub(st.At).Milliseconds()
	}
	return encode(d)
}
