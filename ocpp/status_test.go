package ocpp

import (
	"testing"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
)

// Every EvseState and fault maps to a connector status and error code.
func TestMapStatus(t *testing.T) {
	plugged := charger.Status{State: controller.StateConnected, VehicleConnected: true, CurrentLimit: 16}
	started := plugged
	started.ChargerStarted = true
	charging := started
	charging.State, charging.ContactorClosed = controller.StateCharge, true
	paused := charging
	paused.CurrentLimit = 0
	fault := func(s controller.EvseState, f controller.Fault) charger.Status {
		return charger.Status{State: s, Fault: f, VehicleConnected: true}
	}
	for _, c := range []struct {
		name      string
		st        charger.Status
		inop, fin bool
		want      core.ChargePointStatus
		code      core.ChargePointErrorCode
		info      string
	}{
		{"waiting", charger.Status{State: controller.StateWaiting}, false, false, core.ChargePointStatusUnavailable, core.NoError, ""},
		{"idle", charger.Status{State: controller.StateIdle}, false, false, core.ChargePointStatusAvailable, core.NoError, ""},
		{"plugged", plugged, false, false, core.ChargePointStatusPreparing, core.NoError, ""},
		{"after a session", plugged, false, true, core.ChargePointStatusFinishing, core.NoError, ""},
		{"started, car not drawing", started, false, false, core.ChargePointStatusSuspendedEV, core.NoError, ""},
		{"charging", charging, false, false, core.ChargePointStatusCharging, core.NoError, ""},
		{"paused by a limit", paused, false, false, core.ChargePointStatusSuspendedEVSE, core.NoError, ""},
		{"inoperative", plugged, true, false, core.ChargePointStatusUnavailable, core.NoError, ""},
		{"welded", fault(controller.StateRelayErr, controller.FaultWeld), true, false, core.ChargePointStatusFaulted, core.PowerSwitchFailure, "contactor welded (latched until reset)"},
		{"relay open", fault(controller.StateRelayErr, controller.FaultRelayOpen), false, false, core.ChargePointStatusFaulted, core.PowerSwitchFailure, "contactor failed to close"},
		{"lock", fault(controller.StateLockErr, controller.FaultLock), false, false, core.ChargePointStatusFaulted, core.ConnectorLockFailure, "cable lock failed"},
		{"EPO", fault(controller.StateEPO, controller.FaultEPO), false, false, core.ChargePointStatusFaulted, core.OtherError, "emergency stop pressed"},
		{"diode", fault(controller.StateDiodeErr, controller.FaultDiode), false, false, core.ChargePointStatusFaulted, core.EVCommunicationError, "vehicle diode check failed"},
		{"state E", fault(controller.StateErrE, controller.FaultCPShort), false, false, core.ChargePointStatusFaulted, core.EVCommunicationError, "control pilot shorted to PE (state E)"},
		{"general", fault(controller.StateGeneralErr, controller.FaultGeneral), false, false, core.ChargePointStatusFaulted, core.EVCommunicationError, "implausible control-pilot level"},
		{"PP", fault(controller.StatePPErr, controller.FaultPP), false, false, core.ChargePointStatusFaulted, core.OtherError, "cable proximity coding invalid"},
		{"RCM trip", fault(controller.StateGeneralErr, controller.FaultRCMTrip), false, false, core.ChargePointStatusFaulted, core.GroundFailure, "residual current detected (RCM tripped)"},
		{"RCM test", fault(controller.StateGeneralErr, controller.FaultRCMTest), false, false, core.ChargePointStatusFaulted, core.InternalError, "residual-current monitor self-test failed"},
		{"unreachable box", charger.Status{Unreachable: "timeout"}, false, false, core.ChargePointStatusFaulted, core.InternalError, "charger unreachable: timeout"},
	} {
		got := mapStatus(c.st, c.inop, c.fin)
		if got.Status != c.want || got.Code != c.code || got.Info != c.info {
			t.Errorf("%s: %+v, want %s %s %q", c.name, got, c.want, c.code, c.info)
		}
		if len(got.Info) > 50 {
			t.Errorf("%s: info longer than CiString50", c.name)
		}
	}
}
