package daemon

import (
	"fmt"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// openBoard opens the configured hardware: the simulator's devices, or
// the periph driver on a real board. The returned close drives every
// output safe and releases the pins; a board that cannot be opened
// completely is an error (its outputs are left safe), never a half
// start.
func (d *Daemon) openBoard(s settings.Settings) (hw.Board, func(), error) {
	if d.cfg.Hardware.Driver != "periph" {
		return d.sim.Board(), func() {}, nil
	}
	drv, err := periph.OpenHost(d.cfg.Hardware.Periph, "hardware.periph.", periph.Options{LockMethod: hw.LockMethod(s.LockMethod)})
	if err != nil {
		return hw.Board{}, nil, fmt.Errorf("hardware: %w", err)
	}
	drv.Start()
	d.log.Info().Str("adc", d.cfg.Hardware.Periph.ADC.Type).Str("bus", d.cfg.Hardware.Periph.ADC.Bus).Msg("hardware: periph driver started, outputs safe")
	return drv.Board(), func() {
		if err := drv.Close(); err != nil {
			d.log.Error().Err(err).Msg("hardware: closing")
		}
	}, nil
}
