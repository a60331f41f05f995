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
		d.sim.SetPhaseSwitch(d.cfg.Hardware.PhaseSwitch)
		return d.sim.Board(), func() {}, nil
	}
	drv, err := periph.OpenHost(d.cfg.Hardware.Periph, "hardware.periph.", periph.Options{LockMethod: hw.LockMethod(s.LockMethod)})
	if err != nil {
		return hw.Board{}, nil, fmt.Errorf("hardware: %w", err)
	}
	drv.Start()
	d.log.Info().Str("adc", d.cfg.Hardware.Periph.ADC.Type).Str("bus", d.cfg.Hardware.Periph.ADC.Bus).Msg("hardware: periph driver started, outputs safe")
	b := drv.Board()
	switch {
	case !d.cfg.Hardware.PhaseSwitch:
		b.Phases = nil // C2 wired but not in use: never driven
	case b.Phases == nil:
		drv.Close()
		return hw.Board{}, nil, fmt.Errorf("hardware.phase_switch: the periph wiring has no C2 output (hardware.periph)")
	}
	return b, func() {
		if err := drv.Close(); err != nil {
			d.log.Error().Err(err).Msg("hardware: closing")
		}
	}, nil
}
