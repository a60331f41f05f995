package periph

import (
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// pwmFreq is the control pilot's frequency (IEC 61851-1: 1 kHz).
const pwmFreq = 1000 * physic.Hertz

// pilot drives the CP output pin and holds the sense: the sampler
// goroutine (or SampleOnce) feeds the windows, Sample reads them.
type pilot struct {
	out      gpio.PinOut
	inverted bool
	now      func() time.Time

	adc           adc
	ch, lowCh     int
	scale, offset float64

	mu      sync.Mutex
	duty    int
	hiW     window
	loW     window
	hyst    schmitt
	outErr  error
	readErr error
}

func newPilot(out gpio.PinOut, c Pilot, a adc, now func() time.Time) *pilot {
	return &pilot{out: out, inverted: c.Inverted, now: now, adc: a, ch: c.Channel, lowCh: c.LowChannel,
		scale: c.Scale, offset: c.Offset, duty: -1,
		hiW: window{d: c.Window}, loW: window{d: c.Window}, hyst: schmitt{h: c.Hysteresis}}
}

// steadyLevel is the pin level for steady +12 V (high) or −12 V (low).
func (p *pilot) steadyLevel(plus bool) gpio.Level { return gpio.Level(plus != p.inverted) }

// SetDuty implements hw.Pilot: 1000 steady +12 V, 0 steady −12 V, else a
// 1 kHz PWM. A pin that refuses the PWM is left at steady +12 V, which
// offers no current; the sense then shows no PWM and the controller
// never closes.
func (p *pilot) SetDuty(d int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setDuty(d)
}

func (p *pilot) setDuty(d int) {
	var err error
	switch {
	case d >= 1000:
		err = p.out.Out(p.steadyLevel(true))
	case d <= 0:
		err = p.out.Out(p.steadyLevel(false))
	default:
		if p.inverted {
			d = 1000 - d
		}
		err = p.out.PWM(gpio.Duty(int64(d)*int64(gpio.DutyMax)/1000), pwmFreq)
		if p.inverted {
			d = 1000 - d
		}
	}
	p.duty = d
	if err != nil {
		p.outErr = err
		_ = p.out.Out(p.steadyLevel(true))
		p.duty = 1000
	}
}

// Halt implements hw.Pilot: steady +12 V.
func (p *pilot) Halt() { p.SetDuty(1000) }

// toPilot maps ADC volts to pilot volts.
func (p *pilot) toPilot(v float64) float64 { return (v - p.offset) * p.scale }

// sampleOnce reads the CP channel(s) once into the windows.
func (p *pilot) sampleOnce() error {
	v, err := p.adc.read(p.ch)
	lo := math.NaN()
	if err == nil && p.lowCh >= 0 {
		lo, err = p.adc.read(p.lowCh)
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.readErr = err
		return err
	}
	v = p.toPilot(v)
	p.hiW.add(v, now)
	if p.lowCh >= 0 {
		p.loW.add(p.toPilot(lo), now)
	}
	return nil
}

// Sample implements hw.Pilot: the high level is the maximum, the low
// level the minimum over the last window(s). A stalled sampler reads NaN,
// which the controller classifies as an invalid level (a fault).
func (p *pilot) Sample() hw.PilotSample {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	hi, lo, ok := p.hiW.get(now)
	if ok && p.lowCh >= 0 {
		_, lo, ok = p.loW.get(now)
	}
	if !ok {
		hi, lo = math.NaN(), math.NaN()
	}
	hi = p.hyst.filter(hi)
	return hw.PilotSample{High: units.Volts(hi), Low: units.Volts(lo)}
}

// proximity converts the PP channel's reading to ohms; the sampler
// refreshes it, Ohms returns the last value.
type proximity struct {
	adc     adc
	cfg     Proximity
	mu      sync.Mutex
	ohms    float64
	readErr error
}

func (p *proximity) sampleOnce() error {
	v, err := p.adc.read(p.cfg.Channel)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.ohms, p.readErr = math.NaN(), err
		return err
	}
	p.ohms = ppOhms(v*p.cfg.Scale, p.cfg.SupplyV, p.cfg.PullupOhms)
	return nil
}

// ppOhms solves the pull-up divider: PP reads supply·R/(R+pullup).
func ppOhms(v, supply, pullup float64) float64 {
	switch {
	case v >= supply*0.98:
		return math.Inf(1) // open: no cable
	case v <= 0:
		return 0
	}
	return pullup * v / (supply - v)
}

// Ohms implements hw.Proximity; NaN before the first reading or after a
// read error (the controller then reads the coding as invalid).
func (p *proximity) Ohms() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ohms
}

// noProximity is the PP input of an installation without a PP circuit
// (Case C): always open.
type noProximity struct{}

func (noProximity) Ohms() float64 { return math.Inf(1) }
