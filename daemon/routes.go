package daemon

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/openapi"
	"github.com/evse-mqtt/evse-mqtt/units"
	"github.com/evse-mqtt/evse-mqtt/webapi"
	"github.com/evse-mqtt/evse-mqtt/webui"
	"github.com/evse-mqtt/evse-mqtt/wifiinfo"
)

// buildAPI creates the command table and the WebAPI server on top of the
// controller; MQTT uses the same two.
func (d *Daemon) buildAPI() error {
	if err := d.apiToken(); err != nil {
		return err
	}
	d.table = command.New(d.ch, d.svc, d.log)
	web, err := webapi.New(webapi.Options{
		Config:         d.cfg.HTTP.Config,
		Controller:     d.ch,
		Commands:       d.table,
		Meter:          d.docs.Document,
		MeterStatus:    d.docs.Gauge,
		Started:        d.started,
		Version:        d.opts.Version,
		Log:            d.log,
		MQTT:           d.mqttState,
		OCPP:           d.ocppProvider(),
		Session:        func(r *http.Request) bool { return d.ui.Session(r) },
		LifetimeEnergy: d.lifetimeWh,
		Host:           wifiinfo.New(webapi.NewSystemHost("/proc", time.Now), time.Now), // SSID via nl80211
	})
	if err != nil {
		return err
	}
	d.web = web
	d.ui, err = webui.New(webui.Options{Status: web.StatusJSON, Subscribe: d.ch.Subscribe, Login: web.Login,
		BadCredentials: webapi.ErrBadCredentials, Busy: webapi.ErrBusy, NeedsCredentials: web.NeedsCredentials, Log: d.log})
	d.metrics = d.newMetrics()
	d.table.SetObserver(func(o command.Origin, r command.Reply) { d.metrics.Command(o.Surface, command.Result(r)) })
	return err
}

// RoutePatterns are every pattern the daemon's mux serves; "/" is the
// WebAPI, which answers its own paths (openapi.Paths) and a JSON 404.
// routes refuses to register a pattern missing here, so the guard audit
// (e2e/audit_test.go), which writes to every one, cannot miss a route.
// /healthz and /debug/v1/loop are served GET-only in a lane of their own.
var RoutePatterns = append(append([]string{"/sim/v1/State"}, webui.Patterns...),
	"GET /metrics", "GET /api/openapi.json", "/")

// routes serves the WebAPI (with /healthz and /api/v1/status), the page
// and its streams, /metrics, the OpenAPI description and, with a
// simulator, /sim/v1/State; /debug/v1/loop shows the control loop's
// timing. Every request is paced (pace.go); health probes and the loop's
// timing have a lane of their own, so a flood of the WebAPI cannot make a
// healthy daemon look dead.
func (d *Daemon) routes() http.Handler {
	mux := listedMux{http.NewServeMux()}
	if s, ok := d.ch.(charger.Simulator); ok {
		mux.Handle("/sim/v1/State", d.web.GuardWrites(s.SimHandler()))
	}
	d.ui.Register(mux)
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.Handle("GET /api/openapi.json", openapi.Handler())
	mux.Handle("/", d.web)
	paced := newPacer(httpRate, httpBurst, httpInFlight, httpMaxWait).wrap(mux.ServeMux)
	side := http.NewServeMux()
	side.Handle("/healthz", d.web)
	if d.ctrl != nil { // the local controller; a bridged box has no loop here
		side.Handle("/debug/v1/loop", loopHandler(d.ctrl))
	}
	return sideLane(paced, newPacer(sideRate, sideBurst, sideInFlight, sideMaxWait).wrap(side), "/healthz", "/debug/v1/loop")
}

// listedMux registers only the patterns of RoutePatterns.
type listedMux struct{ *http.ServeMux }

func (m listedMux) Handle(pattern string, h http.Handler) {
	if !slices.Contains(RoutePatterns, pattern) {
		panic("daemon: route " + pattern + " is not in RoutePatterns (the guard audit enumerates them)")
	}
	m.ServeMux.Handle(pattern, h)
}

// discoveryDevice describes this charger to Home Assistant: a bridged
// box as itself (model, product type, firmware, address), the simulator
// as this daemon.
func (d *Daemon) discoveryDevice() discovery.Device {
	if b, ok := d.ch.(charger.Box); ok {
		id := b.Identity()
		return discovery.Device{
			ID:                 d.id,
			Model:              BoxModel,
			ModelID:            id.ProductType,
			SWVersion:          id.SystemVersion,
			OriginVersion:      d.opts.Version,
			ConfigURL:          b.URL(),
			Base:               d.cfg.MQTT.WithDeviceID(d.id).BaseTopic,
			HardwareMaxCurrent: units.Amps(d.cfg.Hardware.MaxCurrent),
			MaxPhaseCurrent:    250,
			MaxControlLimit:    1_000_000,
		}
	}
	return discovery.Device{
		ID:                 d.id,
		SWVersion:          d.opts.Version,
		ConfigURL:          d.webURL() + "/",
		Base:               d.cfg.MQTT.WithDeviceID(d.id).BaseTopic,
		HardwareMaxCurrent: units.Amps(d.cfg.Hardware.MaxCurrent),
		MaxPhaseCurrent:    250,
		MaxControlLimit:    1_000_000,
		Modes:              isModes(d.ch),
		LifetimeEnergy:     d.energy != nil,
		PhaseSwitch:        d.cfg.Hardware.PhaseSwitch && d.cfg.Hardware.Driver != "psp",
	}
}

func isModes(c charger.Charger) bool { _, ok := c.(charger.Modes); return ok }

// webURL is how people reach the WebAPI: the listen address, with the
// host's name where it listens on all interfaces.
func (d *Daemon) webURL() string {
	host, port := splitListen(d.cfg.HTTP.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = hostname()
	}
	return fmt.Sprintf("http://%s:%s", host, port)
}

// BoxModel is a bridged box's model in Home Assistant.
const BoxModel = "PSP EVSE v1.0"

// lifetimeWh is the persisted lifetime energy counter (nil for a bridged
// box, which has its own).
func (d *Daemon) lifetimeWh() float64 {
	if d.energy == nil {
		return math.NaN()
	}
	return float64(d.energy.total())
}
