package webapi

import (
	"net/http"
	"time"
)

// extendedDoc is GET /api/v1/status: what the vendor's Status cannot say —
// why the charger does what it does. Outside /webapi/v1 so the vendor's
// contract stays exact.
type extendedDoc struct {
	State       string `json:"state"`        // short name, e.g. "charging"
	EvseState   int    `json:"evse_state"`   // the vendor's number
	VendorState string `json:"vendor_state"` // e.g. "EVSE_EV_CHARGE_C1_C2"
	Fault       string `json:"fault"`        // "" when none
	Reason      string `json:"reason"`       // why the current is what it is
	// Mode is the charging mode (off, now, solar, minsolar); absent for a
	// bridged box.
	Mode string `json:"mode,omitempty"`
	// With C2 only (see the MQTT status document).
	PhasesActive  int    `json:"phases_active,omitempty"`
	PhaseSwitch   string `json:"phase_switch,omitempty"`
	PhaseSwitches *int   `json:"phase_switches,omitempty"`
	PhaseReason   string `json:"phase_reason,omitempty"`
	PhaseRequest  string `json:"phase_request,omitempty"` // follow, 1, 3 or auto, as in force

	CurrentLimit  float64 `json:"current_limit_a"` // advertised limit in force
	LimitSource   string  `json:"limit_source"`    // configuration, boost, limiter, supervisor lease, ...
	DutyPermille  int     `json:"duty_permille"`
	LimiterActive bool    `json:"limiter_active"`
	LimiterStale  bool    `json:"limiter_stale"`
	LimiterPaused bool    `json:"limiter_paused"`
	PowerAvail    float64 `json:"power_available_w"`

	// LeaseExpires is the supervisor setpoint's expiry on the controller's
	// clock, null without a valid lease.
	LeaseExpires     *time.Time `json:"lease_expires"`
	LeaseRemainingMs int64      `json:"lease_remaining_ms"`

	PowerSource       string    `json:"power_source"` // "meter" or "estimate"
	ActualCurrent     float64   `json:"actual_current_a"`
	ActualPower       float64   `json:"actual_power_w"`
	VehicleConnected  bool      `json:"vehicle_connected"`
	ContactorClosed   bool      `json:"contactor_closed"`
	ContactorFeedback bool      `json:"contactor_feedback"`
	Locked            bool      `json:"locked"`
	At                time.Time `json:"at"`

	// The session: whether one is started, its energy and its length.
	ChargerStarted  bool    `json:"charger_started"`
	ChargeBoosted   bool    `json:"charge_boosted"`
	SessionEnergy   float64 `json:"session_energy_wh"`
	SessionDuration int64   `json:"session_duration_s"`
	LifetimeEnergy  float64 `json:"lifetime_energy_wh"` // since the process started

	// Meters is each meter's reading-error gauge (the vendor's
	// Meter1Status/Meter2Status): 0 while it reads cleanly.
	Meters meterHealth `json:"meters"`

	// MQTT is the broker connection; absent when the daemon has no MQTT.
	MQTT *MQTTState `json:"mqtt,omitempty"`
	// OCPP is the central-system connection; absent when OCPP is off.
	OCPP *OCPPState `json:"ocpp,omitempty"`
}

// meterHealth is the meters' reading-error gauges.
type meterHealth struct {
	Meter1Errors int `json:"meter1_errors"`
	Meter2Errors int `json:"meter2_errors"`
}

func (s *Server) getExtended(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.StatusJSON())
}

// StatusJSON is the GET /api/v1/status document, for other surfaces that
// push it (the page's event stream): one renderer, so they cannot drift.
func (s *Server) StatusJSON() []byte {
	st := s.o.Controller.Status()
	d := extendedDoc{
		State:             st.State.String(),
		EvseState:         int(st.State),
		VendorState:       st.State.VendorName(),
		Reason:            st.Reason,
		Mode:              s.mode(st),
		CurrentLimit:      round(float64(st.CurrentLimit), 2),
		LimitSource:       st.LimitSource.String(),
		DutyPermille:      st.DutyPermille,
		LimiterActive:     st.LimiterActive,
		LimiterStale:      st.LimiterStale,
		LimiterPaused:     st.LimiterPaused,
		PowerAvail:        round(float64(st.PowerAvailable), 0),
		PowerSource:       "estimate",
		ActualCurrent:     round(float64(st.ActualCurrent), 2),
		ActualPower:       round(float64(st.ActualPower), 0),
		VehicleConnected:  st.VehicleConnected,
		ContactorClosed:   st.ContactorClosed,
		ContactorFeedback: st.ContactorFeedback,
		Locked:            st.Locked,
		At:                st.At,
		ChargerStarted:    st.ChargerStarted,
		ChargeBoosted:     st.ChargeBoosted,
		SessionEnergy:     round(float64(st.Energy)/3600, 1),
		SessionDuration:   int64(st.Duration / time.Second),
		LifetimeEnergy:    round(float64(st.LifetimeEnergy)/3600, 1),
		Meters:            meterHealth{s.meterStatus(1), s.meterStatus(2)},
		OCPP:              s.ocppState(),
	}
	if st.Fault != 0 {
		d.Fault = st.Fault.String()
	}
	if s.o.MQTT != nil {
		m := s.o.MQTT()
		d.MQTT = &m
	}
	if st.PowerFromMeter {
		d.PowerSource = "meter"
	}
	if st.PhaseSwitchOK {
		n := st.PhaseSwitches
		d.PhasesActive, d.PhaseSwitch, d.PhaseSwitches, d.PhaseReason = st.PhasesActive, st.PhaseSwitch.String(), &n, st.PhaseReason
		d.PhaseRequest = st.PhaseRequest.String()
	}
	// A lease the loop has not yet found expired (it checks while a
	// vehicle is connected) is not reported as valid.
	if !st.SupervisorLeaseEnd.IsZero() && st.SupervisorLeaseEnd.After(st.At) {
		end := st.SupervisorLeaseEnd
		d.LeaseExpires = &end
		d.LeaseRemainingMs = max(end.Sub(st.At).Milliseconds(), 0)
	}
	return encode(d)
}
