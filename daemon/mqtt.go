package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"syscall"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/broker"
	"github.com/evse-mqtt/evse-mqtt/mqttapi"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// mqttLink is what the daemon knows of its MQTT connection, for /healthz,
// /api/v1/status and --healthcheck.
type mqttLink struct {
	mu  sync.Mutex
	cl  *bridge.Client
	url string // redacted: never a password
	err error  // why MQTT could not be started at all
}

// mqttState reports the MQTT connection (webapi.Options.MQTT).
func (d *Daemon) mqttState() webapi.MQTTState {
	l := &d.mqtt
	l.mu.Lock()
	cl, u, err := l.cl, l.url, l.err
	l.mu.Unlock()
	switch {
	case err != nil:
		return webapi.MQTTState{Error: "MQTT not started: " + err.Error(), Since: d.started, URL: u}
	case cl == nil:
		return webapi.MQTTState{Error: "starting", Since: d.started, URL: u}
	}
	st := cl.State()
	return webapi.MQTTState{Connected: st.Connected, Error: st.Error, Since: st.Since, URL: u}
}

// mqttFailed records that MQTT could not be started.
func (d *Daemon) mqttFailed(err error) {
	d.mqtt.mu.Lock()
	d.mqtt.err = err
	d.mqtt.mu.Unlock()
}

// redactURL hides a password written into the broker URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// startEmbedded starts the built-in broker and returns the URL to reach
// it. When its port is taken — typically by the user's own Mosquitto on
// 1883, which Home Assistant already uses — it starts nothing and returns
// the URL of what listens there instead, with a warning that says so and
// how to make it explicit: a Home Assistant user expects the charger on
// the broker Home Assistant watches, and whatever listens on this host's
// port is a local service, not a stranger on the network. If that is not
// an MQTT broker or it refuses us, the bridge's warnings and /healthz say
// so. Any other listen failure is an error.
func (d *Daemon) startEmbedded(cfg *bridge.Config) (*broker.Broker, string, error) {
	listen := cfg.EmbeddedListen
	emb, err := d.startBroker(cfg)
	if err == nil {
		return emb, emb.URL(), nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, "", fmt.Errorf("embedded broker: %w (set mqtt.embedded_listen, or --mqtt-url for your own broker)", err)
	}
	host, port, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	u := "tcp://" + net.JoinHostPort(host, port)
	d.log.Warn().Str("listen", listen).Str("using", u).
		Msgf("MQTT: %s is already taken by another program (your own Mosquitto?), so the built-in broker is not started; "+
			"connecting to the broker listening there instead. To say so explicitly, start with --mqtt-url %s "+
			"(and mqtt.username/mqtt.password if it requires a login); to keep the built-in broker, set mqtt.embedded_listen to a free port",
			listen, u)
	return nil, u, nil
}

// startMQTT starts the embedded broker if asked to, connects the bridge
// and runs the publisher; it returns a stop function.
func (d *Daemon) startMQTT(ctx context.Context) (func(), error) {
	cfg := d.cfg.MQTT.WithDeviceID(d.id)
	var emb *broker.Broker
	if cfg.Embedded() {
		var err error
		if emb, cfg.URL, err = d.startEmbedded(&cfg); err != nil {
			return nil, err
		}
	}
	d.mqtt.mu.Lock()
	d.mqtt.url = redactURL(cfg.URL)
	d.mqtt.mu.Unlock()
	cl, err := bridge.New(cfg, d.log)
	if err != nil {
		if emb != nil {
			emb.Close()
		}
		return nil, err
	}
	d.mqtt.mu.Lock()
	d.mqtt.cl = cl
	d.mqtt.mu.Unlock()
	surf := mqttapi.New(ctx, mqttapi.Options{
		Client:           cl,
		Charger:          d.ch,
		Commands:         d.table,
		Documents:        d.web,
		Meters:           d.docs,
		Device:           d.discoveryDevice,
		DiscoveryEnabled: d.cfg.Discovery.Enabled,
		DiscoveryPrefix:  d.cfg.Discovery.Prefix,
		Pacing:           mqttapi.Pacing(d.cfg.Publish),
		SinceStart:       d.sinceStart,
		Log:              d.log,
		StatusChanged:    d.ocppChanged(),
	})
	// The bridge outlives ctx: stop publishes the final, halted status
	// before it closes the connection.
	if err := cl.Start(context.Background()); err != nil {
		cl.Close()
		if emb != nil {
			emb.Close()
		}
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		surf.Run(ctx)
	}()
	return func() {
		<-done
		surf.PublishStatus() // the final, safe state
		cl.Close()
		if emb != nil {
			emb.Close()
		}
	}, nil
}
