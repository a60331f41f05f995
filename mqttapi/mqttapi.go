// Package mqttapi is the MQTT surface of the charger, beside package
// webapi and over the same seam (package charger): it publishes the state
// documents (<base>/status, config, info, meter1, meter2, and a bridged
// box's availability), announces Home Assistant discovery, and turns
// command topics into command-table calls answered on <base>/result.
// Topics are documented in docs/mqtt.md.
package mqttapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Documents render the state documents; *webapi.Server satisfies it, so
// MQTT publishes exactly what the WebAPI serves.
type Documents interface {
	MQTTStatusDocument() []byte
	ConfigDocument() []byte
	InfoDocument() []byte
}

// Meters are the two meters' documents and registers.
type Meters interface {
	// Document renders {"MeterN":{...}} at the TimeStamp given.
	Document(n int, timestampMs int64) []byte
	// Registers are the registers of meter n that get a Home Assistant
	// sensor; nil without a meter.
	Registers(n int) []discovery.MeterRegister
	// MapName names the register map meter n is read with; a change
	// re-announces discovery.
	MapName(n int) string
}

// Pacing paces the state documents (config.Publish).
type Pacing struct {
	MinInterval, MaxInterval, MeterInterval time.Duration
}

// Options wire the surface.
type Options struct {
	Client    *bridge.Client
	Charger   charger.Charger
	Commands  *command.Table
	Documents Documents
	Meters    Meters
	// Device describes the charger to Home Assistant; called at every
	// announcement, so a bridged box's identity can follow the box.
	Device func() discovery.Device
	// Discovery: announce at all, and under which prefix.
	DiscoveryEnabled bool
	DiscoveryPrefix  string
	Pacing           Pacing
	// SinceStart is the documents' TimeStamp (ms).
	SinceStart func() int64
	Log        zerolog.Logger
	// StatusChanged, when set, signals a change of something else the
	// status document carries (the OCPP connection); the status is then
	// published as for a charger change, paced alike.
	StatusChanged func() (<-chan struct{}, func())
}

// DeviceAvailabilityTopic is the topic, relative to the base, where a
// bridged box's own availability is published ("online"/"offline"),
// separate from the bridge's last will on <base>/availability.
const DeviceAvailabilityTopic = "device/availability"

// Surface is the running MQTT surface.
type Surface struct {
	o     Options
	cl    *bridge.Client
	ann   *discovery.Announcer
	base  string
	cfgCh chan settings.Settings
	log   zerolog.Logger

	// mu guards what the run loop and the connect hook (paho's goroutine)
	// both touch.
	mu sync.Mutex
	// lastMeter holds the last published meter documents without their
	// timestamps, so meters that did not move past their deadbands
	// (deadband.go) are not republished before the heartbeat.
	lastMeter [2][]byte
	// maps are the meters' register maps last announced to Home Assistant.
	maps [2]string
	// reach is the device availability last published ("" before any).
	reach string
}

// New subscribes the command topics and hooks the settings; call Run.
// The client must not be started yet, so its first connect publishes
// everything.
func New(ctx context.Context, o Options) *Surface {
	s := &Surface{o: o, cl: o.Client, base: o.Client.Base(), cfgCh: make(chan settings.Settings, 1),
		log: o.Log.With().Str("component", "mqttapi").Logger()}
	s.ann = discovery.NewAnnouncer(o.Client, o.Log)
	s.subscribe(ctx)
	o.Charger.OnApplied(func(st settings.Settings) {
		select {
		case s.cfgCh <- st:
		default:
			select { // replace a pending older value with the newest
			case <-s.cfgCh:
			default:
			}
			s.cfgCh <- st
		}
	})
	o.Client.OnConnect(func() { s.publishAll(true) })
	return s
}

// Run publishes the status when it changes (at most every min interval),
// meters when their values change, everything at least every max
// interval, until ctx ends.
func (s *Surface) Run(ctx context.Context) {
	sub, cancel := s.o.Charger.Subscribe()
	defer cancel()
	var also <-chan struct{} // nil: never
	if s.o.StatusChanged != nil {
		ch, stop := s.o.StatusChanged()
		defer stop()
		also = ch
	}
	p := s.o.Pacing
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
			s.publishReach(false)
		case <-also:
			dirty = true
		case st := <-s.cfgCh:
			s.publishConfig()
			s.announce(st)
			dirty = true
		case <-meters.C:
			s.publishMeters(false)
			if s.mapsChanged() {
				s.announce(s.o.Charger.Settings())
			}
		case <-heartbeat.C:
			s.publishAll(false)
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
		s.PublishStatus()
		last, dirty = time.Now(), false
	}
}

