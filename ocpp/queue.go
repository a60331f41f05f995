package ocpp

import (
	"context"
	"errors"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// drain sends the queue head first, one message at a time, each removed
// (and the removal persisted) only once the central system confirmed it,
// until ctx ends. A message the central system answers with a CALLERROR
// is dropped (sending it again cannot succeed and would block the
// others); one that got no answer stays for the next socket.
func (c *Client) drain(ctx context.Context, cp ocpp16.ChargePoint) {
	for {
		for c.sendHead(ctx, cp) {
		}
		select {
		case <-ctx.Done():
			return
		case <-c.sendKick:
		}
	}
}

// sendHead sends the first queued message; it reports whether it made
// progress (so the next one may go at once).
func (c *Client) sendHead(ctx context.Context, cp ocpp16.ChargePoint) bool {
	if ctx.Err() != nil {
		return false
	}
	c.st.mu.Lock()
	if len(c.st.d.Queue) == 0 {
		c.st.mu.Unlock()
		return false
	}
	q := c.st.d.Queue[0]
	server, mapped := c.st.d.IDs[q.Local]
	c.st.mu.Unlock()

	var req lib.Request
	switch q.Kind {
	case kindStart:
		r := *q.Start
		req = &r
	case kindMeter:
		r := *q.Meter
		if !mapped {
			c.pop(q.Seq, nil, "its StartTransaction was refused")
			return true
		}
		r.TransactionId = &server
		req = &r
	case kindStop:
		r := *q.Stop
		if !mapped {
			c.pop(q.Seq, nil, "its StartTransaction was refused")
			return true
		}
		r.TransactionId = server
		req = &r
	default:
		c.pop(q.Seq, nil, "unknown kind "+q.Kind)
		return true
	}
	conf, err := cp.SendRequest(req)
	if err != nil {
		var perr *lib.Error
		if errors.As(err, &perr) && perr == c.remoteErr.Load() && ctx.Err() == nil {
			c.heard()
			c.pop(q.Seq, nil, "CALLERROR "+string(perr.Code)+": "+perr.Description)
			return true
		}
		c.log.Debug().Err(err).Str("kind", q.Kind).Msg("queued message not confirmed; kept")
		return false
	}
	c.heard()
	c.pop(q.Seq, conf, "")
	return true
}

// pop removes the confirmed (or dropped) head and applies what its
// confirmation says: the server's transactionId, and a refused idTag
// stopping the session.
func (c *Client) pop(seq int64, conf lib.Response, dropped string) {
	var deauth bool
	c.st.mu.Lock()
	if len(c.st.d.Queue) == 0 || c.st.d.Queue[0].Seq != seq {
		c.st.mu.Unlock()
		return
	}
	q := c.st.d.Queue[0]
	c.st.d.Queue = c.st.d.Queue[1:]
	if dropped != "" {
		c.log.Warn().Str("kind", q.Kind).Int("local_transaction", q.Local).Str("why", dropped).Msg("queued message dropped")
	}
	switch r := conf.(type) {
	case *core.StartTransactionConfirmation:
		c.st.d.IDs[q.Local] = r.TransactionId
		if r.IdTagInfo != nil && r.IdTagInfo.Status != types.AuthorizationStatusAccepted {
			deauth = c.st.d.Open != nil && c.st.d.Open.Local == q.Local
		}
	case *core.StopTransactionConfirmation:
		delete(c.st.d.IDs, q.Local)
	}
	if q.Kind == kindStop {
		delete(c.st.d.IDs, q.Local)
	}
	if err := c.st.save(); err != nil {
		c.log.Error().Err(err).Msg("ocpp state not saved")
	}
	c.st.mu.Unlock()
	c.changed()
	if deauth {
		c.deauthorize()
	}
}

// enqueue persists a transaction message and wakes the sender.
func (c *Client) enqueue(q queued) {
	c.st.mu.Lock()
	c.st.push(q)
	if err := c.st.save(); err != nil {
		c.log.Error().Err(err).Msg("ocpp state not saved")
	}
	c.st.mu.Unlock()
	c.kick(kickSend)
	c.changed()
}
