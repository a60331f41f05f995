package ocpp

import (
	"testing"
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/internal/ocpptest"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// A session started locally is authorized with the configured idTag; a
// refusal stops it, and its StopTransaction says DeAuthorized.
func TestRefusedIdTagStopsTheSession(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	csms.TagStatus = types.AuthorizationStatusInvalid
	c, f := newTestClient(t, csms.URL(), time.Minute)
	run(t, c)
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StatusNotificationFeatureName) > 0 }) {
		t.Fatal("no boot")
	}
	f.update(func(st *charger.Status) {
		st.State, st.VehicleConnected, st.StartStopAllowed = controller.StateConnected, true, true
		st.ChargerStarted = true // auto start
	})
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StopTransactionFeatureName) > 0 }) {
		t.Fatalf("no StopTransaction: %v", csms.Msgs())
	}
	auth := ocpptest.Last(csms.Msgs(), core.AuthorizeFeatureName).(*core.AuthorizeRequest)
	stop := ocpptest.Last(csms.Msgs(), core.StopTransactionFeatureName).(*core.StopTransactionRequest)
	if auth.IdTag != "evse-mqtt" || stop.Reason != core.ReasonDeAuthorized || f.Status().ChargerStarted {
		t.Errorf("authorize %+v, stop %+v, started %v", auth, stop, f.Status().ChargerStarted)
	}
}

// Changed keys and availability are persisted and in force after a
// restart; the inoperative state is re-applied to the charger.
func TestKeysAndAvailabilitySurviveARestart(t *testing.T) {
	c, f := newTestClient(t, "ws://127.0.0.1:1/ocpp", time.Minute)
	if r, _ := c.OnChangeConfiguration(core.NewChangeConfigurationRequest("MeterValueSampleInterval", "15")); r.Status != core.ConfigurationStatusAccepted {
		t.Fatal(r.Status)
	}
	for _, bad := range []string{"-1", "x", "86401", ""} {
		if r, _ := c.OnChangeConfiguration(core.NewChangeConfigurationRequest("MeterValueSampleInterval", bad)); r.Status != core.ConfigurationStatusRejected {
			t.Errorf("%q: %v", bad, r.Status)
		}
	}
	if r, _ := c.OnChangeConfiguration(core.NewChangeConfigurationRequest("MeterValuesSampledData", "Voltage")); r.Status != core.ConfigurationStatusRejected {
		t.Errorf("unsupported measurand: %v", r.Status)
	}
	if r, _ := c.OnChangeAvailability(core.NewChangeAvailabilityRequest(0, core.AvailabilityTypeInoperative)); r.Status != core.AvailabilityStatusAccepted || f.Operative() {
		t.Fatalf("inoperative: %v, operative %v", r.Status, f.Operative())
	}

	c2, f2 := newTestClient(t, "ws://127.0.0.1:1/ocpp", time.Minute)
	c2.st, c2.o.StateDir = mustOpen(t, c.o.StateDir), c.o.StateDir
	if got := c2.keyInt("MeterValueSampleInterval"); got != 15 {
		t.Errorf("after a restart: MeterValueSampleInterval %d", got)
	}
	c2.reapply()
	if f2.Operative() {
		t.Error("inoperative not re-applied at start")
	}
}

func mustOpen(t *testing.T, dir string) *store {
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Reset: Soft restarts in-process (SystemInfo Reset through the command
// table) on the same socket; Hard does the same and boots again on a new
// socket.
func TestReset(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	c, f := newTestClient(t, csms.URL(), time.Minute)
	run(t, c)
	boots := func(n int) func([]ocpptest.Msg) bool {
		return func(m []ocpptest.Msg) bool {
			return ocpptest.Count(m, core.BootNotificationFeatureName) >= n && ocpptest.Count(m, core.StatusNotificationFeatureName) >= n
		}
	}
	if !csms.Wait(5*time.Second, boots(1)) {
		t.Fatal("no boot")
	}
	resets := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.resets }
	r, err := csms.Call("cp1", core.NewResetRequest(core.ResetTypeSoft))
	if err != nil || r.(*core.ResetConfirmation).Status != core.ResetStatusAccepted || resets() != 1 {
		t.Fatalf("soft reset: %v %v, resets %d", r, err, resets())
	}
	r, err = csms.Call("cp1", core.NewResetRequest(core.ResetTypeHard))
	if err != nil || r.(*core.ResetConfirmation).Status != core.ResetStatusAccepted || resets() != 2 {
		t.Fatalf("hard reset: %v %v, resets %d", r, err, resets())
	}
	if !csms.Wait(5*time.Second, boots(2)) || csms.Connections() != 2 {
		t.Fatalf("no new socket and boot after the hard reset: %d connections, %v", csms.Connections(), csms.Msgs())
	}
}

// A reset stops the running transaction first (OCPP 1.6 5.14), with its
// reason: the in-process restart alone would carry the session over.
func TestResetStopsTheTransaction(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	c, f := newTestClient(t, csms.URL(), time.Minute)
	run(t, c)
	f.update(func(st *charger.Status) {
		st.State, st.VehicleConnected, st.StartStopAllowed, st.ChargerStarted = controller.StateCharge, true, true, true
	})
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StartTransactionFeatureName) > 0 }) {
		t.Fatal("no StartTransaction")
	}
	if _, err := csms.Call("cp1", core.NewResetRequest(core.ResetTypeSoft)); err != nil {
		t.Fatal(err)
	}
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StopTransactionFeatureName) > 0 }) {
		t.Fatal("no StopTransaction after the reset")
	}
	if r := ocpptest.Last(csms.Msgs(), core.StopTransactionFeatureName).(*core.StopTransactionRequest); r.Reason != core.ReasonSoftReset {
		t.Errorf("reason %s", r.Reason)
	}
}

