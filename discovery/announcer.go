package discovery

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Publisher sends one MQTT message; the bridge's serialised publisher
// implements it. Discovery is always published retained.
type Publisher interface {
	Publish(topic string, payload []byte, retained bool)
}

// SentNotifier is implemented by publishers that can tell when what was
// published so far has reached the broker (the bridge's AfterSent). The
// Announcer then logs an announcement only once it happened, never while
// the messages wait for a broker that is unreachable or refuses us.
type SentNotifier interface {
	AfterSent(f func())
}

// DefaultMaxJitter bounds the random delay before a re-announce, so a fleet
// of bridges does not answer Home Assistant's birth message all at once.
const DefaultMaxJitter = 2 * time.Second

// Announcer publishes discovery messages and remembers what it published,
// so that only changes go out and entities that are gone get removed.
// It is safe for concurrent use.
type Announcer struct {
	pub    Publisher
	log    zerolog.Logger
	jitter func() time.Duration
	after  func(time.Duration) <-chan time.Time

	mu      sync.Mutex
	current map[string][]byte // topic → payload believed retained on the broker
	order   []string          // topics of the last Announce, in its order
	pending bool              // a delayed re-announce is scheduled
}

// AnnouncerOption adjusts an Announcer.
type AnnouncerOption func(*Announcer)

// WithJitter sets the source of the delay before a re-announce
// (default: uniform in [0, DefaultMaxJitter)).
func WithJitter(f func() time.Duration) AnnouncerOption {
	return func(a *Announcer) { a.jitter = f }
}

// WithAfter sets the timer used for that delay (default time.After).
func WithAfter(f func(time.Duration) <-chan time.Time) AnnouncerOption {
	return func(a *Announcer) { a.after = f }
}

// NewAnnouncer returns an Announcer that publishes through pub.
func NewAnnouncer(pub Publisher, log zerolog.Logger, opts ...AnnouncerOption) *Announcer {
	a := &Announcer{
		pub:     pub,
		log:     log.With().Str("component", "discovery").Logger(),
		jitter:  func() time.Duration { return rand.N(DefaultMaxJitter) },
		after:   time.After,
		current: map[string][]byte{},
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Announce makes msgs the announced set: each message whose payload differs
// from what was last published on its topic is published retained, and
// every topic announced before but absent from msgs is cleared with an
// empty retained payload (HA then removes the entity). Announce(nil)
// removes everything, which is how discovery is switched off.
func (a *Announcer) Announce(msgs []Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	want := make(map[string]bool, len(msgs))
	order := make([]string, 0, len(msgs))
	published := 0
	for _, m := range msgs {
		if len(m.Payload) == 0 || want[m.Topic] {
			continue // an empty payload would be a removal; a repeat a mistake
		}
		want[m.Topic] = true
		order = append(order, m.Topic)
		if old, ok := a.current[m.Topic]; ok && bytes.Equal(old, m.Payload) {
			continue
		}
		a.pub.Publish(m.Topic, m.Payload, true)
		a.current[m.Topic] = bytes.Clone(m.Payload)
		published++
	}
	var gone []string
	for t := range a.current {
		if !want[t] {
			gone = append(gone, t)
		}
	}
	sort.Strings(gone)
	for _, t := range gone {
		a.pub.Publish(t, nil, true)
		delete(a.current, t)
	}
	a.order = order
	if published > 0 || len(gone) > 0 {
		entities, removed := len(order), len(gone)
		a.whenSent(func() {
			a.log.Info().Int("published", published).Int("removed", removed).Int("entities", entities).
				Msg("discovery announced")
		})
	}
}

// whenSent runs logIt once the messages published so far reached the
// broker, or at once for a publisher that cannot tell (it is synchronous).
func (a *Announcer) whenSent(logIt func()) {
	if n, ok := a.pub.(SentNotifier); ok {
		n.AfterSent(logIt)
		return
	}
	logIt()
}

// Adopt records a retained discovery config found on the broker (from a
// subscription to Filter) that this Announcer did not publish, such as one
// left by a previous run; the next Announce removes it unless it is still
// wanted. Topics already known and empty payloads are ignored.
func (a *Announcer) Adopt(topic string, payload []byte) {
	if len(payload) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.current[topic]; !ok {
		a.current[topic] = bytes.Clone(payload)
	}
}

// Reannounce publishes every entity of the last Announce again, retained,
// whether or not it changed: HA forgets entities that it did not see
// rediscovered after its MQTT integration restarts.
func (a *Announcer) Reannounce() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.order {
		a.pub.Publish(t, a.current[t], true)
	}
	entities := len(a.order)
	a.whenSent(func() { a.log.Info().Int("entities", entities).Msg("discovery re-announced") })
}

// HandleHAStatus takes a message from Home Assistant's status topic
// (<prefix>/status). On "online" it re-announces after a random delay,
// once however many births arrive meanwhile. It returns at once; the delay
// runs in a goroutine that ends early when ctx is done. done, when not
// nil, is closed after the re-announce (or the cancellation).
func (a *Announcer) HandleHAStatus(ctx context.Context, payload []byte, done chan<- struct{}) {
	closeDone := func() {
		if done != nil {
			close(done)
		}
	}
	if strings.TrimSpace(string(payload)) != "online" {
		closeDone()
		return
	}
	a.mu.Lock()
	if a.pending {
		a.mu.Unlock()
		closeDone()
		return
	}
	a.pending = true
	a.mu.Unlock()
	timer := a.after(a.jitter())
	go func() {
		defer closeDone()
		select {
		case <-timer:
			a.mu.Lock()
			a.pending = false
			a.mu.Unlock()
			a.Reannounce()
		case <-ctx.Done():
			a.mu.Lock()
			a.pending = false
			a.mu.Unlock()
		}
	}()
}

// Filter is the subscription that finds this device's retained discovery
// configs on the broker, to feed Adopt.
func Filter(prefix, deviceID string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "/+/" + NodeID(deviceID) + "/+/config"
}

// StatusTopic is the topic Home Assistant publishes its birth and last
// will on.
func StatusTopic(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "/status"
}
