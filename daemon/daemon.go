// Package daemon wires the evse-mqtt daemon together: configuration,
// state directory, the charger backend (the controller on the simulator,
// or a bridged PSP box: backend.go), meters, the HTTP server and the MQTT
// surface.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/config"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/httpserve"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/meter/simmeter"
	"github.com/evse-mqtt/evse-mqtt/metrics"
	"github.com/evse-mqtt/evse-mqtt/ocpp"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/webapi"
	"github.com/evse-mqtt/evse-mqtt/webui"
)

// TickPeriod is the control loop's period: pilot sampling, debouncing and
// every deadline of the state machine are judged at this resolution.
const TickPeriod = 10 * time.Millisecond

// Options are the command line's choices; empty fields keep the
// configuration file's values.
type Options struct {
	ConfigPath string
	StateDir   string
	HTTPListen string
	MQTTURL    string
	LogLevel   string
	Version    string
}

// LoadConfig reads the configuration named by o (or the defaults when
// there is no file) and applies the command line's overrides.
func LoadConfig(o Options) (config.Config, error) {
	cfg := config.Defaults()
	if o.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(o.ConfigPath); err != nil {
			return cfg, err
		}
	}
	if o.StateDir != "" {
		cfg.StateDir = o.StateDir
	}
	if o.HTTPListen != "" {
		cfg.HTTP.Listen = o.HTTPListen
	}
	if o.MQTTURL != "" {
		cfg.MQTT.URL = o.MQTTURL
	}
	if o.LogLevel != "" {
		cfg.Log.Level = o.LogLevel
	}
	if cfg.StateDir == "" {
		cfg.StateDir = defaultStateDir()
	}
	return cfg, cfg.Validate()
}

func defaultStateDir() string {
	if d := systemdStateDir(); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "evse-mqtt")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" && h != "/" {
		return filepath.Join(h, ".local", "state", "evse-mqtt")
	}
	return "evse-state"
}

// deviceID returns the configured id or one generated once and kept in
// the state directory, so topics and Home Assistant entities stay stable.
func deviceID(cfg config.Config) (string, error) {
	if cfg.DeviceID != "" {
		return cfg.DeviceID, nil
	}
	path := filepath.Join(cfg.StateDir, "device_id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	}
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "evse-" + hex.EncodeToString(r[:])
	return id, settings.WriteFileAtomic(path, []byte(id+"\n"), 0o644)
}

// Daemon is one running evse-mqtt.
type Daemon struct {
	opts    Options
	log     zerolog.Logger
	cfg     config.Config
	id      string
	started time.Time

	store   *settings.Store
	energy  *energyCounter
	sim     *sim.Sim
	ctrl    *controller.Controller // the local backend; nil when bridging a box
	meters  *meters
	ch      charger.Charger // the backend the surfaces serve
	docs    meterSource     // its meters' documents
	svc     command.Services
	table   *command.Table
	web     *webapi.Server
	ui      *webui.UI
	metrics *metrics.Metrics

	initMu  sync.Mutex
	initial settings.Settings // the configuration's settings: what FactoryDefault restores

	mqtt mqttLink // the broker connection, for /healthz and the status

	ocppMu sync.Mutex
	ocpp   *ocpp.Client // the OCPP charge point; nil when off (ocpp.go)
}

// Run runs the daemon until ctx ends, then stops it safely: contactor
// open, pilot steady, energy counter saved.
func Run(ctx context.Context, o Options, log zerolog.Logger) error {
	cfg, err := LoadConfig(o)
	if err != nil {
		return err
	}
	d := &Daemon{opts: o, log: log, cfg: cfg, started: time.Now()}
	return d.run(ctx)
}

func (d *Daemon) run(ctx context.Context) error {
	cfg := d.cfg
	if err := prepareStateDir(cfg.StateDir); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b, err := d.startBackend(ctx)
	if err != nil {
		return err
	}
	if err := d.buildAPI(); err != nil {
		cancel()
		b.wait()
		return err
	}
	waitOCPP, err := d.startOCPP(ctx)
	if err != nil {
		cancel()
		b.wait()
		return fmt.Errorf("ocpp: %w", err)
	}
	defer waitOCPP()
	go d.ui.Run(ctx)
	srv, ln, err := d.listenHTTP()
	if err != nil {
		cancel()
		b.wait()
		return err
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()

	// A failed MQTT start is reported (log, /healthz) but is not the
	// daemon's exit status: the charger itself runs.
	stopMQTT, mqttErr := d.startMQTT(ctx)
	if mqttErr != nil {
		d.mqttFailed(mqttErr)
		d.log.Error().Err(mqttErr).Msg("MQTT not started; the charger runs without it")
	}

	d.log.Info().Str("device", d.id).Str("http", ln.Addr().String()).Str("state_dir", cfg.StateDir).
		Str("version", d.opts.Version).Msg("evse-mqtt running (" + b.name + ")")
	defer d.notifySystemd(ctx)()

	select {
	case <-ctx.Done():
	case err = <-httpDone:
		d.log.Error().Err(err).Msg("HTTP server stopped")
	}
	cancel()
	b.wait() // the loop halts the hardware first, on its way out
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if stopMQTT != nil {
		stopMQTT() // publishes the final, halted status, then offline
	}
	b.finish()
	d.log.Info().Msg("stopped: " + b.stopped)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// loadSettings returns the persisted runtime settings, or the
// configuration's initial settings when none were persisted or the
// persisted ones no longer fit this installation.
func (d *Daemon) loadSettings(cfg config.Config) settings.Settings {
	d.initMu.Lock()
	d.initial = cfg.Settings
	d.initMu.Unlock()
	s, err := d.store.Load(cfg.Settings)
	switch {
	case errors.Is(err, settings.ErrNoSettings):
		return cfg.Settings
	case err != nil:
		d.log.Error().Err(err).Msg("persisted settings unreadable; using the configuration's")
		return cfg.Settings
	}
	if es := s.Validate("", cfg.Hardware.MaxCurrent); len(es) > 0 {
		d.log.Error().Err(es).Msg("persisted settings invalid for this installation; using the configuration's")
		return cfg.Settings
	}
	return s
}

// addSettingsHook makes h follow every settings change once it is in
// force (see controller.OnApplied).
func (d *Daemon) addSettingsHook(h func(settings.Settings)) { d.ctrl.OnApplied(h) }

func (d *Daemon) energyLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.energy.observe(d.ctrl.Status().LifetimeEnergy)
			if n++; n%30 == 0 {
				if err := d.energy.save(); err != nil {
					d.log.Error().Err(err).Msg("saving energy counter")
				}
			}
		}
	}
}

