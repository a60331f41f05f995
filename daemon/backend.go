package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/internal/tick"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspcharger"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// backend is the charger the daemon started: the local controller on the
// simulator, or a bridged PSP box. The surfaces see only d.ch.
type backend struct {
	name    string // for the log: "simulator", "PSP box http://…"
	stopped string // what stopping left behind, for the log
	wait    func() // after ctx ended: returns once the backend stopped
	finish  func() // after MQTT stopped: save what must survive
}

// meterSource is a backend's two meters, for the WebAPI and MQTT.
type meterSource interface {
	Document(n int, timestampMs int64) []byte
	Registers(n int) []discovery.MeterRegister
	MapName(n int) string
	Gauge(n int) int
}

// startBackend starts the configured backend (hardware.driver).
func (d *Daemon) startBackend(ctx context.Context) (backend, error) {
	if d.cfg.Hardware.Driver == "psp" {
		return d.startPSP(ctx)
	}
	return d.startLocal(ctx)
}

// localCharger is the controller with the simulator's /sim/v1/State.
type localCharger struct {
	*controller.Controller
	sim *sim.Sim
}

// SimHandler serves /sim/v1/State (charger.Simulator).
func (l localCharger) SimHandler() http.Handler { return simHandler(l.sim) }

// startLocal runs the controller on the simulator: settings and energy
// from the state directory, the control loop, the meters.
func (d *Daemon) startLocal(ctx context.Context) (backend, error) {
	cfg := d.cfg
	var err error
	if d.id, err = deviceID(cfg); err != nil {
		return backend{}, fmt.Errorf("device id: %w", err)
	}
	if d.store, err = settings.NewStore(cfg.StateDir); err != nil {
		return backend{}, err
	}
	s := d.loadSettings(cfg)
	if d.energy, err = loadEnergy(cfg.StateDir); err != nil {
		// A statistics file must not keep the charger from working: keep
		// the unreadable file for inspection and count from zero.
		d.log.Error().Err(err).Msg("energy counter unreadable; kept as energy.json.corrupt, counting from 0")
		path := filepath.Join(cfg.StateDir, "energy.json")
		_ = os.Rename(path, path+".corrupt")
		d.energy = &energyCounter{path: path}
	}

	// The simulator stands in for the hardware unless real pins are
	// configured; then there is no /sim/v1, no simulated meter and
	// nothing simulated is ticked.
	name, sample := "simulator", func(time.Time) {}
	d.sim = sim.New(time.Now())
	board, closeHW, err := d.openBoard(s)
	if err != nil {
		return backend{}, err
	}
	m := controller.NewMachine(board, cfg.Params(), s)
	mf := newModeFile(cfg.StateDir)
	mode, err := mf.load()
	if err != nil {
		d.log.Error().Err(err).Msg("charging mode unreadable; mode now until it is set again")
	}
	_ = m.SetMode(mode, time.Time{}) // a parsed mode is always valid
	d.ctrl = controller.New(m, d.store.Save, d.log)
	d.ctrl.SetModeStore(mf.save)
	if cfg.Hardware.Driver == "periph" {
		name = "periph board"
		d.ch = d.ctrl
	} else {
		sample = d.sim.Tick
		d.ch = localCharger{d.ctrl, d.sim}
	}
	d.meters = newMeters(ctx, cfg.Meters, d.ctrl, d.log)
	d.docs = localMeters{d.meters}
	d.svc = command.Services{Reset: d.restart, FactoryDefault: d.factoryDefault}

	lctx, lcancel := context.WithCancel(ctx)
	// The loop's goroutine waits for the clock itself and advances the
	// simulator before each step: one wake-up per tick, and no hand-over
	// for request handling to delay (README, "Control loop under load").
	clk, err := tick.New(TickPeriod)
	if err != nil {
		lcancel()
		closeHW()
		return backend{}, fmt.Errorf("control loop clock: %w", err)
	}
	loopDone := make(chan struct{})
	first, unsub := d.ctrl.Subscribe()
	go func() {
		defer close(loopDone)
		defer clk.Close()
		d.ctrl.RunClock(lctx, clk, sample)
	}()
	// Serve nothing before the loop has stepped once: /healthz and the
	// WebAPI then always see a real snapshot.
	select {
	case <-first:
	case <-loopDone:
	}
	unsub()

	stopSim := func() {}
	if cfg.Hardware.Driver != "periph" {
		if stopSim, err = d.startSimMeters(); err != nil {
			lcancel()
			<-loopDone
			closeHW()
			return backend{}, err
		}
	}
	d.meters.apply(s)
	d.addSettingsHook(d.meters.post)

	energyDone := make(chan struct{})
	go func() {
		defer close(energyDone)
		d.energyLoop(lctx)
	}()
	return backend{
		name:    name,
		stopped: "contactor open, pilot steady, state saved",
		wait: func() {
			lcancel()
			<-loopDone
			<-energyDone
			closeHW() // after the loop has halted the board: outputs safe on every way out
		},
		finish: func() {
			stopSim()
			d.meters.close()
			d.energy.observe(d.ctrl.Status().LifetimeEnergy)
			if serr := d.energy.save(); serr != nil {
				d.log.Error().Err(serr).Msg("saving energy counter")
			}
		},
	}, nil
}

// localMeters are the controller's Modbus meters.
type localMeters struct{ ms *meters }

