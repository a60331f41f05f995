package periph

import (
	"fmt"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Config is the `hardware.periph:` section: which pins (periph names such
// as GPIO18), which ADC on which bus, and how the analog front ends map
// ADC volts to pilot volts and proximity ohms.
type Config struct {
	ADC       ADC       `yaml:"adc"`
	Pilot     Pilot     `yaml:"pilot"`
	Proximity Proximity `yaml:"proximity"`
	Contactor Contactor `yaml:"contactor"`
	// Contactor2 is the optional second contactor (L2/L3) for 1p/3p
	// switching; leave pin empty without one.
	Contactor2 Contactor `yaml:"contactor2"`
	Lock       Lock      `yaml:"lock"`
	EPO        Input     `yaml:"epo"`
	RCM        RCM       `yaml:"rcm"`
}

// ADC types.
const (
	ADCMCP3004 = "mcp3004"
	ADCMCP3008 = "mcp3008"
	ADCADS1015 = "ads1015"
	ADCADS1115 = "ads1115"
)

// ADC is the analog-to-digital converter the pilot and proximity senses
// share.
type ADC struct {
	Type string `yaml:"type"` // mcp3004, mcp3008 (SPI); ads1015, ads1115 (I2C)
	// Bus is periph's name of the bus: "SPI0.0" (spidev0.0) for an
	// MCP300x, "I2C1" or "1" for an ADS1x15.
	Bus       string  `yaml:"bus"`
	Address   uint16  `yaml:"address"`    // I2C address of an ADS1x15 (0x48…0x4B)
	SpeedHz   int64   `yaml:"speed_hz"`   // SPI clock of an MCP300x
	VRef      float64 `yaml:"vref"`       // MCP300x reference voltage, V
	FullScale float64 `yaml:"full_scale"` // ADS1x15 input range (sets the gain), V
}

// Pilot is the control-pilot output and sense.
type Pilot struct {
	// PWMPin is a hardware-PWM pin (GPIO12/13/18/19 on a Raspberry Pi)
	// driving the ±12 V op-amp stage.
	PWMPin string `yaml:"pwm_pin"`
	// Inverted: the output stage inverts (pin high gives −12 V).
	Inverted bool `yaml:"inverted"`
	// Channel is the ADC channel of the CP sense divider. With a fast
	// SAR ADC (MCP300x) the driver finds the high and low levels as the
	// maximum and minimum over Window; with peak detectors it is the
	// positive peak.
	Channel int `yaml:"channel"`
	// LowChannel is the channel of a negative peak detector; -1 when
	// Channel carries the raw wave. Required for an ADS1x15, whose
	// delta-sigma conversion averages a 1 kHz wave.
	LowChannel int `yaml:"low_channel"`
	// Scale and Offset map ADC volts to pilot volts:
	// pilot = (adc − offset) × scale. Calibrate them with the
	// commissioning checklist (docs/hardware.md).
	Scale  float64 `yaml:"scale"`
	Offset float64 `yaml:"offset"`
	// Window is the min/max window; at least one PWM period (1 ms).
	Window time.Duration `yaml:"window"`
	// Hysteresis, V, keeps a level from flickering at a band threshold.
	Hysteresis float64 `yaml:"hysteresis"`
}

// Proximity is the Case B proximity-pilot sense: PP pulled up to SupplyV
// through PullupOhms, read by the ADC through a divider (Scale).
type Proximity struct {
	Channel    int     `yaml:"channel"` // -1: no PP circuit (Case C only)
	PullupOhms float64 `yaml:"pullup_ohms"`
	SupplyV    float64 `yaml:"supply_v"`
	Scale      float64 `yaml:"scale"` // PP volts = adc volts × scale
}

// Contactor is a contactor's coil driver output and feedback input (an
// auxiliary contact or a mains-sense opto).
type Contactor struct {
	Pin               string `yaml:"pin"`
	ActiveLow         bool   `yaml:"active_low"`
	FeedbackPin       string `yaml:"feedback_pin"`
	FeedbackActiveLow bool   `yaml:"feedback_active_low"`
}

// Lock is the Case B cable lock. A solenoid is pulsed through an
// H-bridge (LockPin drives towards locked, UnlockPin towards unlocked);
// a servomotor gets 50 Hz position pulses on LockPin.
type Lock struct {
	LockPin         string        `yaml:"lock_pin"`
	UnlockPin       string        `yaml:"unlock_pin"`
	Pulse           time.Duration `yaml:"pulse"`             // solenoid pulse, servo drive time
	ServoLockedUs   int           `yaml:"servo_locked_us"`   // servo pulse width, locked
	ServoUnlockedUs int           `yaml:"servo_unlocked_us"` // servo pulse width, unlocked
	FeedbackPin     string        `yaml:"feedback_pin"`
	// The feedback switch reads locked at this level, per method:
	// "high" or "low" (solenoid locks and servo locks wire it differently).
	SolenoidLocked string `yaml:"solenoid_feedback_locked"`
	ServoLocked    string `yaml:"servo_feedback_locked"`
}

// Input is a digital input (the emergency stop).
type Input struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"` // asserted (pressed) when the pin reads low
	Pull      string `yaml:"pull"`       // up, down, none
}

// RCM is a residual-current monitor (RDC-DD, 6 mA DC) with its fault
// output wired to FaultPin and its test input to TestPin.
type RCM struct {
	FaultPin       string        `yaml:"fault_pin"`
	FaultActiveLow bool          `yaml:"fault_active_low"`
	Pull           string        `yaml:"pull"`
	TestPin        string        `yaml:"test_pin"`
	TestActiveLow  bool          `yaml:"test_active_low"`
	TestTimeout    time.Duration `yaml:"test_timeout"` // the module must trip and recover within this
}

// Defaults returns a configuration with every tuning value set and no
// pins: the installer names the pins and the bus.
func Defaults() Config {
	return Config{
		ADC:       ADC{Type: ADCMCP3008, Bus: "SPI0.0", Address: 0x48, SpeedHz: 1_000_000, VRef: 3.3, FullScale: 4.096},
		Pilot:     Pilot{Channel: 0, LowChannel: -1, Scale: 8.0, Offset: 1.65, Window: 5 * time.Millisecond, Hysteresis: 0.4},
		Proximity: Proximity{Channel: -1, PullupOhms: 330, SupplyV: 3.3, Scale: 1},
		Lock: Lock{Pulse: 300 * time.Millisecond, ServoLockedUs: 2000, ServoUnlockedUs: 1000,
			SolenoidLocked: "high", ServoLocked: "low"},
		EPO: Input{Pull: "up"},
		RCM: RCM{Pull: "up", TestTimeout: 500 * time.Millisecond},
	}
}

// Validate reports every problem with its field path under prefix (for
// example "hardware.periph.").
func (c Config) Validate(prefix string) []error {
	var es []error
	add := func(field, format string, a ...any) {
		es = append(es, settings.FieldError{Field: prefix + field, Reason: fmt.Sprintf(format, a...)})
	}
	channels := 0
	switch c.ADC.Type {
	case ADCMCP3004, ADCADS1015, ADCADS1115:
		channels = 4
	case ADCMCP3008:
		channels = 8
	default:
		add("adc.type", "must be mcp3004, mcp3008, ads1015 or ads1115, got %q", c.ADC.Type)
	}
	if c.ADC.Bus == "" {
		add("adc.bus", "must name the bus (e.g. SPI0.0 for an MCP300x, I2C1 for an ADS1x15)")
	}
	switch c.ADC.Type {
	case ADCMCP3004, ADCMCP3008:
		if c.ADC.SpeedHz < 10_000 || c.ADC.SpeedHz > 3_600_000 {
			add("adc.speed_hz", "must be 10000…3600000 (the MCP300x's clock range), got %d", c.ADC.SpeedHz)
		}
		if !(c.ADC.VRef >= 1 && c.ADC.VRef <= 5.5) {
			add("adc.vref", "must be 1…5.5 V, got %v", c.ADC.VRef)
		}
	case ADCADS1015, ADCADS1115:
		if c.ADC.Address < 0x48 || c.ADC.Address > 0x4B {
			add("adc.address", "must be 0x48…0x4B, got %#x", c.ADC.Address)
		}
		if !(c.ADC.FullScale > 0 && c.ADC.FullScale <= 6.144) {
			add("adc.full_scale", "must be 0…6.144 V, got %v", c.ADC.FullScale)
		}
		if c.Pilot.LowChannel < 0 {
			add("pilot.low_channel", "an %s averages a 1 kHz wave: wire positive and negative peak detectors and set low_channel (docs/hardware.md)", c.ADC.Type)
		}
	}
	chanOK := func(field string, ch int, optional bool) {
		if optional && ch == -1 {
			return
		}
		if channels > 0 && (ch < 0 || ch >= channels) {
			add(field, "must be 0…%d for an %s, got %d", channels-1, c.ADC.Type, ch)
		}
	}
	p := c.Pilot
	if p.PWMPin == "" {
		add("pilot.pwm_pin", "must name the hardware-PWM pin (e.g. GPIO18)")
	}
	chanOK("pilot.channel", p.Channel, false)
	chanOK("pilot.low_channel", p.LowChannel, true)
	if p.LowChannel == p.Channel {
		add("pilot.low_channel", "must differ from pilot.channel (or be -1)")
	}
	if !(p.Scale > 0 && p.Scale < 1000) {
		add("pilot.scale", "must be above 0 (pilot volts per ADC volt), got %v", p.Scale)
	}
	if !(p.Offset > -10 && p.Offset < 10) {
		add("pilot.offset", "must be −10…10 V, got %v", p.Offset)
	}
	if p.Window < time.Millisecond || p.Window > 50*time.Millisecond {
		add("pilot.window", "must be 1ms…50ms (at least one PWM period, and short against the 100 ms opening bound), got %v", p.Window)
	}
	if !(p.Hysteresis >= 0 && p.Hysteresis <= 1) {
		add("pilot.hysteresis", "must be 0…1 V, got %v", p.Hysteresis)
	}
	pp := c.Proximity
	chanOK("proximity.channel", pp.Channel, true)
	if pp.Channel >= 0 {
		if pp.Channel == p.Channel || pp.Channel == p.LowChannel {
			add("proximity.channel", "must differ from the pilot's channels, got %d", pp.Channel)
		}
		if !(pp.PullupOhms >= 50 && pp.PullupOhms <= 100_000) {
			add("proximity.pullup_ohms", "must be 50…100000 Ω, got %v", pp.PullupOhms)
		}
		if !(pp.SupplyV > 0 && pp.SupplyV <= 24) {
			add("proximity.supply_v", "must be 0…24 V, got %v", pp.SupplyV)
		}
		if !(pp.Scale > 0 && pp.Scale < 100) {
			add("proximity.scale", "must be above 0, got %v", pp.Scale)
		}
	}
	if c.Contactor.Pin == "" {
		add("contactor.pin", "must name the contactor's output pin")
	}
	if c.Contactor.FeedbackPin == "" {
		add("contactor.feedback_pin", "must name the feedback input (auxiliary contact or mains sense): welding must be detectable")
	}
	if c.Contactor2.Pin != "" && c.Contactor2.FeedbackPin == "" {
		add("contactor2.feedback_pin", "must name C2's feedback input")
	}
	if c.Contactor2.Pin == "" && c.Contactor2.FeedbackPin != "" {
		add("contactor2.pin", "must name C2's output pin when its feedback is set")
	}
	l := c.Lock
	if l.LockPin != "" || l.UnlockPin != "" || l.FeedbackPin != "" {
		if l.LockPin == "" || l.FeedbackPin == "" {
			add("lock", "lock_pin and feedback_pin are both needed for a lock (unlock_pin too for a solenoid)")
		}
		if l.Pulse < 20*time.Millisecond || l.Pulse > 5*time.Second {
			add("lock.pulse", "must be 20ms…5s, got %v", l.Pulse)
		}
		for _, s := range []struct {
			f string
			v int
		}{{"lock.servo_locked_us", l.ServoLockedUs}, {"lock.servo_unlocked_us", l.ServoUnlockedUs}} {
			if s.v < 500 || s.v > 2500 {
				add(s.f, "must be 500…2500 µs, got %d", s.v)
			}
		}
		for _, s := range []struct{ f, v string }{{"lock.solenoid_feedback_locked", l.SolenoidLocked}, {"lock.servo_feedback_locked", l.ServoLocked}} {
			if s.v != "high" && s.v != "low" {
				add(s.f, "must be high or low, got %q", s.v)
			}
		}
	}
	if !validPull(c.EPO.Pull) {
		add("epo.pull", "must be up, down or none, got %q", c.EPO.Pull)
	}
	r := c.RCM
	if (r.FaultPin == "") != (r.TestPin == "") {
		add("rcm", "fault_pin and test_pin go together: the daemon tests the monitor before every session")
	}
	if r.FaultPin != "" {
		if !validPull(r.Pull) {
			add("rcm.pull", "must be up, down or none, got %q", r.Pull)
		}
		if r.TestTimeout < 10*time.Millisecond || r.TestTimeout > 5*time.Second {
			add("rcm.test_timeout", "must be 10ms…5s, got %v", r.TestTimeout)
		}
	}
	seen := map[string]string{}
	for _, u := range c.pins() {
		if u.name == "" {
			continue
		}
		k := strings.ToUpper(u.name)
		if other, dup := seen[k]; dup {
			add(u.field, "pin %s is already %s", u.name, other)
			continue
		}
		seen[k] = u.field
	}
	return es
}

func validPull(s string) bool { return s == "up" || s == "down" || s == "none" }

// pinUse is one configured pin and the field that names it.
type pinUse struct {
	field, name string
	output      bool
}

// pins lists every pin of the configuration, outputs first (they are
// resolved and driven safe before anything else is checked).
func (c Config) pins() []pinUse {
	return []pinUse{
		{"contactor.pin", c.Contactor.Pin, true},
		{"contactor2.pin", c.Contactor2.Pin, true},
		{"pilot.pwm_pin", c.Pilot.PWMPin, true},
		{"lock.lock_pin", c.Lock.LockPin, true},
		{"lock.unlock_pin", c.Lock.UnlockPin, true},
		{"rcm.test_pin", c.RCM.TestPin, true},
		{"contactor.feedback_pin", c.Contactor.FeedbackPin, false},
		{"contactor2.feedback_pin", c.Contactor2.FeedbackPin, false},
		{"lock.feedback_pin", c.Lock.FeedbackPin, false},
		{"epo.pin", c.EPO.Pin, false},
		{"rcm.fault_pin", c.RCM.FaultPin, false},
	}
}