func (d *Daemon) startSimMeters() (func(), error) {
	phases := func(f func() [3]sim.Phase) simmeter.Source {
		return func() simmeter.Phases {
			var p simmeter.Phases
			for i, ph := range f() {
				p.Voltage[i], p.Current[i], p.Power[i] = ph.Voltage, ph.Current, ph.Power
			}
			return p
		}
	}
	var servers []*simmeter.Server
	stop := func() {
		for _, s := range servers {
			_ = s.Stop()
		}
	}
	for _, m := range []struct {
		addr string
		src  simmeter.Source
	}{{d.cfg.Sim.Meter1Listen, phases(d.sim.EVPhases)}, {d.cfg.Sim.Meter2Listen, phases(d.sim.SitePhases)}} {
		if m.addr == "" {
			continue
		}
		s, err := simmeter.New(simmeter.Options{Addr: m.addr, Source: m.src, Log: d.log})
		if err == nil {
			err = s.Start()
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("simulated meter on %s: %w (set sim.meter1_listen/meter2_listen, or \"\" to disable)", m.addr, err)
		}
		servers = append(servers, s)
	}
	return stop, nil
}

func (d *Daemon) listenHTTP() (*http.Server, net.Listener, error) {
	return httpserve.Listen(d.cfg.HTTP.Listen, d.routes(), httpserve.DefaultLimits(), d.log)
}

// sinceStart is the WebAPI's TimeStamp: ms since the process started.
func (d *Daemon) sinceStart() int64 { return time.Since(d.started).Milliseconds() }

// restart is SystemInfo Reset: re-read the configuration, open the
// contactor and start a fresh controller in-process. What the controller
// and the meters use is taken from the new file (hardware, limiter,
// settings, meter wiring); listeners and MQTT keep running as they are.
func (d *Daemon) restart() error {
	cfg, err := LoadConfig(d.opts)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// The meters restart with the new wiring when the fresh controller's
	// settings are applied (the OnApplied hook).
	d.meters.reconfigure(cfg.Meters)
	return d.ctrl.Restart(cfg.Params(), func() settings.Settings { return d.loadSettings(cfg) })
}

// factoryDefault restores the configuration's initial settings.
func (d *Daemon) factoryDefault() error {
	d.initMu.Lock()
	s := d.initial
	d.initMu.Unlock()
	return d.ctrl.ReplaceSettings(s)
}

func splitListen(listen string) (host, port string) {
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "8080"
	}
	return h, p
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
