// Package notify is the coalescing broadcast both charger backends (the
// local controller and the PSP bridge) give their surfaces: a subscriber
// learns that the status changed, never what, and reads the latest
// snapshot itself, so a slow reader costs the publisher nothing and never
// sees a stale value.
package notify

import "sync"

// Set is a set of subscribers. The zero value is ready to use; a Set must
// not be copied after first use.
type Set struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a signal after every Notify
// (signals coalesce: one pending signal stands for any number), and the
// function that ends the subscription.
func (s *Set) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// Notify signals every subscriber without blocking: one whose signal is
// still pending gets no second one.
func (s *Set) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending; the reader gets the latest
		}
	}
}
