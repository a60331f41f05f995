package ocpp

import (
	"encoding/json"
	"testing"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocppj"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
)

// handlers are every entry point a central system can call, each with the
// request type ocpp-go decodes its payload into.
var handlers = []struct {
	name string
	new  func() lib.Request
	call func(c *Client, r lib.Request) (lib.Response, error)
}{
	{"RemoteStartTransaction", func() lib.Request { return &core.RemoteStartTransactionRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnRemoteStartTransaction(r.(*core.RemoteStartTransactionRequest))
	}},
	{"RemoteStopTransaction", func() lib.Request { return &core.RemoteStopTransactionRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnRemoteStopTransaction(r.(*core.RemoteStopTransactionRequest))
	}},
	{"ChangeAvailability", func() lib.Request { return &core.ChangeAvailabilityRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnChangeAvailability(r.(*core.ChangeAvailabilityRequest))
	}},
	{"ChangeConfiguration", func() lib.Request { return &core.ChangeConfigurationRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnChangeConfiguration(r.(*core.ChangeConfigurationRequest))
	}},
	{"GetConfiguration", func() lib.Request { return &core.GetConfigurationRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnGetConfiguration(r.(*core.GetConfigurationRequest))
	}},
	{"UnlockConnector", func() lib.Request { return &core.UnlockConnectorRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnUnlockConnector(r.(*core.UnlockConnectorRequest))
	}},
	{"DataTransfer", func() lib.Request { return &core.DataTransferRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnDataTransfer(r.(*core.DataTransferRequest))
	}},
	{"ClearCache", func() lib.Request { return &core.ClearCacheRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnClearCache(r.(*core.ClearCacheRequest))
	}},
	{"SetChargingProfile", func() lib.Request { return &smartcharging.SetChargingProfileRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnSetChargingProfile(r.(*smartcharging.SetChargingProfileRequest))
	}},
	{"ClearChargingProfile", func() lib.Request { return &smartcharging.ClearChargingProfileRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnClearChargingProfile(r.(*smartcharging.ClearChargingProfileRequest))
	}},
	{"GetCompositeSchedule", func() lib.Request { return &smartcharging.GetCompositeScheduleRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnGetCompositeSchedule(r.(*smartcharging.GetCompositeScheduleRequest))
	}},
	{"TriggerMessage", func() lib.Request { return &remotetrigger.TriggerMessageRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnTriggerMessage(r.(*remotetrigger.TriggerMessageRequest))
	}},
	// Reset last: it restarts (a counter here), nothing else to check.
	{"Reset", func() lib.Request { return &core.ResetRequest{} }, func(c *Client, r lib.Request) (lib.Response, error) {
		return c.OnReset(r.(*core.ResetRequest))
	}},
}

// FuzzHandlers feeds every handler any payload that passes ocpp-go's
// decoding and validation (what reaches a handler over the wire; the rest
// is answered with a CALLERROR before, see TestMalformedCallsGetCallError).
// Each answers without panicking, with a confirmation that is itself
// valid 1.6, the charger's cap never goes above the profiles' own bounds,
// and the persisted state stays readable.
func FuzzHandlers(f *testing.F) {
	seeds := []struct {
		h       uint8
		payload string
	}{
		{0, `{"idTag":"T1"}`}, {0, `{"idTag":"T1","connectorId":1,"chargingProfile":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":10}]}}}`},
		{1, `{"transactionId":101}`}, {2, `{"connectorId":0,"type":"Inoperative"}`}, {2, `{"connectorId":1,"type":"Operative"}`},
		{3, `{"key":"MeterValueSampleInterval","value":"5"}`}, {3, `{"key":"HeartbeatInterval","value":"-3"}`}, {4, `{}`}, {4, `{"key":["NoSuch","HeartbeatInterval"]}`},
		{5, `{"connectorId":1}`}, {6, `{"vendorId":"x","data":"y"}`}, {7, `{}`},
		{8, `{"connectorId":0,"csChargingProfiles":{"chargingProfileId":2,"stackLevel":1,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":{"startSchedule":"2026-01-01T00:00:00Z","duration":3600,"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":7000,"numberPhases":1},{"startPeriod":60,"limit":0}]}}}`},
		{8, `{"connectorId":0,"csChargingProfiles":{"chargingProfileId":3,"stackLevel":0,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Recurring","recurrencyKind":"Weekly","chargingSchedule":{"startSchedule":"2026-01-01T00:00:00Z","chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":1e308}]}}}`},
		{9, `{"id":2}`}, {9, `{"chargingProfilePurpose":"TxDefaultProfile","stackLevel":1}`}, {10, `{"connectorId":1,"duration":86400,"chargingRateUnit":"W"}`},
		{11, `{"requestedMessage":"StatusNotification","connectorId":1}`}, {12, `{"type":"Soft"}`},
	}
	for _, s := range seeds {
		f.Add(s.h, []byte(s.payload))
	}
	c, fk := newTestClient(f, "ws://127.0.0.1:1/ocpp", 60e9)
	fk.update(func(st *charger.Status) {
		st.State, st.VehicleConnected, st.StartStopAllowed = controller.StateConnected, true, true
	})
	w := &watcher{}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		h := handlers[int(which)%len(handlers)]
		req := h.new()
		if json.Unmarshal(payload, req) != nil || ocppj.Validate.Struct(req) != nil {
			return // answered with a CALLERROR by ocpp-go
		}
		conf, err := h.call(c, req)
		if err != nil {
			t.Fatalf("%s %s: %v", h.name, payload, err)
		}
		if conf == nil || ocppj.Validate.Struct(conf) != nil {
			t.Fatalf("%s %s: invalid confirmation %+v: %v", h.name, payload, conf, ocppj.Validate.Struct(conf))
		}
		c.applyLimit(c.lastHeardAt(), w)
		if lim := fk.externalLimit(); lim > 1e6 {
			t.Fatalf("%s %s: cap %v", h.name, payload, lim)
		}
		if _, err := openStore(c.o.StateDir); err != nil {
			t.Fatalf("%s %s: state unreadable: %v", h.name, payload, err)
		}
	})
}
