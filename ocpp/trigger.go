package ocpp

import (
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// OnTriggerMessage sends BootNotification, Heartbeat, MeterValues or
// StatusNotification on request, after the confirmation.
func (c *Client) OnTriggerMessage(req *remotetrigger.TriggerMessageRequest) (*remotetrigger.TriggerMessageConfirmation, error) {
	c.heard()
	if req.ConnectorId != nil && *req.ConnectorId > 1 {
		return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusRejected), nil
	}
	cp := c.current()
	if cp == nil {
		return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusRejected), nil
	}
	var send func()
	switch req.RequestedMessage {
	case core.BootNotificationFeatureName:
		send = func() {
			r := core.NewBootNotificationRequest(c.o.Model, "evse-mqtt")
			r.ChargePointSerialNumber = clipN(c.o.DeviceID, 25)
			r.FirmwareVersion = clipN(c.o.Version, 50)
			_ = cp.SendRequestAsync(r, c.heardCb)
		}
	case core.HeartbeatFeatureName:
		send = func() { _ = cp.SendRequestAsync(core.NewHeartbeatRequest(), c.heardCb) }
	case core.StatusNotificationFeatureName:
		send = func() { c.sendStatus(true) }
	case core.MeterValuesFeatureName:
		send = func() {
			st := c.o.Charger.Status()
			c.st.mu.Lock()
			reg := max(c.st.d.RegisterWh, c.register(st))
			open := c.st.d.Open
			var server int
			if open != nil {
				server = c.st.d.IDs[open.Local]
			}
			c.st.mu.Unlock()
			r := core.NewMeterValuesRequest(1, []types.MeterValue{c.sample(time.Now(), st, reg, types.ReadingContextTrigger, c.keyString("MeterValuesSampledData"))})
			if server != 0 {
				r.TransactionId = &server
			}
			_ = cp.SendRequestAsync(r, c.heardCb)
		}
	default:
		return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusNotImplemented), nil
	}
	time.AfterFunc(resetDelay, send)
	return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusAccepted), nil
}
