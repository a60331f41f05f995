// Package config is the daemon's YAML configuration: what the installer
// decides (hardware, meters' wiring, MQTT, HTTP, the initial charger
// settings). Defaults live in Defaults, decoding is strict (unknown keys
// are errors) and Validate reports every problem with its field path.
//
// The runtime settings a user changes through the WebAPI or MQTT are not
// written back here: the daemon persists them in its state directory
// (package settings), and they win over the `settings:` section, which
// only provides the values used before anything was changed and after a
// factory reset.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/ocpp"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// Config is the whole configuration file.
type Config struct {
	// DeviceID names this charger in MQTT topics and Home Assistant; empty
	// means a random id generated once and kept in the state directory.
	DeviceID string   `yaml:"device_id"`
	StateDir string   `yaml:"state_dir"`
	Log      Log      `yaml:"log"`
	HTTP     HTTP     `yaml:"http"`
	Hardware Hardware `yaml:"hardware"`
	// Settings are the initial runtime settings (the vendor's
	// SystemConfig fields).
	Settings  settings.Settings `yaml:"settings"`
	Limiter   Limiter           `yaml:"limiter"`
	Meters    Meters            `yaml:"meters"`
	MQTT      bridge.Config     `yaml:"mqtt"`
	Publish   Publish           `yaml:"publish"`
	Discovery Discovery         `yaml:"discovery"`
	Sim       Sim               `yaml:"sim"`
	// OCPP joins an OCPP 1.6J central system (docs/ocpp.md); off while
	// its url is empty.
	OCPP ocpp.Config `yaml:"ocpp"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // trace, debug, info, warn, error
	Format string `yaml:"format"` // auto (console on a terminal, JSON otherwise), console, json
}

// HTTP configures the HTTP server (WebAPI, simulator control, health):
// the listen address and the protection of writes (webapi.Config).
type HTTP struct {
	Listen        string `yaml:"listen"`
	webapi.Config `yaml:",inline"`
}

// Hardware describes the installation.
type Hardware struct {
	Driver      string `yaml:"driver"`      // "sim", "psp" (bridge a PSP EVSE v1.0 box) or "periph" (real pins, hw/periph)
	MaxCurrent  int    `yaml:"max_current"` // per phase, A: the supply and wiring limit
	Ventilation bool   `yaml:"ventilation"` // state D may charge
	// PhaseSwitch says the second contactor C2 (L2/L3) exists: 1p/3p
	// switching (docs/solar.md). The simulator then simulates it.
	PhaseSwitch bool `yaml:"phase_switch"`
	// Phases tunes the switch sequence and its policy.
	Phases PhaseSwitch `yaml:"phases"`
	PSP    PSP         `yaml:"psp"` // with driver psp
	// Periph is the board's wiring with driver: periph (docs/hardware.md).
	Periph periph.Config `yaml:"periph"`
}

// PhaseSwitch tunes 1p/3p switching (controller.PhaseParams).
type PhaseSwitch struct {
	StopWait    time.Duration `yaml:"stop_wait"`    // the car must stop drawing within this (≤ 6s)
	FTime       time.Duration `yaml:"f_time"`       // F held so the car re-initialises (≥ 5s)
	Feedback    time.Duration `yaml:"feedback"`     // C2 feedback within this
	Verify      time.Duration `yaml:"verify"`       // phases confirmed on meter 1 within this
	VerifyAmps  float64       `yaml:"verify_amps"`  // a phase in use carries this much (A)
	Policy      string        `yaml:"policy"`       // one_way (default) or both
	MaxSwitches int           `yaml:"max_switches"` // per plug-in
	MinInterval time.Duration `yaml:"min_interval"` // between switches
	DownAfter   time.Duration `yaml:"down_after"`   // auto: 3p minimum missing this long → 1p
	UpAfter     time.Duration `yaml:"up_after"`     // auto: 3p minimum + up_margin this long → 3p
	UpMargin    int           `yaml:"up_margin"`    // W
}

// PSP configures the bridge to a PSP EVSE v1.0 box (docs/psp.md).
type PSP struct {
	// URL is the box's WebAPI address, http://192.168.0.17; /webapi/v1/
	// is appended.
	URL     string        `yaml:"url"`
	Poll    time.Duration `yaml:"poll"`    // Status every poll
	Timeout time.Duration `yaml:"timeout"` // per request
	// Supervise makes the bridge the box's external supervisor.
	Supervise bool `yaml:"supervise"`
	// ControlMeter is a meter at the connection point that the bridge
	// reads itself (wired as meters.meter2 says), an input of the
	// supervisor beside the leases. Type 0: none.
	ControlMeter PSPMeter `yaml:"control_meter"`
	// Credentials sent with writes, for a box that is the project's own
	// daemon protecting its writes; the vendor's box has none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
}

// Limiter tunes power limiting.
type Limiter struct {
	LeaseTTL   time.Duration `yaml:"lease_ttl"`
	MeterStale time.Duration `yaml:"meter_stale"`
	MinPause   time.Duration `yaml:"min_pause"`
	// MaxPause caps the adaptive pause: after a charging run shorter than
	// ShortRun the next pause's minimum doubles, up to MaxPause.
	MaxPause        time.Duration `yaml:"max_pause"`
	ShortRun        time.Duration `yaml:"short_run"`
	EVResponse      time.Duration `yaml:"ev_response"` // how long a car may lag a reduction
	Fallback        string        `yaml:"fallback"`    // minimum, pause, fixed
	FallbackCurrent int           `yaml:"fallback_current"`
	// SolarImport is what the solar mode may import on top of the
	// surplus, in W (docs/solar.md).
	SolarImport int `yaml:"solar_import"`
	// SolarHold is how long the solar mode holds 6 A over a dip of the
	// surplus before it pauses (0: pause at once).
	SolarHold time.Duration `yaml:"solar_hold"`
}

// Meters holds the wiring details of the two meters (their types and
// addresses are runtime settings).
type Meters struct {
	Meter1 meter.Config `yaml:"meter1"`
	Meter2 meter.Config `yaml:"meter2"`
}

// Publish paces the MQTT state documents.
type Publish struct {
	// MinInterval: a burst of changes gives one status message per interval.
	MinInterval time.Duration `yaml:"min_interval"`
	// MaxInterval: every document is republished at least this often.
	MaxInterval time.Duration `yaml:"max_interval"`
	// MeterInterval: meter documents are published this often when their
	// values changed.
	MeterInterval time.Duration `yaml:"meter_interval"`
}

// Discovery configures Home Assistant discovery.
type Discovery struct {
	Enabled bool   `yaml:"enabled"`
	Prefix  string `yaml:"prefix"`
}

// Sim configures the simulator's Modbus meters.
type Sim struct {
	Meter1Listen string `yaml:"meter1_listen"`
	Meter2Listen string `yaml:"meter2_listen"`
}

// Defaults returns the configuration for everything the file leaves out:
// the simulator with its Modbus meters wired as IP meters, the embedded
// MQTT broker, discovery on.
func Defaults() Config {
	s := settings.Defaults()
	s.Meter1Type, s.Meter1Ip = settings.MeterIPSDM72D, "127.0.0.1:1502"
	s.Meter2Type, s.Meter2Ip = settings.MeterIPSDM72D, "127.0.0.1:1503"
	p := controller.DefaultLimiterParams()
	ph := controller.DefaultPhaseParams()
	return Config{
		Log:  Log{Level: "info", Format: "auto"},
		HTTP: HTTP{Listen: ":8080", Config: webapi.DefaultConfig()},
		Hardware: Hardware{Driver: "sim", MaxCurrent: 32, PSP: PSP{Poll: time.Second, Timeout: 2 * time.Second}, Periph: periph.Defaults(),
			Phases: PhaseSwitch{StopWait: ph.StopWait, FTime: ph.FTime, Feedback: ph.Feedback, Verify: ph.Verify,
				VerifyAmps: float64(ph.VerifyAmps), Policy: "one_way", MaxSwitches: ph.MaxSwitches, MinInterval: ph.MinInterval,
				DownAfter: ph.DownAfter, UpAfter: ph.UpAfter, UpMargin: int(ph.UpMargin)}},
		Settings: s,
		Limiter: Limiter{LeaseTTL: p.LeaseTTL, MeterStale: p.MeterStale, MinPause: p.MinPause,
			MaxPause: p.MaxPause, ShortRun: p.ShortRun, EVResponse: p.EVResponse,
			Fallback: "minimum", FallbackCurrent: int(p.FallbackCurrent), SolarImport: int(p.SolarImport), SolarHold: p.SolarHold},
		MQTT:      bridge.Defaults(),
		Publish:   Publish{MinInterval: time.Second, MaxInterval: 60 * time.Second, MeterInterval: 5 * time.Second},
		Discovery: Discovery{Enabled: true, Prefix: "homeassistant"},
		Sim:       Sim{Meter1Listen: "127.0.0.1:1502", Meter2Listen: "127.0.0.1:1503"},
		OCPP:      ocpp.Defaults(),
	}
}

// Load reads a configuration file on top of the defaults.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Decode(f)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Decode parses YAML strictly on top of the defaults and validates it.
func Decode(r io.Reader) (Config, error) {
	c := Defaults()
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports every problem, each with its field path.
func (c Config) Validate() error {
	var es []error
	add := func(field, format string, a ...any) {
		es = append(es, settings.FieldError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	if c.DeviceID != "" && !validID(c.DeviceID) {
		add("device_id", "only letters, digits, '_' and '-' (it becomes part of MQTT topics), got %q", c.DeviceID)
	}
	switch strings.ToLower(c.Log.Level) {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log.level", "must be trace, debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "console", "json":
	default:
		add("log.format", "must be auto, console or json, got %q", c.Log.Format)
	}
	if c.HTTP.Listen == "" {
		add("http.listen", "must not be empty")
	}
	for _, e := range c.HTTP.Config.Validate("http.") {
		es = append(es, e)
	}
	switch c.Hardware.Driver {
	case "sim":
	case "psp":
		es = append(es, c.Hardware.PSP.validate()...)
	case "periph":
		es = append(es, c.Hardware.Periph.Validate("hardware.periph.")...)
	default:
		add("hardware.driver", "must be sim, psp or periph, got %q", c.Hardware.Driver)
	}
	if c.Hardware.MaxCurrent < settings.MinCurrent || c.Hardware.MaxCurrent > 80 {
		add("hardware.max_current", "must be %d…80 A, got %d", settings.MinCurrent, c.Hardware.MaxCurrent)
	} else {
		for _, e := range c.Settings.Validate("settings.", c.Hardware.MaxCurrent) {
			es = append(es, e)
		}
	}
	if c.Limiter.LeaseTTL < time.Second {
		add("limiter.lease_ttl", "must be at least 1s, got %v", c.Limiter.LeaseTTL)
	}
	if c.Limiter.MeterStale < 500*time.Millisecond {
		add("limiter.meter_stale", "must be at least 500ms, got %v", c.Limiter.MeterStale)
	}
	if c.Limiter.MinPause < 3*time.Second {
		add("limiter.min_pause", "must be at least 3s (IEC 61851 pause in X1), got %v", c.Limiter.MinPause)
	}
	if c.Limiter.MaxPause < 0 || c.Limiter.ShortRun < 0 || c.Limiter.EVResponse < 0 || c.Limiter.EVResponse > 30*time.Second {
		add("limiter", "max_pause and short_run must not be negative, ev_response must be 0…30s")
	} else if err := c.Params().Limiter.Validate(); err != nil {
		add("limiter", "%v", err)
	}
	if c.Hardware.PhaseSwitch {
		if c.Hardware.Driver == "psp" {
			add("hardware.phase_switch", "a bridged PSP box switches no phases")
		}
		if pol := c.Hardware.Phases.Policy; pol != "one_way" && pol != "both" {
			add("hardware.phases.policy", "must be one_way or both, got %q", pol)
		} else if err := c.Params().Phases.Validate(); err != nil {
			add("hardware.phases", "%v", err)
		}
	}
	switch c.Limiter.Fallback {
	case "minimum", "pause":
	case "fixed":
		if c.Limiter.FallbackCurrent < settings.MinCurrent || c.Limiter.FallbackCurrent > c.Hardware.MaxCurrent {
			add("limiter.fallback_current", "must be %d…%d A, got %d", settings.MinCurrent, c.Hardware.MaxCurrent, c.Limiter.FallbackCurrent)
		}
	default:
		add("limiter.fallback", "must be minimum, pause or fixed, got %q", c.Limiter.Fallback)
	}
	for _, m := range []struct {
		name string
		cfg  meter.Config
		typ  int
		ip   string
	}{{"meters.meter1", c.Meters.Meter1, c.Settings.Meter1Type, c.Settings.Meter1Ip}, {"meters.meter2", c.Meters.Meter2, c.Settings.Meter2Type, c.Settings.Meter2Ip}} {
		t := meter.Type(m.typ)
		if !t.IsMeter() {
			continue
		}
		if err := m.cfg.Resolve(t, m.name == "meters.meter2").Validate(m.name, t, m.ip); err != nil {
			es = append(es, err)
		}
	}
	if m := c.Hardware.PSP.ControlMeter; c.Hardware.Driver == "psp" && settings.IsModbusMeter(m.Type) {
		t := meter.Type(m.Type)
		if err := c.Meters.Meter2.Resolve(t, true).Validate("hardware.psp.control_meter", t, m.Address); err != nil {
			es = append(es, err)
		}
	}
	if err := c.OCPP.Validate("ocpp"); err != nil {
		es = append(es, err)
	}
	if err := c.MQTT.Validate("mqtt"); err != nil {
		es = append(es, err)
	}
	if c.Publish.MinInterval < 0 || c.Publish.MinInterval > time.Minute {
		add("publish.min_interval", "must be 0…1m, got %v", c.Publish.MinInterval)
	}
	if c.Publish.MaxInterval < time.Second || c.Publish.MaxInterval < c.Publish.MinInterval {
		add("publish.max_interval", "must be at least 1s and at least min_interval, got %v", c.Publish.MaxInterval)
	}
	if c.Publish.MeterInterval < 100*time.Millisecond {
		add("publish.meter_interval", "must be at least 100ms, got %v", c.Publish.MeterInterval)
	}
	if c.Discovery.Prefix == "" || strings.ContainsAny(c.Discovery.Prefix, "#+") {
		add("discovery.prefix", "must be a topic without wildcards, got %q", c.Discovery.Prefix)
	}
	return errors.Join(es...)
}

// Params returns the controller parameters this configuration describes.
func (c Config) Params() controller.Params {
	p := controller.DefaultParams()
	p.HardwareMax = units.Amps(c.Hardware.MaxCurrent)
	p.Ventilation = c.Hardware.Ventilation
	p.Limiter.LeaseTTL = c.Limiter.LeaseTTL
	p.Limiter.MeterStale = c.Limiter.MeterStale
	p.Limiter.MinPause = c.Limiter.MinPause
	p.Limiter.MaxPause = c.Limiter.MaxPause
	p.Limiter.ShortRun = c.Limiter.ShortRun
	p.Limiter.EVResponse = c.Limiter.EVResponse
	p.Limiter.SolarImport = units.Watts(c.Limiter.SolarImport)
	p.Limiter.SolarHold = c.Limiter.SolarHold
	p.PhaseSwitch = c.Hardware.PhaseSwitch
	ph := c.Hardware.Phases
	p.Phases = controller.PhaseParams{StopWait: ph.StopWait, FTime: ph.FTime, Feedback: ph.Feedback, Verify: ph.Verify,
		VerifyAmps: units.Amps(ph.VerifyAmps), BothWays: ph.Policy == "both", MaxSwitches: ph.MaxSwitches,
		MinInterval: ph.MinInterval, DownAfter: ph.DownAfter, UpAfter: ph.UpAfter, UpMargin: units.Watts(ph.UpMargin)}
	switch c.Limiter.Fallback {
	case "pause":
		p.Limiter.Fallback = controller.FallbackPause
	case "fixed":
		p.Limiter.Fallback = controller.FallbackFixed
		p.Limiter.FallbackCurrent = units.Amps(c.Limiter.FallbackCurrent)
	}
	return p
}

// PSPMeter is the bridge's own control meter: a Meter2Type (1–6) and, for
// the IP types, its address.
type PSPMeter struct {
	Type    int    `yaml:"type"`
	Address string `yaml:"address"`
}

// validate checks the psp section (only with driver psp).
func (p PSP) validate() []error {
	var es []error
	add := func(field, format string, a ...any) {
		es = append(es, settings.FieldError{Field: "hardware.psp." + field, Reason: fmt.Sprintf(format, a...)})
	}
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		add("url", "must be the box's address, e.g. http://192.168.0.17")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("url", "must be http://host[:port], got %q", clipText(p.URL))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		add("url", "must be the box's address without path, query or credentials, got %q", clipText(p.URL))
	}
	if p.Poll < 100*time.Millisecond || p.Poll > time.Minute {
		add("poll", "must be 100ms…1m, got %v", p.Poll)
	}
	if p.Timeout < 100*time.Millisecond || p.Timeout > 30*time.Second {
		add("timeout", "must be 100ms…30s, got %v", p.Timeout)
	}
	if (p.Username == "") != (p.Password == "") {
		add("username", "username and password go together")
	}
	if p.Token != "" && p.Username != "" {
		add("token", "give a token or username/password, not both")
	}
	if m := p.ControlMeter; m.Type != 0 {
		if !settings.IsModbusMeter(m.Type) {
			add("control_meter.type", "must be 0 (none) or a meter type 1…6, got %d", m.Type)
		} else if !p.Supervise {
			add("control_meter", "needs supervise: true (the bridge limits the box only as its supervisor)")
		}
	}
	return es
}

// clipText bounds a value echoed in an error.
func clipText(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func validID(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return s != ""
}
