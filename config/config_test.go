package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.Settings != d.Settings || c.Hardware != d.Hardware || c.Limiter != d.Limiter {
		t.Fatalf("example differs from the defaults it documents:\n%+v\n%+v", c, d)
	}
}

func TestEmptyIsDefaults(t *testing.T) {
	c, err := Decode(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hardware.Driver != "sim" || c.HTTP.Listen != ":8080" || c.MQTT.URL != "embedded" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestErrorsNameEveryField(t *testing.T) {
	_, err := Decode(strings.NewReader(`
log: {level: loud}
hardware: {max_current: 16}
settings: {ChargeCurrent: 20, ChargeCurrentBoost: 10, Meter2Type: 7}
limiter: {fallback: maybe, min_pause: 1s}
discovery: {prefix: "ha/#"}
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"log.level", "settings.ChargeCurrent", "settings.ChargeCurrentBoost",
		"settings.Meter2Ip", "limiter.fallback", "limiter.min_pause", "discovery.prefix"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	_, err := Decode(strings.NewReader("hardware:\n  maxcurrent: 16\n"))
	if err == nil || !strings.Contains(err.Error(), "maxcurrent") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestParams(t *testing.T) {
	c, err := Decode(strings.NewReader("hardware: {max_current: 20, ventilation: true}\nsettings: {ChargeCurrent: 10, ChargeCurrentBoost: 20}\nlimiter: {fallback: fixed, fallback_current: 8}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Params()
	if p.HardwareMax != 20 || !p.Ventilation || p.Limiter.FallbackCurrent != 8 {
		t.Fatalf("params %+v", p)
	}
}

// FuzzDecode: any input gives a config or an error, never a panic, and an
// accepted config validates.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile("../config.example.yaml"); err == nil {
		f.Add(string(b))
	}
	f.Add("")
	f.Add("settings: {ChargeCurrent: 6}")
	f.Add("mqtt: {url: 'tcp://127.0.0.1:1883'}")
	f.Add("hardware: [1, 2]")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Decode(strings.NewReader(in))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("accepted but invalid: %v", verr)
			}
		}
	})
}

func TestPSPSection(t *testing.T) {
	c, err := Decode(strings.NewReader("hardware:\n  driver: psp\n  psp:\n    url: http://192.168.0.17\n    supervise: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(strings.NewReader("hardware:\n  driver: psp\n  psp:\n    url: http://192.168.0.17:8080/\n    supervise: true\n    control_meter: {type: 4, address: \"192.168.0.30:502\"}\n")); err != nil {
		t.Fatalf("a control meter: %v", err)
	}
	if c.Hardware.PSP.Poll != time.Second || c.Hardware.PSP.Timeout != 2*time.Second || !c.Hardware.PSP.Supervise {
		t.Fatalf("defaults not applied: %+v", c.Hardware.PSP)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"hardware:\n  driver: psp\n", "hardware.psp.url: must be the box's address"},
		{"hardware:\n  driver: psp\n  psp:\n    url: ftp://x\n", "hardware.psp.url: must be http"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x/webapi/v1\n", "without path"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    poll: 10ms\n", "hardware.psp.poll"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    timout: 1s\n", "timout"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    username: a\n", "go together"},
		{"hardware:\n  driver: box\n", "must be sim, psp or periph"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    control_meter: {type: 4, address: 10.0.0.5:502}\n", "needs supervise"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    supervise: true\n    control_meter: {type: 9}\n", "control_meter.type"},
		{"hardware:\n  driver: psp\n  psp:\n    url: http://x\n    supervise: true\n    control_meter: {type: 4}\n", "hardware.psp.control_meter"},
	} {
		_, err := Decode(strings.NewReader(bad.yaml))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

// TestPhaseSwitchConfig: hardware.phase_switch with its constants; F
// shorter than 5 s, a stop wait over 6 s, an unknown policy and a box
// are refused.
func TestPhaseSwitchConfig(t *testing.T) {
	c, err := Decode(strings.NewReader("hardware: {phase_switch: true, phases: {policy: both, max_switches: 2, f_time: 7s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Params().Phases
	if !c.Hardware.PhaseSwitch || !p.BothWays || p.MaxSwitches != 2 || p.FTime != 7*time.Second || p.Verify != time.Minute || p.UpMargin != 200 {
		t.Fatalf("phases %+v", p)
	}
	for yaml, want := range map[string]string{
		"hardware: {phase_switch: true, phases: {f_time: 2s}}\n":        "f_time",
		"hardware: {phase_switch: true, phases: {stop_wait: 10s}}\n":    "stop_wait",
		"hardware: {phase_switch: true, phases: {policy: sometimes}}\n": "policy",
	} {
		if _, err := Decode(strings.NewReader(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", yaml, err, want)
		}
	}
}

// TestSolarHoldConfig: limiter.solar_hold reaches the limiter (3 min by
// default, 0 allowed: pause at once); negative or over an hour is refused
// with the key named.
func TestSolarHoldConfig(t *testing.T) {
	c, err := Decode(strings.NewReader("device_id: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Params().Limiter.SolarHold; h != 3*time.Minute {
		t.Fatalf("default solar_hold %v, want 3m", h)
	}
	c, err = Decode(strings.NewReader("limiter: {solar_hold: 0s}\n"))
	if err != nil || c.Params().Limiter.SolarHold != 0 {
		t.Fatalf("solar_hold 0: %v, %v", err, c.Params().Limiter.SolarHold)
	}
	for _, y := range []string{"limiter: {solar_hold: -1s}\n", "limiter: {solar_hold: 2h}\n"} {
		if _, err := Decode(strings.NewReader(y)); err == nil || !strings.Contains(err.Error(), "SolarHold") {
			t.Errorf("%s: %v, want an error naming SolarHold", y, err)
		}
	}
}