func (s *Surface) publishAll(connect bool) {
	s.PublishStatus()
	s.publishReach(true)
	s.publishConfig()
	s.publishInfo()
	s.publishMeters(true)
	if connect {
		// A broker without persistence lost the retained configs: send
		// what was announced before, then whatever changed since.
		s.ann.Reannounce()
		s.announce(s.o.Charger.Settings())
	}
}

// PublishStatus publishes <base>/status now (the daemon's final, safe
// state on the way out).
func (s *Surface) PublishStatus() {
	s.cl.Publish(s.base+"/status", s.o.Documents.MQTTStatusDocument(), true)
}

// publishReach publishes a bridged box's availability when it changed
// (or always, with force). The local charger has no such topic: its
// availability is the daemon's own.
func (s *Surface) publishReach(force bool) {
	if _, remote := s.o.Charger.(charger.Box); !remote {
		return
	}
	v := "online"
	if s.o.Charger.Status().Unreachable != "" {
		v = "offline"
	}
	s.mu.Lock()
	same := v == s.reach
	s.reach = v
	s.mu.Unlock()
	if same && !force {
		return
	}
	s.cl.Publish(s.base+"/"+DeviceAvailabilityTopic, []byte(v), true)
}

func (s *Surface) publishConfig() {
	s.cl.Publish(s.base+"/config", s.o.Documents.ConfigDocument(), true)
}

func (s *Surface) publishInfo() {
	s.cl.Publish(s.base+"/info", s.o.Documents.InfoDocument(), true)
}

func (s *Surface) publishMeters(force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := 1; n <= 2; n++ {
		shape := s.o.Meters.Document(n, 0)
		if !force && !significant(s.lastMeter[n-1], shape) {
			continue
		}
		s.lastMeter[n-1] = shape
		s.cl.Publish(fmt.Sprintf("%s/meter%d", s.base, n), s.o.Meters.Document(n, s.o.SinceStart()), true)
	}
}

// mapsChanged reports whether a meter's register map changed since the
// last discovery announcement (a detected variant brings more registers).
func (s *Surface) mapsChanged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for n := 1; n <= 2; n++ {
		if m := s.o.Meters.MapName(n); m != s.maps[n-1] {
			changed = true
		}
	}
	return changed
}

// announce (re)builds the discovery configs for the settings in force;
// the announcer publishes only what changed.
func (s *Surface) announce(st settings.Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var regs []discovery.MeterRegister
	for n := 1; n <= 2; n++ {
		s.maps[n-1] = s.o.Meters.MapName(n)
		regs = append(regs, s.o.Meters.Registers(n)...)
	}
	dev := s.o.Device()
	if _, remote := s.o.Charger.(charger.Box); remote {
		dev.DeviceAvailability = DeviceAvailabilityTopic
	}
	msgs, err := discovery.Build(dev, discovery.Options{
		Prefix: s.o.DiscoveryPrefix, Enabled: s.o.DiscoveryEnabled, Meter1Type: st.Meter1Type, Meter2Type: st.Meter2Type, Meters: regs,
	})
	if err != nil {
		s.log.Error().Err(err).Msg("discovery not published")
		return
	}
	s.ann.Announce(msgs)
}

// subscribe registers every command topic and Home Assistant's birth.
// Decoding and the size cap live in the command table, shared with the
// WebAPI; here a topic only becomes a call and its answer a result.
func (s *Surface) subscribe(ctx context.Context) {
	mq := command.Origin{Surface: "mqtt", SupervisorTrusted: true}
	for _, sub := range command.MQTTTopics {
		s.cl.Handle(s.base+"/"+sub, true, func(topic string, p []byte) {
			res := s.o.Commands.MQTT(strings.TrimPrefix(topic, s.base+"/"), p, mq)
			if !res.Quiet {
				s.result(res.Command, res.Transaction, res.Reply)
			}
		})
	}
	if s.o.DiscoveryEnabled {
		s.cl.Handle(discovery.StatusTopic(s.o.DiscoveryPrefix), false, func(_ string, p []byte) {
			go s.ann.HandleHAStatus(ctx, p, nil)
		})
	}
}

// result answers a command on <base>/result (not retained).
func (s *Surface) result(cmd string, tx json.RawMessage, r command.Reply) {
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
		s.log.Error().Err(err).Msg("encoding command result")
		return
	}
	s.cl.Publish(s.base+"/result", bytes.TrimSpace(buf.Bytes()), false)
}
