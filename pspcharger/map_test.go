package pspcharger

import (
	"errors"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Every vendor field lands in the snapshot; what the box does not report
// is inferred from the state.
func TestMapStatus(t *testing.T) {
	now := time.Unix(1000, 0)
	cfg := settings.Defaults()
	cfg.ChargeCurrent, cfg.ChargeCurrentBoost, cfg.Meter2Type, cfg.Meter2Ip, cfg.ControlStrategy = 16, 32, 7, "10.0.0.2", 1
	raw := pspbox.Status{EvseState: pspbox.StateCharging, ThreePhaseCharging: true, ActualCurrent: 6, PPCodedCurrent: 20,
		ActualPower: 4140, ActualPowerAvailable: 4600, PowerAvailableSent: true, ActualEnergy: 3600, Duration: 90 * time.Second,
		AutoStartAllowed: true, StartStopAllowed: true, BoostAllowed: true, ChargerStarted: true}
	lease := lease{power: 4600, expires: now.Add(time.Minute), valid: true}
	st := mapStatus(mapInput{raw: raw, cfg: cfg, haveCfg: true, supervise: true, lease: lease}, now)
	switch {
	case st.State != controller.StateCharge || st.Fault != controller.FaultNone || st.Level != controller.LevelC:
		t.Errorf("state %v fault %v level %v", st.State, st.Fault, st.Level)
	case !st.ThreePhase || st.ActualCurrent != 6 || st.PPCodedCurrent != 20 || st.ActualPower != 4140 || st.Energy != 3600 || st.Duration != 90*time.Second:
		t.Errorf("measures %+v", st)
	case !st.AutoStartAllowed || !st.StartStopAllowed || !st.BoostAllowed || !st.ChargerStarted || st.ChargeBoosted:
		t.Errorf("flags %+v", st)
	case !st.VehicleConnected || !st.ContactorClosed || !st.Charging():
		t.Errorf("inferred %+v", st)
	case !st.LimiterActive || st.PowerAvailable != 4600 || st.CurrentLimit != 6 || st.LimitSource != controller.SourceSupervisor || st.LimiterStale:
		t.Errorf("limit %v from %v, active %t stale %t", st.CurrentLimit, st.LimitSource, st.LimiterActive, st.LimiterStale)
	case st.SupervisorLeaseEnd != lease.expires || st.Unreachable != "":
		t.Errorf("lease %v unreachable %q", st.SupervisorLeaseEnd, st.Unreachable)
	case st.PhaseSwitchOK || st.PhaseRequest != controller.PhasesFollow:
		// The box has no C2: the status documents leave out every phase
		// field (PhasesActive, PhaseRequest, ...), gated on PhaseSwitchOK.
		t.Errorf("a box without C2 claims one: PhaseSwitchOK %v, request %v", st.PhaseSwitchOK, st.PhaseRequest)
	}
	// The lease lapsed: stale, the fallback is the source.
	st = mapStatus(mapInput{raw: raw, cfg: cfg, haveCfg: true, supervise: true, lease: lease}, now.Add(2*time.Minute))
	if !st.LimiterStale || st.LimitSource != controller.SourceFallback {
		t.Errorf("lapsed: stale %t source %v", st.LimiterStale, st.LimitSource)
	}
	// Every fault state is a fault, with its vendor name as the reason.
	for _, s := range []pspbox.EvseState{pspbox.StateRelayErr, pspbox.StateEPO, pspbox.StateDiodeErr, pspbox.StateEVErrE,
		pspbox.StateGeneralErr, pspbox.StatePPErr, pspbox.StateLockErr} {
		st := mapStatus(mapInput{raw: pspbox.Status{EvseState: s}, cfg: cfg, haveCfg: true}, now)
		if !st.Problem() || st.Fault.State() != controller.EvseState(s) || st.Reason == "" || st.VehicleConnected {
			t.Errorf("state %v: fault %v reason %q", s, st.Fault, st.Reason)
		}
	}
	// Boost without limiting: the boost current from the configuration.
	cfg.Meter2Type, cfg.ControlStrategy = 0, 0
	raw.ChargeBoosted, raw.PowerAvailableSent = true, false
	st = mapStatus(mapInput{raw: raw, cfg: cfg, haveCfg: true}, now)
	if st.CurrentLimit != 32 || st.LimitSource != controller.SourceBoost || st.LimiterActive {
		t.Errorf("boost: %v from %v", st.CurrentLimit, st.LimitSource)
	}
}

func TestReason(t *testing.T) {
	for in, want := range map[string]string{
		"GET Status: charger unreachable: no answer within 2s": "charger unreachable: GET Status: no answer within 2s",
		"charger unreachable: x":                               "charger unreachable: x",
		"GET Status: bad answer from the box: garbage":         "charger unreachable: GET Status: bad answer from the box: garbage",
	} {
		if got := reason(errors.New(in)); got != want {
			t.Errorf("reason(%q) = %q, want %q", in, got, want)
		}
	}
}
