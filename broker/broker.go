// Package broker runs the embedded MQTT broker (mochi-mqtt) used when the
// configured MQTT URL is "embedded": the quick start then needs no external
// service, and Node-RED or Home Assistant can connect to it like any broker.
package broker

import (
	"fmt"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"
)

// DefaultListen is the listener used when none is configured: loopback
// only, where the broker may allow anonymous clients.
const DefaultListen = "127.0.0.1:1883"

// sysTopicInterval is how often (s) the broker refreshes its $SYS topics.
// Each refresh reads the runtime's memory statistics, which stops the
// world — the control loop's too — so once a minute, not mochi's once a
// second.
const sysTopicInterval = 60

// Broker is a running embedded broker.
type Broker struct {
	srv       *mqtt.Server
	addr      string
	log       zerolog.Logger
	closeOnce sync.Once
}

// MaxPacketSize bounds every MQTT packet the embedded broker accepts.
const MaxPacketSize = 256 << 10

// MaxClients bounds the embedded broker's concurrent connections: a home
// charger has a handful of clients (the daemon, Home Assistant, Node-RED).
const MaxClients = 64

// Start listens on addr (host:port; port 0 picks a free one) and serves
// MQTT 3.1.1 and 5. With WithCredentials only clients with them connect;
// without, every client is allowed, which Start accepts only on loopback
// (see Loopback) and refuses otherwise, before listening. Retained
// messages live in memory only. mochi's own logging goes to log at warn
// and above.
func Start(addr string, log zerolog.Logger, opts ...Option) (*Broker, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.user == "" && !Loopback(addr) {
		return nil, fmt.Errorf("broker: listening on %s, beyond loopback, takes commands from the network: it needs credentials (mqtt.username and mqtt.password), or listen on 127.0.0.1", addr)
	}
	log = log.With().Str("component", "broker").Logger()
	caps := mqtt.NewDefaultServerCapabilities()
	// A packet larger than this is a protocol error and closes the
	// client's connection before it is buffered whole: the daemon's own
	// commands are capped at 4 KiB and its largest discovery document is a
	// few KiB, so this only stops a client from filling memory (a 20 MB
	// publish took the daemon to 160 MB before).
	caps.MaximumPacketSize = MaxPacketSize
	caps.MaximumClients = MaxClients
	srv := mqtt.New(&mqtt.Options{Logger: newSlogLogger(log), Capabilities: caps, SysTopicResendInterval: sysTopicInterval})
	// Beyond access to the broker there is no per-topic control: ACLs
	// belong to a real broker (see the Mosquitto ACL in the docs).
	var hook mqtt.Hook = new(auth.AllowHook)
	access := "anonymous (loopback only)"
	if o.user != "" {
		hook, access = newPasswordHook(o.user, o.pass), "username and password"
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	if err := srv.AddHook(newPaceHook(publishRate, publishBurst), nil); err != nil {
		return nil, fmt.Errorf("broker: pace hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("broker: serve %s: %w", addr, err)
	}
	b := &Broker{srv: srv, addr: tcp.Address(), log: log}
	log.Info().Str("addr", b.addr).Str("access", access).Msg("embedded broker listening")
	return b, nil
}

// Addr is the address the broker listens on, with the port resolved.
func (b *Broker) Addr() string { return b.addr }

// URL is the URL a client uses to reach the broker, e.g. for bridge.Config.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close disconnects every client and stops listening. Safe to call twice.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		if err := b.srv.Close(); err != nil {
			b.log.Warn().Err(err).Msg("closing embedded broker")
		}
		b.log.Info().Msg("embedded broker stopped")
	})
}