func (l localMeters) Document(n int, ts int64) []byte { return l.ms.webapi(n, ts) }
func (l localMeters) MapName(n int) string            { return l.ms.mapName(n) }
func (l localMeters) Gauge(n int) int                 { return l.ms.gauge(n) }

// Registers are power, energy and per-phase values only; the rest stays
// in <base>/meterN.
func (l localMeters) Registers(n int) []discovery.MeterRegister {
	var regs []discovery.MeterRegister
	for _, r := range l.ms.registers(n) {
		if r.Role == meter.RoleNone {
			continue
		}
		regs = append(regs, discovery.MeterRegister{Meter: n, Key: r.Key(), Desc: r.Desc, Unit: r.Unit})
	}
	return regs
}

// boxMeters are the meters a bridged box reads itself.
type boxMeters struct{ c *pspcharger.Charger }

func (b boxMeters) Document(n int, ts int64) []byte { return b.c.MeterDocument(n, ts) }
func (b boxMeters) Registers(n int) []discovery.MeterRegister {
	return b.c.MeterRegisters(n)
}
func (b boxMeters) MapName(n int) string {
	return fmt.Sprint(len(b.c.MeterRegisters(n))) // more registers read: announce again
}
func (b boxMeters) Gauge(n int) int { return b.c.MeterGauge(n) }

// identifyWithin is how long the bridge waits for the box's SystemInfo at
// start when it already knows the box's device id from an earlier run.
const identifyWithin = 5 * time.Second

// startPSP bridges a PSP box: the client, the polling (and supervising)
// loop, and the device id from the box's MAC.
func (d *Daemon) startPSP(ctx context.Context) (backend, error) {
	p := d.cfg.Hardware.PSP
	cl, err := pspbox.New(pspbox.Options{URL: p.URL, Timeout: p.Timeout, HardwareMax: d.cfg.Hardware.MaxCurrent,
		Username: p.Username, Password: p.Password, Token: p.Token})
	if err != nil {
		return backend{}, err
	}
	cm := p.ControlMeter
	pc, err := pspcharger.New(pspcharger.Options{Client: cl, Poll: p.Poll, Supervise: p.Supervise,
		ControlMeter: settings.IsModbusMeter(cm.Type),
		Limiter:      d.cfg.Params().Limiter, HardwareMax: units.Amps(d.cfg.Hardware.MaxCurrent), Log: d.log})
	if err != nil {
		return backend{}, err
	}
	bctx, bcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc.Run(bctx)
	}()
	links := meter.NewLinks(d.log)
	stop := func() {
		bcancel()
		<-done
		cl.Close()
		_ = links.Close()
	}
	if settings.IsModbusMeter(cm.Type) {
		// The bridge's own control meter: the box no longer reads one on
		// Meter2 once it is supervised (Meter2Type 7).
		mp, err := meter.NewPoller(meter.Options{Name: "ControlMeter", Type: meter.Type(cm.Type), Address: cm.Address,
			Control: true, Config: d.cfg.Meters.Meter2, Links: links, Log: d.log, OnReading: pc.SetControlMeter})
		if err != nil {
			stop()
			return backend{}, fmt.Errorf("hardware.psp.control_meter: %w", err)
		}
		go mp.Run(bctx)
	}
	if d.id, err = d.boxDeviceID(ctx, pc); err != nil {
		stop()
		return backend{}, err
	}
	d.ch = pc
	d.docs = boxMeters{pc}
	service := func(code string) func() error { return func() error { return pc.Service(code) } }
	d.svc = command.Services{Reset: service(pspbox.SCodeReset), FactoryDefault: service(pspbox.SCodeFactoryDefault),
		WiFiSetToAP: service(pspbox.SCodeWiFiSetToAP)}
	mode := ""
	if p.Supervise {
		mode = ", supervising"
	}
	return backend{
		name:    "PSP box " + cl.URL() + mode,
		stopped: "the box keeps running on its own",
		wait:    stop,
		finish:  func() {},
	}, nil
}

// boxDeviceID is the configured device id, else one from the box's MAC.
// The id is kept in the state directory, so a bridge started while the
// box is away keeps its topics; the first start waits for the box.
func (d *Daemon) boxDeviceID(ctx context.Context, pc *pspcharger.Charger) (string, error) {
	if d.cfg.DeviceID != "" {
		return d.cfg.DeviceID, nil
	}
	path := filepath.Join(d.cfg.StateDir, "box_device_id")
	var known string
	if b, err := os.ReadFile(path); err == nil {
		known = strings.TrimSpace(string(b))
	}
	var within <-chan time.Time
	if known != "" {
		within = time.After(identifyWithin)
	} else {
		d.log.Info().Str("box", pc.URL()).Msg("waiting for the box to learn its MAC (the device id)")
	}
	select {
	case <-pc.Ready():
	case <-within:
		d.log.Warn().Str("device", known).Msg("box not identified yet; using the device id of an earlier run")
		return known, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
	id := macID(pc.Identity().MAC)
	if id != known {
		if err := settings.WriteFileAtomic(path, []byte(id+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	return id, nil
}

// macID names a box by its MAC: psp-e0e2e652aad4.
func macID(mac string) string {
	return "psp-" + strings.ToLower(strings.ReplaceAll(mac, ":", ""))
}

var _ charger.Simulator = localCharger{}
