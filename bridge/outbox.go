package bridge

import "sync"

// message is one publish waiting for the broker.
type message struct {
	topic    string
	payload  []byte
	retained bool
	// sent, when set, makes this a marker rather than a publish: the
	// publisher calls it on reaching it, once everything queued before it
	// went out and was acknowledged.
	sent func()
}

// outbox is the bounded FIFO between callers of Publish and the one
// publisher goroutine. A retained message supersedes a queued retained
// message on the same topic, in place: the broker keeps only the last
// retained value anyway, so a burst of state changes costs one publish.
// Non-retained messages (command results, events) each matter and are
// queued one by one.
type outbox struct {
	mu      sync.Mutex
	queue   []*message
	pending map[string]*message // queued retained messages by topic
	limit   int
	dropped int
	wake    chan struct{} // signalled (never blocking) when the queue gains work
}

func newOutbox(limit int) *outbox {
	return &outbox{pending: make(map[string]*message), limit: limit, wake: make(chan struct{}, 1)}
}

// put queues m. It reports false when the queue is full and m was dropped;
// it never blocks beyond the mutex.
func (o *outbox) put(m message) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m.retained {
		if q, ok := o.pending[m.topic]; ok {
			q.payload = m.payload
			return true
		}
	}
	if len(o.queue) >= o.limit {
		o.dropped++
		return false
	}
	q := &m
	o.queue = append(o.queue, q)
	if m.retained {
		o.pending[m.topic] = q
	}
	o.signal()
	return true
}

// next pops the oldest message.
func (o *outbox) next() (message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 {
		return message{}, false
	}
	q := o.queue[0]
	o.queue[0] = nil
	o.queue = o.queue[1:]
	if q.retained && o.pending[q.topic] == q {
		delete(o.pending, q.topic)
	}
	return *q, true
}

// requeue puts back a message whose publish failed, at the front so order
// is kept — unless a newer retained payload for its topic is already queued,
// which makes the failed one obsolete. It may exceed the limit by the one
// message that was already counted.
func (o *outbox) requeue(m message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m.retained {
		if _, ok := o.pending[m.topic]; ok {
			return
		}
	}
	q := &m
	o.queue = append([]*message{q}, o.queue...)
	if m.retained {
		o.pending[m.topic] = q
	}
	o.signal()
}

// takeDropped returns and resets the count of messages dropped since the
// last call, so the publisher can log drops once rather than per message.
func (o *outbox) takeDropped() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.dropped
	o.dropped = 0
	return n
}

// signal wakes the publisher; the caller holds mu or does not need it.
func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
