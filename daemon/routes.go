package daemon

import (
	"fmt"
	"net/http"
	"time"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/units"
	"github.com/evse-mqtt/evse-mqtt/webapi"
	"github.com/evse-mqtt/evse-mqtt/wifiinfo"
)

// buildAPI creates the command table and the WebAPI server on top of the
// controller; MQTT uses the same two.
func (d *Daemon) buildAPI() error {
	if err := d.apiToken(); err != nil {
		return err
	}
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
		MQTT:        d.mqttState,
		Host:        wifiinfo.New(webapi.NewSystemHost("/proc", time.Now), time.Now), // SSID via nl80211
	})
	if err != nil {
		return err
	}
	d.web = web
	return nil
}

// routes serves the WebAPI (with /healthz and /api/v1/status) and, with
// the simulator, /sim/v1/State.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/sim/v1/State", d.web.GuardWrites(simHandler(d.sim)))
	mux.Handle("/", d.web)
	return mux
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