// ClockAlignedDataInterval: meter values at whole multiples of the
// interval, marked Sample.Clock, also outside a transaction.
func TestClockAlignedMeterValues(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	c, _ := newTestClient(t, csms.URL(), time.Minute)
	if r, _ := c.OnChangeConfiguration(core.NewChangeConfigurationRequest("ClockAlignedDataInterval", "1")); r.Status != core.ConfigurationStatusAccepted {
		t.Fatal(r.Status)
	}
	run(t, c)
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.MeterValuesFeatureName) > 0 }) {
		t.Fatal("no clock-aligned MeterValues")
	}
	mv := ocpptest.Last(csms.Msgs(), core.MeterValuesFeatureName).(*core.MeterValuesRequest)
	v := mv.MeterValue[0]
	if v.Timestamp.Nanosecond() != 0 || v.SampledValue[0].Context != types.ReadingContextSampleClock ||
		v.SampledValue[0].Measurand != types.MeasurandEnergyActiveImportRegister || mv.TransactionId != nil {
		t.Errorf("clock-aligned value %+v at %v", v.SampledValue, v.Timestamp)
	}
}

// A RemoteStartTransaction's TxProfile caps its session and ends with it.
func TestRemoteStartWithProfile(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer csms.Close()
	c, f := newTestClient(t, csms.URL(), time.Minute)
	f.update(func(st *charger.Status) {
		st.State, st.VehicleConnected, st.StartStopAllowed = controller.StateConnected, true, true
	})
	run(t, c)
	if !csms.Wait(5*time.Second, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StatusNotificationFeatureName) > 0 }) {
		t.Fatal("no boot")
	}
	req := core.NewRemoteStartTransactionRequest("R1")
	p := prof(7, 0, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 8, 0))
	req.ChargingProfile = &p
	if r, err := csms.Call("cp1", req); err != nil || r.(*core.RemoteStartTransactionConfirmation).Status != types.RemoteStartStopStatusAccepted {
		t.Fatalf("remote start: %v %v", r, err)
	}
	f.waitLimit(t, "the TxProfile's 8 A", func(a units.Amps) bool { return a == 8 })
	waitState(t, c, "the server's transactionId", func(s State) bool { return s.Transaction == 101 })
	if r, err := csms.Call("cp1", core.NewRemoteStopTransactionRequest(101)); err != nil || r.(*core.RemoteStopTransactionConfirmation).Status != types.RemoteStartStopStatusAccepted {
		t.Fatalf("remote stop: %v %v", r, err)
	}
	f.waitLimit(t, "no cap after the session", func(a units.Amps) bool { return a < 0 })
}

// A RemoteStopTransaction that comes before the StartTransaction's answer
// was processed here stops the open transaction; an id of another
// transaction does not.
func TestRemoteStopBeforeTheIdIsKnown(t *testing.T) {
	c, f := newTestClient(t, "ws://127.0.0.1:1/ocpp", time.Minute)
	f.update(func(st *charger.Status) {
		st.State, st.VehicleConnected, st.StartStopAllowed, st.ChargerStarted = controller.StateCharge, true, true, true
	})
	c.st.d.Open = &openTx{Local: 2}
	c.st.d.IDs[1] = 77 // an earlier transaction still in the queue
	if r, _ := c.OnRemoteStopTransaction(core.NewRemoteStopTransactionRequest(77)); r.Status != types.RemoteStartStopStatusRejected {
		t.Errorf("another transaction's id: %v", r.Status)
	}
	if r, _ := c.OnRemoteStopTransaction(core.NewRemoteStopTransactionRequest(78)); r.Status != types.RemoteStartStopStatusAccepted || f.Status().ChargerStarted {
		t.Errorf("the open transaction's id not yet known: %v, started %v", r.Status, f.Status().ChargerStarted)
	}
}
