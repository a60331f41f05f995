package discovery

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// holdingPublisher is a broker that is not reachable: it queues publishes
// and AfterSent callbacks until release, as the bridge does while
// disconnected.
type holdingPublisher struct {
	recorder
	mu      sync.Mutex
	waiting []func()
}

func (h *holdingPublisher) AfterSent(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiting = append(h.waiting, f)
}

func (h *holdingPublisher) release() {
	h.mu.Lock()
	w := h.waiting
	h.waiting = nil
	h.mu.Unlock()
	for _, f := range w {
		f()
	}
}

// syncBuffer is a log sink the test reads while the announcer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAnnouncedLoggedOnlyWhenSent: with the broker unreachable (wrong
// credentials, say) the daemon used to log "discovery announced" for
// messages that were only queued. The log must wait for the publisher to
// say they reached the broker.
func TestAnnouncedLoggedOnlyWhenSent(t *testing.T) {
	pub := &holdingPublisher{recorder: recorder{retained: map[string][]byte{}}}
	var logs syncBuffer
	a := NewAnnouncer(pub, zerolog.New(&logs))
	a.Announce([]Message{{Topic: "homeassistant/sensor/x/a/config", Payload: []byte(`{"a":1}`)}})
	a.Reannounce()
	if s := logs.String(); strings.Contains(s, "announced") {
		t.Fatalf("announcement logged before the broker had it:\n%s", s)
	}
	pub.release()
	s := logs.String()
	if !strings.Contains(s, `"discovery announced"`) || !strings.Contains(s, `"discovery re-announced"`) {
		t.Fatalf("announcements not logged once sent:\n%s", s)
	}
	if !strings.Contains(s, `"entities":1`) {
		t.Fatalf("entity count missing:\n%s", s)
	}
}
