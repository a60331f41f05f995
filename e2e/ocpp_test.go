package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/internal/ocpptest"
)

// ocppStatus is the part of /api/v1/status these tests read.
type ocppStatus struct {
	CurrentLimit   float64 `json:"current_limit_a"`
	LimitSource    string  `json:"limit_source"`
	DutyPermille   int     `json:"duty_permille"`
	ChargerStarted bool    `json:"charger_started"`
	OCPP           *struct {
		Connection       string `json:"connection"`
		Transaction      int    `json:"transaction"`
		LocalTransaction int    `json:"local_transaction"`
		Queued           int    `json:"queued"`
	} `json:"ocpp"`
}

func (d *daemon) ocpp() ocppStatus {
	var s ocppStatus
	d.get("/api/v1/status", &s)
	return s
}

func ocppConfig(url string, liveness string) string {
	return fmt.Sprintf("ocpp:\n  url: %q\n  id: cp1\n  liveness: %s\n", url, liveness)
}

// call sends a request from the CSMS and fails the test on an error.
func call[T lib.Response](t *testing.T, c *ocpptest.CSMS, req lib.Request) T {
	t.Helper()
	r, err := c.Call("cp1", req)
	if err != nil {
		t.Fatalf("%s: %v", req.GetFeatureName(), err)
	}
	return r.(T)
}

func hasStatus(want core.ChargePointStatus) func([]ocpptest.Msg) bool {
	return func(m []ocpptest.Msg) bool {
		s := ocpptest.Statuses(m)
		return len(s) > 0 && s[len(s)-1] == want
	}
}

