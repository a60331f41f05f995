package config

import (
	"os"
	"strings"
	"testing"
)

const periphYAML = `
hardware:
  driver: periph
  periph:
    adc: {type: mcp3008, bus: SPI0.0}
    pilot: {pwm_pin: GPIO18, channel: 0}
    proximity: {channel: 1}
    contactor: {pin: GPIO23, feedback_pin: GPIO24}
    epo: {pin: GPIO5, active_low: true}
    rcm: {fault_pin: GPIO6, test_pin: GPIO13}
`

func TestPeriphConfigDecodes(t *testing.T) {
	c, err := Decode(strings.NewReader(periphYAML))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Hardware.Periph
	if c.Hardware.Driver != "periph" || p.Pilot.PWMPin != "GPIO18" || p.Pilot.Scale != 8 || p.ADC.VRef != 3.3 || p.RCM.TestPin != "GPIO13" {
		t.Fatalf("decoded %+v", p)
	}
}

func TestPeriphConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(periphYAML, "pwm_pin: GPIO18, ", "", 1), "hardware.periph.pilot.pwm_pin: must name"},
		{strings.Replace(periphYAML, "type: mcp3008", "type: ads1115", 1) + "    # no low_channel\n", "hardware.periph.pilot.low_channel: an ads1115 averages"},
		{strings.Replace(periphYAML, "feedback_pin: GPIO24", "feedback_pin: GPIO23", 1), "hardware.periph.contactor.feedback_pin: pin GPIO23 is already contactor.pin"},
		{strings.Replace(periphYAML, "test_pin: GPIO13", "test_pin: \"\"", 1), "hardware.periph.rcm: fault_pin and test_pin go together"},
		{strings.Replace(periphYAML, "channel: 1}", "channel: 9}", 1), "hardware.periph.proximity.channel: must be 0…7"},
		{strings.Replace(periphYAML, "bus: SPI0.0", "bus: SPI0.0, speed: 1", 1), "field speed not found"},
		{strings.Replace(periphYAML, "driver: periph", "driver: gpio", 1), "hardware.driver: must be sim, psp or periph"},
	} {
		_, err := Decode(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}

// TestPeriphExampleDecodes uncomments the periph block of
// config.example.yaml: the example must stay a valid configuration.
func TestPeriphExampleDecodes(t *testing.T) {
	b, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "  # periph:"):
			in = true
		case in && !strings.HasPrefix(line, "  #   "):
			in = false
		}
		if in {
			block = append(block, "  "+strings.TrimPrefix(line, "  # "))
		}
	}
	if len(block) < 30 {
		t.Fatalf("periph block not found (%d lines)", len(block))
	}
	yml := "hardware:\n  driver: periph\n" + strings.Join(block, "\n") + "\n"
	c, err := Decode(strings.NewReader(yml))
	if err != nil {
		t.Fatalf("%v\n%s", err, yml)
	}
	if c.Hardware.Periph.Lock.UnlockPin != "GPIO20" || c.Hardware.Periph.RCM.TestPin != "GPIO26" || c.Hardware.Periph.Contactor2.Pin != "GPIO25" {
		t.Fatalf("decoded %+v", c.Hardware.Periph)
	}
}
