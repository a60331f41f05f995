package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

const (
	// Payloads of the availability topic, as Home Assistant expects them.
	payloadOnline  = "online"
	payloadOffline = "offline"

	// outboxLimit bounds the queue between Publish and the broker; state
	// topics coalesce, so only a flood of results or a long outage fills it.
	outboxLimit = 1024
	// tokenTimeout bounds every wait on the broker, so a dead connection
	// cannot wedge the publisher or Close.
	tokenTimeout = 5 * time.Second
	// closeFlushTimeout is how long Close lets queued messages drain.
	closeFlushTimeout = time.Second
)

// Handler receives one message on a subscribed topic: the concrete topic
// (wildcards resolved) and the payload. It runs on paho's delivery
// goroutine, so it must hand work off quickly and never wait on the broker.
type Handler func(topic string, payload []byte)

// subscription is one registered handler.
type subscription struct {
	filter      string
	commandOnly bool
	h           Handler
}

// Client is the daemon's connection to the MQTT broker. Register handlers
// and OnConnect hooks at any time; Start connects and keeps connecting.
type Client struct {
	cfg    Config
	log    zerolog.Logger
	mq     mqtt.Client
	outbox *outbox

	mu      sync.Mutex
	subs    map[string]subscription // by topic filter
	hooks   []func()
	started bool

	connectMu     sync.Mutex // serialises onConnect runs after quick reconnects
	linkMu        sync.Mutex
	lost          chan struct{} // closed when the current connection is gone; nil when none
	connected     atomic.Bool   // our view: set after a connect is handled, cleared on loss
	onlinePending atomic.Bool   // the publisher owes the broker a retained "online"
	closing       atomic.Bool

	stop      chan struct{} // closed by Close to end the publisher
	done      chan struct{} // closed when the publisher has ended
	closeOnce sync.Once

	link      linkState                            // what State reports
	now       func() time.Time                     // the clock of State and of failure logging
	after     func(time.Duration) <-chan time.Time // the wait before retrying a refusing broker
	onAttempt func()                               // tests: called at every connection attempt
	onFailed  func()                               // tests: called once a failed attempt is recorded and logged
}

