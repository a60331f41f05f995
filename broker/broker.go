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
// only, since the broker allows everyone.
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

// Start listens on addr (host:port; port 0 picks a free one) and serves
// MQTT 3.1.1 and 5 with every client and topic allowed. Retained messages
// live in memory only. mochi's own logging goes to log at warn and above.
func Start(addr string, log zerolog.Logger) (*Broker, error) {
	log = log.With().Str("component", "broker").Logger()
	srv := mqtt.New(&mqtt.Options{Logger: newSlogLogger(log), SysTopicResendInterval: sysTopicInterval})
	// The embedded broker is a local convenience; access control belongs
	// to a real broker (see the Mosquitto ACL in the docs).
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
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
	log.Info().Str("addr", b.addr).Msg("embedded broker listening")
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
