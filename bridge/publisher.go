package bridge

import (
	"errors"
	"time"
)

// publisher is the one goroutine that talks to the broker for Publish: it
// sends "online" after each connect, then drains the outbox in order while
// connected. Serialising here keeps per-topic order and lets retained state
// coalesce in the outbox while a publish is in flight.
func (c *Client) publisher() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			c.flush(time.Now().Add(closeFlushTimeout))
			return
		case <-c.outbox.wake:
		}
		c.drain()
	}
}

// drain publishes until the outbox is empty or the connection is gone; a
// later connect or Publish wakes the publisher again.
func (c *Client) drain() {
	for c.connected.Load() {
		select {
		case <-c.stop:
			// Re-arm so the stop branch of publisher runs the flush.
			c.outbox.signal()
			return
		default:
		}
		if c.onlinePending.Swap(false) {
			if err := c.send(message{topic: c.cfg.Availability(), payload: []byte(payloadOnline), retained: true}); err != nil {
				c.onlinePending.Store(true)
				c.log.Debug().Err(err).Msg("publishing online failed; retried on next connect")
				return
			}
		}
		if n := c.outbox.takeDropped(); n > 0 {
			c.log.Warn().Int("dropped", n).Msg("outbox full; messages dropped")
		}
		m, ok := c.outbox.next()
		if !ok {
			return
		}
		if m.sent != nil {
			m.sent()
			continue
		}
		if err := c.send(m); err != nil {
			c.outbox.requeue(m)
			c.log.Debug().Err(err).Str("topic", m.topic).Msg("publish failed; requeued")
			return
		}
	}
}

// flush lets queued messages out until deadline, for Close.
func (c *Client) flush(deadline time.Time) {
	for c.connected.Load() && time.Now().Before(deadline) {
		m, ok := c.outbox.next()
		if !ok {
			return
		}
		if m.sent != nil {
			m.sent()
			continue
		}
		if err := c.send(m); err != nil {
			return
		}
	}
}

// send publishes one message and waits for the broker's acknowledgement,
// the loss of the connection, or a timeout. Every failure leaves the
// message to the caller to requeue; after a timeout it may have arrived
// anyway, which QoS 1 allows (at least once).
func (c *Client) send(m message) error {
	lost := c.lostSignal()
	if !c.mq.IsConnectionOpen() {
		return errors.New("not connected")
	}
	t := c.mq.Publish(m.topic, byte(c.cfg.QoS), m.retained, m.payload)
	timer := time.NewTimer(tokenTimeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-lost:
		return errors.New("connection lost before acknowledgement")
	case <-timer.C:
		return errors.New("no acknowledgement in time")
	}
}