// The whole session against a CSMS built on ocpp-go's central system,
// over a real websocket on loopback, with the built binary: boot, status
// transitions, a remote start and stop, a 10 A TxProfile lowering the
// pilot duty, a W profile on 3 phases, an unlock refused under load and
// an Inoperative change.
func TestOCPPSession(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	d := start(t, t.TempDir(), newPorts(t), ocppConfig(csms.URL(), "10s"))
	within := 10 * time.Second

	if !csms.Wait(within, hasStatus(core.ChargePointStatusAvailable)) {
		t.Fatalf("no boot and Available status: %v", csms.Msgs())
	}
	boot := ocpptest.Last(csms.Msgs(), core.BootNotificationFeatureName).(*core.BootNotificationRequest)
	if boot.ChargePointVendor != "evse-mqtt" || boot.ChargePointSerialNumber == "" || boot.FirmwareVersion != "9.8.7" {
		t.Errorf("boot %+v", boot)
	}
	eventually(t, within, func() string {
		if s := d.ocpp(); s.OCPP == nil || s.OCPP.Connection != "accepted" {
			return fmt.Sprintf("/api/v1/status ocpp %+v", s.OCPP)
		}
		return ""
	})

	// Remote start needs the car; auto start off, so the session is ours.
	d.post("/webapi/v1/SystemConfig", `{"ChargeAutoStart":false}`, nil)
	d.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`, nil)
	if !csms.Wait(within, hasStatus(core.ChargePointStatusPreparing)) {
		t.Fatalf("no Preparing after plug-in: %v", ocpptest.Statuses(csms.Msgs()))
	}
	if r := call[*core.ChangeConfigurationConfirmation](t, csms, core.NewChangeConfigurationRequest("MeterValueSampleInterval", "1")); r.Status != core.ConfigurationStatusAccepted {
		t.Fatalf("MeterValueSampleInterval: %v", r.Status)
	}
	if r := call[*core.RemoteStartTransactionConfirmation](t, csms, core.NewRemoteStartTransactionRequest("TAG1")); r.Status != types.RemoteStartStopStatusAccepted {
		t.Fatalf("RemoteStartTransaction: %v", r.Status)
	}
	if !csms.Wait(within, hasStatus(core.ChargePointStatusCharging)) {
		t.Fatalf("no Charging: %v", ocpptest.Statuses(csms.Msgs()))
	}
	start := ocpptest.Last(csms.Msgs(), core.StartTransactionFeatureName).(*core.StartTransactionRequest)
	if start.IdTag != "TAG1" || start.ConnectorId != 1 {
		t.Errorf("StartTransaction %+v", start)
	}
	if !csms.Wait(within, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.MeterValuesFeatureName) >= 1 }) {
		t.Fatal("no MeterValues at a 1 s interval")
	}
	mv := ocpptest.Last(csms.Msgs(), core.MeterValuesFeatureName).(*core.MeterValuesRequest)
	if mv.TransactionId == nil || *mv.TransactionId != 101 {
		t.Errorf("MeterValues transactionId %v, want the server's 101", mv.TransactionId)
	}
	seen := map[types.Measurand]int{}
	for _, sv := range mv.MeterValue[0].SampledValue {
		seen[sv.Measurand]++
		if sv.Unit == "" {
			t.Errorf("%s without a unit", sv.Measurand)
		}
	}
	if seen[types.MeasurandEnergyActiveImportRegister] != 1 || seen[types.MeasurandPowerActiveImport] != 1 ||
		seen[types.MeasurandCurrentImport] != 3 || seen[types.MeasurandCurrentOffered] != 1 {
		t.Errorf("measurands %v, want energy, power, current ×3 phases, offered", seen)
	}

	if r := call[*core.UnlockConnectorConfirmation](t, csms, core.NewUnlockConnectorRequest(1)); r.Status != core.UnlockStatusUnlockFailed {
		t.Errorf("unlock under load: %v, want UnlockFailed", r.Status)
	}

	// A 10 A TxProfile: the pilot follows within a step.
	tx := types.NewChargingProfile(1, 0, types.ChargingProfilePurposeTxProfile, types.ChargingProfileKindRelative,
		types.NewChargingSchedule(types.ChargingRateUnitAmperes, types.NewChargingSchedulePeriod(0, 10)))
	sent := time.Now()
	if r := call[*smartcharging.SetChargingProfileConfirmation](t, csms, smartcharging.NewSetChargingProfileRequest(1, tx)); r.Status != smartcharging.ChargingProfileStatusAccepted {
		t.Fatalf("SetChargingProfile 10 A: %v", r.Status)
	}
	eventually(t, 2*time.Second, func() string {
		if s := d.sim(); math.Abs(s.PilotDuty-16.7) > 0.1 {
			return fmt.Sprintf("pilot duty %v %%, want 16.7 (10 A)", s.PilotDuty)
		}
		return ""
	})
	t.Logf("10 A TxProfile in the pilot after %v", time.Since(sent).Round(time.Millisecond))
	if s := d.ocpp(); s.CurrentLimit != 10 || s.LimitSource != "ocpp" {
		t.Errorf("limit %v from %q, want 10 A from ocpp", s.CurrentLimit, s.LimitSource)
	}
	// A W profile on 3 phases at a higher stack level: 8280 W / (3 × 230 V) = 12 A.
	three := 3
	w := types.NewChargingProfile(2, 1, types.ChargingProfilePurposeTxProfile, types.ChargingProfileKindRelative,
		types.NewChargingSchedule(types.ChargingRateUnitWatts, types.ChargingSchedulePeriod{StartPeriod: 0, Limit: 8280, NumberPhases: &three}))
	if r := call[*smartcharging.SetChargingProfileConfirmation](t, csms, smartcharging.NewSetChargingProfileRequest(1, w)); r.Status != smartcharging.ChargingProfileStatusAccepted {
		t.Fatalf("SetChargingProfile W: %v", r.Status)
	}
	eventually(t, 2*time.Second, func() string {
		if s := d.ocpp(); s.CurrentLimit != 12 || s.LimitSource != "ocpp" {
			return fmt.Sprintf("limit %v from %q, want 12 A from ocpp", s.CurrentLimit, s.LimitSource)
		}
		return ""
	})
	comp := call[*smartcharging.GetCompositeScheduleConfirmation](t, csms, smartcharging.NewGetCompositeScheduleRequest(1, 600))
	if comp.Status != smartcharging.GetCompositeScheduleStatusAccepted || comp.ChargingSchedule == nil || comp.ChargingSchedule.ChargingSchedulePeriod[0].Limit != 12 {
		t.Errorf("GetCompositeSchedule %+v", comp)
	}

	// Remote stop with the server's id.
	if r := call[*core.RemoteStopTransactionConfirmation](t, csms, core.NewRemoteStopTransactionRequest(999)); r.Status != types.RemoteStartStopStatusRejected {
		t.Errorf("RemoteStop of an unknown transaction: %v", r.Status)
	}
	if r := call[*core.RemoteStopTransactionConfirmation](t, csms, core.NewRemoteStopTransactionRequest(101)); r.Status != types.RemoteStartStopStatusAccepted {
		t.Fatalf("RemoteStopTransaction: %v", r.Status)
	}
	if !csms.Wait(within, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StopTransactionFeatureName) == 1 }) {
		t.Fatal("no StopTransaction")
	}
	stop := ocpptest.Last(csms.Msgs(), core.StopTransactionFeatureName).(*core.StopTransactionRequest)
	if stop.TransactionId != 101 || stop.Reason != core.ReasonRemote || stop.MeterStop < start.MeterStart {
		t.Errorf("StopTransaction %+v after start %+v", stop, start)
	}
	eventually(t, within, func() string {
		if s := d.ocpp(); s.LimitSource == "ocpp" {
			return "the TxProfile outlived its transaction"
		}
		return ""
	})

	// Inoperative: Unavailable, and a start is refused.
	if r := call[*core.ChangeAvailabilityConfirmation](t, csms, core.NewChangeAvailabilityRequest(0, core.AvailabilityTypeInoperative)); r.Status != core.AvailabilityStatusAccepted {
		t.Fatalf("ChangeAvailability: %v", r.Status)
	}
	if !csms.Wait(within, hasStatus(core.ChargePointStatusUnavailable)) {
		t.Fatalf("no Unavailable: %v", ocpptest.Statuses(csms.Msgs()))
	}
	var ans map[string]string
	d.post("/webapi/v1/EvseCtrl", `{"ChargeStartToggle":true}`, &ans)
	if s := d.ocpp(); s.ChargerStarted {
		t.Fatalf("started while inoperative: %v", ans)
	}
	if r := call[*core.RemoteStartTransactionConfirmation](t, csms, core.NewRemoteStartTransactionRequest("TAG2")); r.Status != types.RemoteStartStopStatusRejected {
		t.Errorf("RemoteStart while inoperative: %v", r.Status)
	}
	call[*core.ChangeAvailabilityConfirmation](t, csms, core.NewChangeAvailabilityRequest(0, core.AvailabilityTypeOperative))
	if !csms.Wait(within, hasStatus(core.ChargePointStatusFinishing)) { // the car is still plugged in after its session
		t.Fatalf("not back to Finishing: %v", ocpptest.Statuses(csms.Msgs()))
	}
	d.post("/sim/v1/State", `{"EvPlugged":false}`, nil)
	if !csms.Wait(within, hasStatus(core.ChargePointStatusAvailable)) {
		t.Fatalf("no Available after unplug: %v", ocpptest.Statuses(csms.Msgs()))
	}

	// Configuration keys, DataTransfer, TriggerMessage.
	gc := call[*core.GetConfigurationConfirmation](t, csms, core.NewGetConfigurationRequest([]string{"MeterValueSampleInterval", "NoSuchKey"}))
	if len(gc.ConfigurationKey) != 1 || *gc.ConfigurationKey[0].Value != "1" || len(gc.UnknownKey) != 1 {
		t.Errorf("GetConfiguration %+v", gc)
	}
	if r := call[*core.ChangeConfigurationConfirmation](t, csms, core.NewChangeConfigurationRequest("NumberOfConnectors", "2")); r.Status != core.ConfigurationStatusRejected {
		t.Errorf("read-only key: %v", r.Status)
	}
	if r := call[*core.ChangeConfigurationConfirmation](t, csms, core.NewChangeConfigurationRequest("NoSuchKey", "1")); r.Status != core.ConfigurationStatusNotSupported {
		t.Errorf("unknown key: %v", r.Status)
	}
	if r := call[*core.DataTransferConfirmation](t, csms, core.NewDataTransferRequest("acme")); r.Status != core.DataTransferStatusUnknownVendorId {
		t.Errorf("DataTransfer: %v", r.Status)
	}
	beats := ocpptest.Count(csms.Msgs(), core.HeartbeatFeatureName)
	if r := call[*remotetrigger.TriggerMessageConfirmation](t, csms, remotetrigger.NewTriggerMessageRequest(core.HeartbeatFeatureName)); r.Status != remotetrigger.TriggerMessageStatusAccepted {
		t.Errorf("TriggerMessage: %v", r.Status)
	}
	if !csms.Wait(within, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.HeartbeatFeatureName) > beats }) {
		t.Error("no Heartbeat after TriggerMessage")
	}
	t.Logf("statuses: %v", ocpptest.Statuses(csms.Msgs()))
}