// New checks cfg and prepares a client; nothing touches the network until
// Start. cfg must be resolved: URL not EmbeddedURL, WithDeviceID applied.
func New(cfg Config, log zerolog.Logger) (*Client, error) {
	if cfg.Embedded() {
		return nil, fmt.Errorf("%w: url %q must be replaced by the built-in broker's URL", ErrUnresolved, EmbeddedURL)
	}
	if cfg.ClientID == "" || cfg.BaseTopic == "" {
		return nil, fmt.Errorf("%w: client_id and base_topic are empty (call WithDeviceID)", ErrUnresolved)
	}
	if err := cfg.Validate("mqtt"); err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	c := &Client{
		cfg:    cfg,
		log:    log.With().Str("component", "mqtt").Logger(),
		outbox: newOutbox(outboxLimit),
		subs:   make(map[string]subscription),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		now:    time.Now,
		after:  time.After,
	}
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		// MQTT 3.1.1 only: left open, paho retries every refused CONNECT
		// as 3.1, which doubles the attempts a refusing broker sees.
		SetProtocolVersion(4).
		SetKeepAlive(cfg.Keepalive).
		SetConnectTimeout(tokenTimeout).
		SetWriteTimeout(tokenTimeout).
		// Clean session: commands queued by the broker while we were away
		// are stale, and subscriptions are renewed in onConnect anyway.
		SetCleanSession(true).
		SetStore(volatileStore{}).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		// ConnectRetry covers a broker that is down when the daemon starts.
		SetConnectRetry(true).
		SetConnectRetryInterval(cfg.MaxReconnectInterval).
		SetBinaryWill(cfg.Availability(), []byte(payloadOffline), byte(cfg.QoS), true).
		SetOnConnectHandler(func(mqtt.Client) { c.onConnect() }).
		SetConnectionNotificationHandler(c.notify).
		SetConnectionAttemptHandler(func(_ *url.URL, tc *tls.Config) *tls.Config {
			c.holdOff()
			return tc
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { c.onLost(err) })
	if tc != nil {
		opts.SetTLSConfig(tc)
	}
	c.mq = mqtt.NewClient(opts)
	return c, nil
}

// Base is the base topic, e.g. "evse/<device id>".
func (c *Client) Base() string { return c.cfg.BaseTopic }

// Availability is the retained availability topic, "<base>/availability".
func (c *Client) Availability() string { return c.cfg.Availability() }

// Connected reports whether the client has a live connection to the broker
// (set when a connect is handled, cleared when paho reports the loss).
func (c *Client) Connected() bool { return c.connected.Load() }

// Handle subscribes h to an absolute topic filter (wildcards allowed), now
// if connected and again on every reconnect. With commandOnly, retained
// messages are ignored: a retained command found at connect is an old
// command, not a fresh one. A second Handle on the same filter replaces
// the first. When connected, Handle waits for the SUBACK, so do not call it
// from inside a Handler (paho delivers in order on one goroutine).
func (c *Client) Handle(filter string, commandOnly bool, h Handler) {
	s := subscription{filter: filter, commandOnly: commandOnly, h: h}
	c.mu.Lock()
	c.subs[filter] = s
	c.mu.Unlock()
	if c.connected.Load() {
		// A concurrent onConnect may subscribe it as well; a repeated
		// SUBSCRIBE just replaces the first.
		if err := c.subscribe([]subscription{s}); err != nil {
			c.log.Warn().Err(err).Str("topic", filter).Msg("subscribe failed; retried on next connect")
		}
	}
}

// OnConnect adds a hook run after every (re)connect, once "online" is queued
// and subscriptions are renewed: the place to re-publish state and
// discovery, since a restarted broker may have lost its retained messages.
// Hooks run in order on one goroutine and should only call Publish.
func (c *Client) OnConnect(f func()) {
	c.mu.Lock()
	c.hooks = append(c.hooks, f)
	c.mu.Unlock()
}

// Publish queues a message for the broker and returns at once. A retained
// message replaces a still-queued retained message on the same topic;
// non-retained messages are all delivered in order. Messages queued while
// disconnected go out after the next connect. When the queue is full the
// message is dropped and the drop logged. The outbox keeps payload, so the
// caller must not modify it afterwards.
func (c *Client) Publish(topic string, payload []byte, retained bool) {
	c.outbox.put(message{topic: topic, payload: payload, retained: retained})
}

// AfterSent calls f on the publisher's goroutine once every message
// Publish queued before this call has been acknowledged by the broker (or
// handed to it, at QoS 0). While the broker is unreachable f waits; it is
// never called if the client closes first. This is how a caller logs what
// really reached the broker rather than what it queued. f must not block.
func (c *Client) AfterSent(f func()) {
	c.outbox.put(message{sent: f})
}

// Start connects in the background and returns; paho keeps retrying a
// broker that is down. Cancelling ctx is the same as Close.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closing.Load() {
		c.mu.Unlock()
		return errors.New("mqtt: client already started or closed")
	}
	c.started = true
	c.mu.Unlock()

	c.link.mu.Lock()
	c.link.st.Since = c.now()
	c.link.mu.Unlock()
	c.log.Info().Str("url", c.cfg.URL).Str("client_id", c.cfg.ClientID).Str("base", c.cfg.BaseTopic).Msg("connecting")
	go c.publisher()
	c.mq.Connect() // completes only once connected; onConnect does the work
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-c.stop:
		}
	}()
	return nil
}

// Close publishes a retained "offline" (a clean disconnect suppresses the
// will, so it must be said explicitly) and disconnects. Queued messages get
// a short time to drain first. Safe to call more than once.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.mu.Lock()
		started := c.started
		c.mu.Unlock()
		close(c.stop)
		if !started {
			return
		}
		<-c.done
		if c.mq.IsConnectionOpen() {
			t := c.mq.Publish(c.cfg.Availability(), byte(c.cfg.QoS), true, payloadOffline)
			if !t.WaitTimeout(tokenTimeout) || t.Error() != nil {
				c.log.Warn().Err(t.Error()).Msg("publishing offline failed")
			}
		}
		c.connected.Store(false)
		c.mq.Disconnect(250)
		c.endLink()
		c.log.Info().Msg("disconnected")
	})
}

