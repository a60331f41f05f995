package controller

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Mode is the charging mode (issue 12). The zero value is ModeNow, which
// keeps the behaviour the daemon had before modes existed.
type Mode int8

// Charging modes. ControlStrategy/ControlLimit still bound the site's
// import in every one of them.
const (
	ModeNow      Mode = iota // as fast as the limits allow
	ModeOff                  // no charging
	ModeSolar                // surplus only, plus LimiterParams.SolarImport
	ModeMinSolar             // 6 A at least, more from the surplus
	numModes
)

var modeNames = [numModes]string{"now", "off", "solar", "minsolar"}

// ModeNames lists the modes as MQTT and HTTP spell them, in the order a
// Home Assistant select offers them.
func ModeNames() []string { return []string{"off", "now", "solar", "minsolar"} }

// String names the mode ("now", "off", "solar", "minsolar").
func (m Mode) String() string {
	if m < 0 || m >= numModes {
		return "unknown"
	}
	return modeNames[m]
}

// Solar reports whether the mode follows the surplus.
func (m Mode) Solar() bool { return m == ModeSolar || m == ModeMinSolar }

// ErrMode is a mode name that is not one of ModeNames.
var ErrMode = errors.New("unknown charging mode")

// ParseMode reads a mode name, case-insensitively.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Mode(i), nil
		}
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return ModeNow, fmt.Errorf("%w %q: use off, now, solar or minsolar", ErrMode, s)
}

// SetMode puts a charging mode in force. Off ends the session at once (the
// PWM is withdrawn; the contactor opens when the car stops).
func (m *Machine) SetMode(mode Mode, now time.Time) error {
	if mode < 0 || mode >= numModes {
		return fmt.Errorf("%w %d", ErrMode, mode)
	}
	m.mode = mode
	if mode == ModeOff {
		m.endSession(now)
	}
	return nil
}

// Mode returns the charging mode in force.
func (m *Machine) Mode() Mode { return m.mode }

// ErrNoGridFeed is a grid reading pushed while Meter2Type is not 8.
var ErrNoGridFeed = errors.New("grid readings need Meter2Type 8 (grid feed)")

// GridReading is one pushed reading of the control meter: the site's
// power (import positive) and, optionally, its phase currents, signed like
// the power (negative while that phase exports).
type GridReading struct {
	Power     units.Watts
	Currents  [3]units.Amps
	HasPhases bool
}

// SetGrid takes a pushed control-meter reading (Meter2Type 8), stamped
// with now: it goes stale after LimiterParams.MeterStale like a Modbus
// meter's.
func (m *Machine) SetGrid(g GridReading, now time.Time) error {
	if m.set.Meter2Type != settings.MeterGridFeed {
		return ErrNoGridFeed
	}
	r := hw.MeterReading{At: now, Power: g.Power, HasPhases: g.HasPhases}
	if g.HasPhases {
		for i, a := range g.Currents {
			r.PhaseCurrent[i] = max(a, -a)
			r.PhasePower[i] = units.PowerFor(a, 1)
		}
	}
	m.SetMeter(2, r)
	return nil
}

// SetMode puts a charging mode in force and persists it (see
// SetModeStore); nothing changes when persisting fails.
func (c *Controller) SetMode(mode Mode) error {
	if mode < 0 || mode >= numModes {
		return fmt.Errorf("%w %d", ErrMode, mode)
	}
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	if c.saveMode != nil {
		if err := c.saveMode(mode); err != nil {
			return fmt.Errorf("persist mode: %w", err)
		}
	}
	return c.do(func(now time.Time) error { return c.m.SetMode(mode, now) })
}

// SetModeStore makes SetMode persist every mode before it is put in force.
// Call it before Run.
func (c *Controller) SetModeStore(save func(Mode) error) { c.saveMode = save }

// SetGrid hands a pushed control-meter reading to the loop, which stamps
// it with its own clock.
func (c *Controller) SetGrid(g GridReading) error {
	return c.do(func(now time.Time) error { return c.m.SetGrid(g, now) })
}
