package ocpp

import (
	"encoding/json"
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// The core profile's requests from the central system. Malformed payloads
// never reach these: ocpp-go validates every request against the 1.6
// schema first and answers a CALLERROR (FormationViolation,
// PropertyConstraintViolation, …).

// OnRemoteStartTransaction starts a session through the command table
// with the given idTag; a TxProfile in it is installed for the session.
func (c *Client) OnRemoteStartTransaction(req *core.RemoteStartTransactionRequest) (*core.RemoteStartTransactionConfirmation, error) {
	c.heard()
	reject := core.NewRemoteStartTransactionConfirmation(types.RemoteStartStopStatusRejected)
	if req.ConnectorId != nil && *req.ConnectorId != 1 {
		return reject, nil
	}
	st := c.o.Charger.Status()
	c.st.mu.Lock()
	busy := c.st.d.Open != nil || c.st.d.Inoperative
	c.st.mu.Unlock()
	if busy || !st.StartStopAllowed {
		return reject, nil
	}
	if p := req.ChargingProfile; p != nil {
		if _, can := c.o.Charger.(charger.ExternalLimiter); !can || p.ChargingProfilePurpose != types.ChargingProfilePurposeTxProfile || c.checkProfile(p) != "" {
			return reject, nil
		}
	}
	c.mu.Lock()
	c.remoteTag = req.IdTag
	c.mu.Unlock()
	if r := c.o.Commands.Charging(true, origin); !r.Applied() {
		c.mu.Lock()
		c.remoteTag = ""
		c.mu.Unlock()
		c.log.Info().RawJSON("answer", r.JSON()).Msg("RemoteStartTransaction refused by the charger")
		return reject, nil
	}
	if p := req.ChargingProfile; p != nil {
		p.TransactionId = 0 // the transaction this start opens
		c.installProfile(1, *p)
	}
	c.kick(kickTimers) // open the transaction at once
	return core.NewRemoteStartTransactionConfirmation(types.RemoteStartStopStatusAccepted), nil
}

// OnRemoteStopTransaction stops the session whose transactionId (the
// central system's) is given.
func (c *Client) OnRemoteStopTransaction(req *core.RemoteStopTransactionRequest) (*core.RemoteStopTransactionConfirmation, error) {
	c.heard()
	c.st.mu.Lock()
	ok := false
	if open := c.st.d.Open; open != nil {
		server, mapped := c.st.d.IDs[open.Local]
		// The CSMS may ask as soon as it has answered StartTransaction,
		// before that answer is processed here: an id that names no
		// other transaction is then this one's.
		ok = server == req.TransactionId || (!mapped && !c.knownServerID(req.TransactionId))
	}
	c.st.mu.Unlock()
	if !ok {
		return core.NewRemoteStopTransactionConfirmation(types.RemoteStartStopStatusRejected), nil
	}
	c.mu.Lock()
	c.stopReason = core.ReasonRemote
	c.mu.Unlock()
	if r := c.o.Commands.Charging(false, origin); !r.Applied() {
		return core.NewRemoteStopTransactionConfirmation(types.RemoteStartStopStatusRejected), nil
	}
	c.kick(kickTimers)
	return core.NewRemoteStopTransactionConfirmation(types.RemoteStartStopStatusAccepted), nil
}

// resetDelay lets the confirmation leave before the reset acts.
const resetDelay = 300 * time.Millisecond

// OnReset: Soft is the daemon's in-process restart (SystemInfo Reset
// through the command table); Hard is the same and a new socket with a
// new BootNotification.
func (c *Client) OnReset(req *core.ResetRequest) (*core.ResetConfirmation, error) {
	c.heard()
	reason := core.ReasonSoftReset
	if req.Type == core.ResetTypeHard {
		reason = core.ReasonHardReset
	}
	c.mu.Lock()
	c.stopReason = reason
	c.mu.Unlock()
	// OCPP 1.6 (5.14): a reset stops the transactions first. The
	// in-process restart alone would carry the session over.
	c.st.mu.Lock()
	open := c.st.d.Open != nil
	c.st.mu.Unlock()
	if open {
		c.o.Commands.Charging(false, origin)
		c.kick(kickTimers)
	}
	r := c.o.Commands.SystemInfo(map[string]json.RawMessage{"SCode": json.RawMessage(`"Reset"`)}, origin)
	if !r.Applied() {
		c.mu.Lock()
		c.stopReason = ""
		c.mu.Unlock()
		return core.NewResetConfirmation(core.ResetStatusRejected), nil
	}
	if req.Type == core.ResetTypeHard {
		time.AfterFunc(resetDelay, func() {
			select {
			case c.hard <- struct{}{}:
			default:
			}
		})
	}
	return core.NewResetConfirmation(core.ResetStatusAccepted), nil
}

// OnChangeAvailability: Inoperative stops and blocks charging, Operative
// allows it again; the choice is persisted and re-applied at start.
func (c *Client) OnChangeAvailability(req *core.ChangeAvailabilityRequest) (*core.ChangeAvailabilityConfirmation, error) {
	c.heard()
	a, ok := c.o.Charger.(charger.Availability)
	if !ok || req.ConnectorId > 1 {
		return core.NewChangeAvailabilityConfirmation(core.AvailabilityStatusRejected), nil
	}
	in := req.Type == core.AvailabilityTypeInoperative
	c.st.mu.Lock()
	prev := c.st.d.Inoperative
	c.st.d.Inoperative = in
	err := c.st.save()
	if err != nil {
		c.st.d.Inoperative = prev
	}
	c.st.mu.Unlock()
	if err != nil {
		c.log.Error().Err(err).Msg("availability not persisted")
		return core.NewChangeAvailabilityConfirmation(core.AvailabilityStatusRejected), nil
	}
	if in {
		c.mu.Lock()
		c.stopReason = core.ReasonOther
		c.mu.Unlock()
	}
	if err := a.SetOperative(!in); err != nil {
		c.log.Error().Err(err).Msg("availability not applied")
		return core.NewChangeAvailabilityConfirmation(core.AvailabilityStatusRejected), nil
	}
	c.kick(kickTimers)
	return core.NewChangeAvailabilityConfirmation(core.AvailabilityStatusAccepted), nil
}

// OnUnlockConnector releases the cable lock of a Case B socket, never
// under load; a tethered cable (Case C) has no lock to release.
func (c *Client) OnUnlockConnector(req *core.UnlockConnectorRequest) (*core.UnlockConnectorConfirmation, error) {
	c.heard()
	if req.ConnectorId != 1 {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusNotSupported), nil
	}
	st := c.o.Charger.Status()
	if st.ChargerStarted || st.ContactorClosed || st.ContactorFeedback {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusUnlockFailed), nil // never under load
	}
	if c.o.Charger.Settings().ChargerMode != settings.ModeCaseB {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusNotSupported), nil
	}
	if !st.Locked {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusUnlocked), nil
	}
	u, ok := c.o.Charger.(charger.Unlocker)
	if !ok {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusNotSupported), nil
	}
	if err := u.Unlock(); err != nil {
		return core.NewUnlockConnectorConfirmation(core.UnlockStatusUnlockFailed), nil
	}
	return core.NewUnlockConnectorConfirmation(core.UnlockStatusUnlocked), nil
}

// OnDataTransfer: no vendor extensions.
func (c *Client) OnDataTransfer(*core.DataTransferRequest) (*core.DataTransferConfirmation, error) {
	c.heard()
	return core.NewDataTransferConfirmation(core.DataTransferStatusUnknownVendorId), nil
}

// OnClearCache: there is no authorization cache to clear.
func (c *Client) OnClearCache(*core.ClearCacheRequest) (*core.ClearCacheConfirmation, error) {
	c.heard()
	return core.NewClearCacheConfirmation(core.ClearCacheStatusAccepted), nil
}

// knownServerID reports whether id is a known transaction's; call with
// the store locked.
func (c *Client) knownServerID(id int) bool {
	for _, s := range c.st.d.IDs {
		if s == id {
			return true
		}
	}
	return false
}
