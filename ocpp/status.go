package ocpp

import (
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// statusKey is what a StatusNotification says.
type statusKey struct {
	Status core.ChargePointStatus
	Code   core.ChargePointErrorCode
	Info   string
}

// faultCodes maps the charger's faults to OCPP error codes; the info text
// is the fault's description.
var faultCodes = map[controller.Fault]core.ChargePointErrorCode{
	controller.FaultEPO:       core.OtherError,
	controller.FaultWeld:      core.PowerSwitchFailure,
	controller.FaultRelayOpen: core.PowerSwitchFailure,
	controller.FaultCPShort:   core.EVCommunicationError,
	controller.FaultDiode:     core.EVCommunicationError,
	controller.FaultGeneral:   core.EVCommunicationError,
	controller.FaultPP:        core.OtherError,
	controller.FaultLock:      core.ConnectorLockFailure,
	controller.FaultRCMTrip:   core.GroundFailure,
	controller.FaultRCMTest:   core.InternalError,
}

// mapStatus turns the charger's snapshot into a connector status.
// finishing says a transaction ended while the car stays plugged in.
func mapStatus(st charger.Status, inoperative, finishing bool) statusKey {
	if st.Unreachable != "" {
		return statusKey{core.ChargePointStatusFaulted, core.InternalError, clipN("charger unreachable: "+st.Unreachable, 50)}
	}
	if st.Problem() {
		code, ok := faultCodes[st.Fault]
		if !ok {
			code = core.OtherError
		}
		return statusKey{core.ChargePointStatusFaulted, code, clipN(st.Fault.String(), 50)}
	}
	if inoperative {
		return statusKey{Status: core.ChargePointStatusUnavailable, Code: core.NoError}
	}
	k := statusKey{Code: core.NoError}
	switch {
	case st.State == controller.StateWaiting:
		k.Status = core.ChargePointStatusUnavailable
	case !st.VehicleConnected || st.State == controller.StateIdle:
		k.Status = core.ChargePointStatusAvailable
	case st.ChargerStarted && st.ContactorClosed && st.CurrentLimit >= settings.MinCurrent:
		k.Status = core.ChargePointStatusCharging
	case st.ChargerStarted && st.CurrentLimit < settings.MinCurrent:
		k.Status = core.ChargePointStatusSuspendedEVSE
	case st.ChargerStarted:
		k.Status = core.ChargePointStatusSuspendedEV // offered; the car does not take it (yet)
	case finishing:
		k.Status = core.ChargePointStatusFinishing
	default:
		k.Status = core.ChargePointStatusPreparing
	}
	return k
}
