package periph_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// mcpRead is the recorded SPI exchange of an MCP3008 single-ended read
// of ch answering the input voltage v (vref 3.3 V).
func mcpRead(ch int, v float64) conntest.IO {
	code := int(math.Round(v / 3.3 * 1024))
	code = min(max(code, 0), 1023)
	return conntest.IO{W: []byte{0x01, byte(0x80 | ch<<4), 0}, R: []byte{0, byte(code >> 8), byte(code)}}
}

// minimal is a configuration with only the required pins, on fake pins.
func minimal() (periph.Config, map[string]*gpiotest.Pin) {
	c := periph.Defaults()
	c.Pilot.PWMPin = "GPIO18"
	c.Contactor.Pin, c.Contactor.FeedbackPin = "GPIO23", "GPIO24"
	pins := map[string]*gpiotest.Pin{}
	for _, n := range []string{"GPIO18", "GPIO23", "GPIO24"} {
		pins[n] = &gpiotest.Pin{N: n}
	}
	return c, pins
}

func pinsOf(m map[string]*gpiotest.Pin) func(string) gpio.PinIO {
	return func(n string) gpio.PinIO {
		if p, ok := m[n]; ok {
			return p
		}
		return nil
	}
}

// playbackDriver opens a driver on an SPI playback answering the pilot
// voltages in order (the first one for Open's probe read).
func playbackDriver(t *testing.T, cfg periph.Config, pins map[string]*gpiotest.Pin, clock *periphtest.Clock, pilotVolts ...float64) (*periph.Driver, *spitest.Playback) {
	t.Helper()
	pb := &spitest.Playback{}
	for _, v := range pilotVolts {
		pb.Ops = append(pb.Ops, mcpRead(cfg.Pilot.Channel, v/cfg.Pilot.Scale+cfg.Pilot.Offset))
	}
	d, err := periph.Open(cfg, periph.Parts{Pin: pinsOf(pins), SPI: func(string) (spi.PortCloser, error) { return pb, nil }, Now: clock.Now, AfterFunc: clock.AfterFunc}, periph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d, pb
}

// TestClassificationBandsAndHysteresis plays a sequence of steady pilot
// levels through the MCP3008 on spitest and classifies what the driver
// reports, each in a fresh window.
func TestClassificationBandsAndHysteresis(t *testing.T) {
	cfg, pins := minimal()
	steps := []struct {
		v    float64
		want controller.Level
	}{
		{12, controller.LevelA}, {9, controller.LevelB}, {6, controller.LevelC}, {3, controller.LevelD},
		{0, controller.LevelE}, {-12, controller.LevelF}, {-6, controller.LevelInvalid},
		// Hysteresis 0.4 V: from C, 7.6 V (past 7.5 by less than 0.4) stays C…
		{6, controller.LevelC}, {7.6, controller.LevelC}, {7.85, controller.LevelC},
		// …8.0 V is B; coming back, 7.2 V stays B, 7.0 V is C.
		{8.0, controller.LevelB}, {7.2, controller.LevelB}, {7.0, controller.LevelC},
		// From A, 10.3 V stays A; 10.0 V is B. A jump over a band is taken at once.
		{12, controller.LevelA}, {10.3, controller.LevelA}, {10.0, controller.LevelB}, {3, controller.LevelD},
		// Around −10.5 V: F stays F at −10.3 V, −10.0 V leaves it.
		{-12, controller.LevelF}, {-10.3, controller.LevelF}, {-10.0, controller.LevelInvalid},
	}
	vs := []float64{12} // Open's probe
	for _, s := range steps {
		vs = append(vs, s.v)
	}
	clock := periphtest.NewClock(epoch)
	d, pb := playbackDriver(t, cfg, pins, clock, vs...)
	defer d.Close()
	p := d.Board().Pilot
	for i, s := range steps {
		clock.Advance(clock.Now().Add(20 * time.Millisecond)) // the last window ages out
		if err := d.SampleOnce(); err != nil {
			t.Fatal(err)
		}
		got := p.Sample()
		if l := controller.Classify(got.High); l != s.want {
			t.Errorf("step %d: %.2f V read as %.3f V = %v, want %v", i, s.v, float64(got.High), l, s.want)
		}
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStalledSenseIsInvalid: with no reading younger than two windows
// the pilot reads NaN, which the controller classifies as invalid (a
// fault), never as the last good level.
func TestStalledSenseIsInvalid(t *testing.T) {
	cfg, pins := minimal()
	clock := periphtest.NewClock(epoch)
	d, _ := playbackDriver(t, cfg, pins, clock, 12, 6)
	defer d.Close()
	if err := d.SampleOnce(); err != nil {
		t.Fatal(err)
	}
	if l := controller.Classify(d.Board().Pilot.Sample().High); l != controller.LevelC {
		t.Fatalf("fresh: %v", l)
	}
	clock.Advance(clock.Now().Add(2 * cfg.Pilot.Window))
	if s := d.Board().Pilot.Sample(); controller.Classify(s.High) != controller.LevelInvalid || !math.IsNaN(float64(s.Low)) {
		t.Fatalf("stalled sense reads %+v, want NaN (invalid)", s)
	}
}

// TestADS1115PeakDetectors reads the positive and negative peak
// detectors on two ADS1115 channels through periph's ads1x15 driver on
// i2ctest playback.
func TestADS1115PeakDetectors(t *testing.T) {
	cfg, pins := minimal()
	cfg.ADC = periph.ADC{Type: periph.ADCADS1115, Bus: "I2C1", Address: 0x48, FullScale: 4.096}
	cfg.Pilot.Channel, cfg.Pilot.LowChannel = 0, 1
	if es := cfg.Validate(""); len(es) > 0 {
		t.Fatal(es)
	}
	// Config register: single shot, mux AINx vs GND, ±4.096 V, 860 SPS,
	// comparator off.
	conf := func(ch int) []byte {
		v := 0x8000 | (4+ch)<<12 | 0x0200 | 0x0100 | 0x00E0 | 0x0003
		return []byte{0x01, byte(v >> 8), byte(v)}
	}
	conv := func(volts float64) []byte {
		raw := int16(math.Round(volts / 4.096 * 32768))
		return []byte{byte(uint16(raw) >> 8), byte(raw)}
	}
	read := func(ch int, pilot float64) []i2ctest.IO {
		adc := pilot/cfg.Pilot.Scale + cfg.Pilot.Offset
		return []i2ctest.IO{{Addr: 0x48, W: conf(ch)}, {Addr: 0x48, W: []byte{0x00}, R: conv(adc)}}
	}
	var ops []i2ctest.IO
	ops = append(ops, read(0, 12)...)  // probe
	ops = append(ops, read(0, 6)...)   // high peak: C
	ops = append(ops, read(1, -12)...) // low peak: diode present
	ops = append(ops, read(0, 6)...)   // C
	ops = append(ops, read(1, -6)...)  // low only −6 V: no diode
	pb := &i2ctest.Playback{Ops: ops}
	clock := periphtest.NewClock(epoch)
	d, err := periph.Open(cfg, periph.Parts{Pin: pinsOf(pins), I2C: func(string) (i2c.BusCloser, error) { return pb, nil }, Now: clock.Now}, periph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i, wantLow := range []float64{-12, -6} {
		clock.Advance(clock.Now().Add(20 * time.Millisecond))
		if err := d.SampleOnce(); err != nil {
			t.Fatal(err)
		}
		s := d.Board().Pilot.Sample()
		if math.Abs(float64(s.High)-6) > 0.01 || math.Abs(float64(s.Low)-wantLow) > 0.01 {
			t.Errorf("read %d: %+v, want high 6 V, low %v V", i, s, wantLow)
		}
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMissingPinsAndBusNamed: every missing part is named with its field
// path, and the outputs that were found are driven safe all the same.
func TestMissingPinsAndBusNamed(t *testing.T) {
	cfg, pins := minimal()
	delete(pins, "GPIO18")
	pins["GPIO23"].L = gpio.High // a contactor output left on by someone
	_, err := periph.Open(cfg, periph.Parts{Pin: pinsOf(pins), Prefix: "hardware.periph.",
		SPI: func(n string) (spi.PortCloser, error) { return nil, errMissing }}, periph.Options{})
	if err == nil {
		t.Fatal("opened without the PWM pin and the SPI port")
	}
	for _, want := range []string{`hardware.periph.pilot.pwm_pin: no pin "GPIO18"`, `hardware.periph.adc.bus: SPI port "SPI0.0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if pins["GPIO23"].L != gpio.Low {
		t.Error("the contactor output was not driven open before failing")
	}
}

type missingErr struct{}

func (missingErr) Error() string { return "no such port" }

var errMissing = missingErr{}
