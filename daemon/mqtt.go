package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/broker"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// mqttGlue publishes the charger's state documents and turns command
// topics into command-table calls. Topics are documented in docs/mqtt.md.
type mqttGlue struct {
	d     *Daemon
	cl    *bridge.Client
	ann   *discovery.Announcer
	base  string
	cfgCh chan settings.Settings

	// mu guards what the run loop and the connect hook (paho's goroutine)
	// both touch.
	mu sync.Mutex
	// lastMeter holds the last published meter documents without their
	// timestamps, so unchanged meters are not republished.
	lastMeter [2][]byte
	// maps are the meters' register maps last announced to Home Assistant.
	maps [2]string
}

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
	g := &mqttGlue{d: d, cl: cl, base: cl.Base(), cfgCh: make(chan settings.Settings, 1)}
	g.ann = discovery.NewAnnouncer(cl, d.log)
	g.subscribe(ctx)
	d.addSettingsHook(func(s settings.Settings) {
		select {
		case g.cfgCh <- s:
		default:
			select { // replace a pending older value with the newest
			case <-g.cfgCh:
			default:
			}
			g.cfgCh <- s
		}
	})
	cl.OnConnect(func() { g.publishAll(true) })
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
		g.run(ctx)
	}()
	return func() {
		<-done
		g.publishStatus() // the final, safe state
		cl.Close()
		if emb != nil {
			emb.Close()
		}
	}, nil
}

// run publishes the status when it changes (at most every min interval),
// meters when their values change, everything at least every max interval.
func (g *mqttGlue) run(ctx context.Context) {
	sub, cancel := g.d.ctrl.Subscribe()
	defer cancel()
	p := g.d.cfg.Publish
	heartbeat := time.NewTicker(p.MaxInterval)
	defer heartbeat.Stop()
	meters := time.NewTicker(p.MeterInterval)
	defer meters.Stop()
	var last time.Time
	var pending <-chan time.Time
	dirty := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub:
			dirty = true
		case s := <-g.cfgCh:
			g.publishConfig()
			g.announce(s)
			dirty = true
		case <-meters.C:
			g.publishMeters(false)
			if g.mapsChanged() {
				g.announce(g.d.ctrl.Settings())
			}
		case <-heartbeat.C:
			g.publishAll(false)
			last, dirty = time.Now(), false
			continue
		case <-pending:
			pending = nil
		}
		if !dirty || pending != nil {
			continue
		}
		if wait := p.MinInterval - time.Since(last); wait > 0 {
			pending = time.After(wait) // a burst gives one message
			continue
		}
		g.publishStatus()
		last, dirty = time.Now(), false
	}
}

func (g *mqttGlue) publishAll(connect bool) {
	g.publishStatus()
	g.publishConfig()
	g.publishInfo()
	g.publishMeters(true)
	if connect {
		// A broker without persistence lost the retained configs: send
		// what was announced before, then whatever changed since.
		g.ann.Reannounce()
		g.announce(g.d.ctrl.Settings())
	}
}

func (g *mqttGlue) publishStatus() {
	g.cl.Publish(g.base+"/status", g.d.web.MQTTStatusDocument(), true)
}

func (g *mqttGlue) publishConfig() {
	g.cl.Publish(g.base+"/config", g.d.web.ConfigDocument(), true)
}

func (g *mqttGlue) publishInfo() {
	g.cl.Publish(g.base+"/info", g.d.web.InfoDocument(), true)
}

func (g *mqttGlue) publishMeters(force bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for n := 1; n <= 2; n++ {
		shape := g.d.meters.webapi(n, 0)
		if !force && bytes.Equal(shape, g.lastMeter[n-1]) {
			continue
		}
		g.lastMeter[n-1] = shape
		g.cl.Publish(fmt.Sprintf("%s/meter%d", g.base, n), g.d.meters.webapi(n, g.d.sinceStart()), true)
	}
}

// mapsChanged reports whether a meter's register map changed since the
// last discovery announcement (a detected variant brings more registers).
func (g *mqttGlue) mapsChanged() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	changed := false
	for n := 1; n <= 2; n++ {
		if m := g.d.meters.mapName(n); m != g.maps[n-1] {
			changed = true
		}
	}
	return changed
}

// announce (re)builds the discovery configs for the settings in force;
// the announcer publishes only what changed.
func (g *mqttGlue) announce(s settings.Settings) {
	g.mu.Lock()
	defer g.mu.Unlock()
	dc := g.d.cfg.Discovery
	var regs []discovery.MeterRegister
	for n := 1; n <= 2; n++ {
		g.maps[n-1] = g.d.meters.mapName(n)
		for _, r := range g.d.meters.registers(n) {
			if r.Role == meter.RoleNone {
				continue // power, energy and per-phase values only; the rest stays in <base>/meterN
			}
			regs = append(regs, discovery.MeterRegister{Meter: n, Key: r.Key(), Desc: r.Desc, Unit: r.Unit})
		}
	}
	msgs, err := discovery.Build(g.d.discoveryDevice(), discovery.Options{
		Prefix: dc.Prefix, Enabled: dc.Enabled, Meter1Type: s.Meter1Type, Meter2Type: s.Meter2Type, Meters: regs,
	})
	if err != nil {
		g.d.log.Error().Err(err).Msg("discovery not published")
		return
	}
	g.ann.Announce(msgs)
}

// subscribe registers every command topic and Home Assistant's birth.
// Decoding and the size cap live in the command table, shared with the
// WebAPI; here a topic only becomes a call and its answer a result.
func (g *mqttGlue) subscribe(ctx context.Context) {
	mq := command.Origin{Surface: "mqtt", SupervisorTrusted: true}
	for _, sub := range command.MQTTTopics {
		g.cl.Handle(g.base+"/"+sub, true, func(topic string, p []byte) {
			res := g.d.table.MQTT(strings.TrimPrefix(topic, g.base+"/"), p, mq)
			g.result(res.Command, res.Transaction, res.Reply)
		})
	}
	dc := g.d.cfg.Discovery
	if dc.Enabled {
		g.cl.Handle(discovery.StatusTopic(dc.Prefix), false, func(_ string, p []byte) {
			go g.ann.HandleHAStatus(ctx, p, nil)
		})
	}
}

// result answers a command on <base>/result (not retained).
func (g *mqttGlue) result(cmd string, tx json.RawMessage, r command.Reply) {
	doc := struct {
		Command     string          `json:"command"`
		OK          bool            `json:"ok"`
		Status      int             `json:"status"`
		Result      command.Reply   `json:"result"`
		Transaction json.RawMessage `json:"transaction,omitempty"`
	}{cmd, r.Applied(), r.Status, r, tx}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the vendor's "Set=>True" readable
	if err := enc.Encode(doc); err != nil {
		g.d.log.Error().Err(err).Msg("encoding command result")
		return
	}
	g.cl.Publish(g.base+"/result", bytes.TrimSpace(buf.Bytes()), false)
}