// onConnect runs (on its own goroutine, from paho) after every connect.
func (c *Client) onConnect() {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	if c.closing.Load() {
		return
	}
	c.mu.Lock()
	subs := make([]subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	hooks := append([]func(){}, c.hooks...)
	c.mu.Unlock()

	c.newLink()
	// Subscribe before announcing "online": online means commands are
	// heard. "online" then goes first through the publisher so it precedes
	// the state that hooks re-publish.
	if err := c.subscribe(subs); err != nil {
		c.log.Warn().Err(err).Msg("renewing subscriptions failed")
	}
	c.onlinePending.Store(true)
	c.connected.Store(true)
	c.outbox.signal()
	// A Handle that ran while we subscribed saw connected false and left
	// its filter to us: subscribe what was added since the snapshot.
	c.mu.Lock()
	var late []subscription
	for f, sub := range c.subs {
		if !containsFilter(subs, f) {
			late = append(late, sub)
		}
	}
	c.mu.Unlock()
	if len(late) > 0 {
		if err := c.subscribe(late); err != nil {
			c.log.Warn().Err(err).Msg("subscribing late handlers failed")
		}
	}
	ev := c.log.Info().Str("url", c.cfg.URL).Int("subscriptions", len(subs))
	if failed := c.connectedNow(); failed > 0 {
		ev = ev.Int("failed_attempts", failed)
	}
	ev.Msg("connected")
	for _, f := range hooks {
		f()
	}
}

func (c *Client) onLost(err error) {
	// paho runs this on its own goroutine, possibly after the next
	// connection is already up; then there is nothing to tear down.
	if c.mq.IsConnectionOpen() {
		return
	}
	c.connected.Store(false)
	c.lostNow(err)
	c.endLink()
	c.log.Warn().Err(err).Msg("connection lost; reconnecting")
}

// newLink starts a connection generation; any previous one is over.
func (c *Client) newLink() {
	c.linkMu.Lock()
	defer c.linkMu.Unlock()
	if c.lost != nil {
		close(c.lost)
	}
	c.lost = make(chan struct{})
}

// endLink marks the current connection as gone, waking a publisher that
// waits for an acknowledgement that will never come.
func (c *Client) endLink() {
	c.linkMu.Lock()
	defer c.linkMu.Unlock()
	if c.lost != nil {
		close(c.lost)
		c.lost = nil
	}
}

// lostSignal is closed when the connection current at the call is gone.
func (c *Client) lostSignal() <-chan struct{} {
	c.linkMu.Lock()
	defer c.linkMu.Unlock()
	if c.lost == nil {
		gone := make(chan struct{})
		close(gone)
		return gone
	}
	return c.lost
}

// subscribe sends all SUBSCRIBEs first, then waits, so a reconnect with
// many topics costs one round trip rather than one per topic.
func (c *Client) subscribe(subs []subscription) error {
	tokens := make([]mqtt.Token, len(subs))
	for i, s := range subs {
		tokens[i] = c.mq.Subscribe(s.filter, byte(c.cfg.QoS), c.deliver(s))
	}
	var errs []error
	for i, t := range tokens {
		if !t.WaitTimeout(tokenTimeout) {
			errs = append(errs, fmt.Errorf("subscribe %s: timed out", subs[i].filter))
		} else if err := t.Error(); err != nil {
			errs = append(errs, fmt.Errorf("subscribe %s: %w", subs[i].filter, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) deliver(s subscription) mqtt.MessageHandler {
	return func(_ mqtt.Client, m mqtt.Message) {
		if s.commandOnly && m.Retained() {
			c.log.Debug().Str("topic", m.Topic()).Msg("ignoring retained command")
			return
		}
		s.h(m.Topic(), m.Payload())
	}
}

func containsFilter(subs []subscription, filter string) bool {
	for _, s := range subs {
		if s.filter == filter {
			return true
		}
	}
	return false
}
