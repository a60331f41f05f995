package daemon

import (
	"fmt"
	"net/http"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/units"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// buildAPI creates the command table and the WebAPI server on top of the
// controller; MQTT uses the same two.
func (d *Daemon) buildAPI() error {
	d.table = command.New(d.ctrl, command.Services{Reset: d.restart, FactoryDefault: d.factoryDefault}, d.log)
	web, err := webapi.New(webapi.Options{
		Config:      d.cfg.HTTP.Config,
		Controller:  d.ctrl,
		Commands:    d.table,
		Meter:       d.meters.webapi,
		MeterStatus: d.meters.gauge,
		Started:     d.started,
		Version:     d.opts.Version,
		Log:         d.log,
	})
	if err != nil {
		return err
	}
	d.web = web
	return nil
}

// routes serves the WebAPI (with /healthz and /api/v1/status) and, with
// the simulator, /sim/v1/State; /debug/v1/loop shows the control loop's
// timing. Every request is paced (pace.go); health probes and the loop's
// timing have a lane of their own, so a flood of the WebAPI cannot make a
// healthy daemon look dead.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/sim/v1/State", d.web.GuardWrites(simHandler(d.sim)))
	mux.Handle("/", d.web)
	paced := newPacer(httpRate, httpBurst, httpInFlight, httpMaxWait).wrap(mux)
	side := http.NewServeMux()
	side.Handle("/healthz", d.web)
	side.Handle("/debug/v1/loop", loopHandler(d.ctrl))
	return sideLane(paced, newPacer(sideRate, sideBurst, sideInFlight, sideMaxWait).wrap(side), "/healthz", "/debug/v1/loop")
}

// discoveryDevice describes this charger to Home Assistant.
func (d *Daemon) discoveryDevice() discovery.Device {
	return discovery.Device{
		ID:                 d.id,
		SWVersion:          d.opts.Version,
		ConfigURL:          d.webURL() + "/webapi/v1/Status",
		Base:               d.cfg.MQTT.WithDeviceID(d.id).BaseTopic,
		HardwareMaxCurrent: units.Amps(d.cfg.Hardware.MaxCurrent),
		MaxPhaseCurrent:    250,
		MaxControlLimit:    1_000_000,
	}
}

// webURL is how people reach the WebAPI: the listen address, with the
// host's name where it listens on all interfaces.
func (d *Daemon) webURL() string {
	host, port := splitListen(d.cfg.HTTP.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = hostname()
	}
	return fmt.Sprintf("http://%s:%s", host, port)
}
