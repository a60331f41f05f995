package daemon

import (
	"context"
	"sync"

	"github.com/evse-mqtt/evse-mqtt/ocpp"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// startOCPP joins the configured OCPP central system over the charger
// seam and the command table; it returns a function that waits for the
// charge point to stop once ctx ends. Without ocpp.url it does nothing.
func (d *Daemon) startOCPP(ctx context.Context) (wait func(), err error) {
	if !d.cfg.OCPP.Enabled() {
		return func() {}, nil
	}
	c, err := ocpp.New(ocpp.Options{
		Config:   d.cfg.OCPP,
		Charger:  d.ch,
		Commands: d.table,
		StateDir: d.cfg.StateDir,
		DeviceID: d.id,
		Version:  d.opts.Version,
		Log:      d.log,
	})
	if err != nil {
		return nil, err
	}
	d.ocppMu.Lock()
	d.ocpp = c
	d.ocppMu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(ctx) }()
	return wg.Wait, nil
}

// ocppProvider is the surfaces' view of the charge point; nil when OCPP
// is off, so the status documents leave it out.
func (d *Daemon) ocppProvider() func() webapi.OCPPState {
	if !d.cfg.OCPP.Enabled() {
		return nil
	}
	return func() webapi.OCPPState {
		d.ocppMu.Lock()
		c := d.ocpp
		d.ocppMu.Unlock()
		if c == nil {
			return webapi.OCPPState{Connection: ocpp.ConnDisconnected}
		}
		s := c.State()
		return webapi.OCPPState{Connection: s.Connection, Transaction: s.Transaction,
			LocalTransaction: s.LocalTransaction, Queued: s.Queued, Error: s.LastError}
	}
}

// ocppChanged is the MQTT surface's signal that the OCPP state changed;
// nil when OCPP is off.
func (d *Daemon) ocppChanged() func() (<-chan struct{}, func()) {
	d.ocppMu.Lock()
	c := d.ocpp
	d.ocppMu.Unlock()
	if c == nil {
		return nil
	}
	return c.Subscribe
}
