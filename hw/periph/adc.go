package periph

import (
	"fmt"
	"math"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/devices/v3/ads1x15"
)

// adc reads one single-ended channel, in volts at the ADC's input.
type adc interface {
	read(ch int) (float64, error)
	String() string
}

// mcp300x speaks the MCP3004/MCP3008 protocol on an SPI connection.
// periph's devices module has no driver for this 10-bit SAR converter;
// its protocol is one 3-byte transaction: start bit, single-ended flag
// and channel, then 10 bits back.
type mcp300x struct {
	mu   sync.Mutex
	c    spi.Conn
	vref float64
	name string
}

func newMCP300x(p spi.Port, c ADC) (*mcp300x, error) {
	conn, err := p.Connect(physic.Frequency(c.SpeedHz)*physic.Hertz, spi.Mode0, 8)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", c.Type, c.Bus, err)
	}
	return &mcp300x{c: conn, vref: c.VRef, name: c.Type}, nil
}

// mcpCommand is the write half of a single-ended read of ch.
func mcpCommand(ch int) [3]byte { return [3]byte{0x01, byte(0x80 | (ch&7)<<4), 0} }

func (m *mcp300x) read(ch int) (float64, error) {
	w := mcpCommand(ch)
	var r [3]byte
	m.mu.Lock()
	err := m.c.Tx(w[:], r[:])
	m.mu.Unlock()
	if err != nil {
		return math.NaN(), err
	}
	code := int(r[1]&0x03)<<8 | int(r[2])
	return float64(code) * m.vref / 1024, nil
}

func (m *mcp300x) String() string { return m.name }

// ads1x15 reads an ADS1015/ADS1115 through periph's driver, at its
// fastest data rate (3300 or 860 samples per second).
type ads1x15dev struct {
	dev  *ads1x15.Dev
	full physic.ElectricPotential
	mu   sync.Mutex
	pins map[int]ads1x15.PinADC
}

func newADS1x15(bus i2c.Bus, c ADC) (*ads1x15dev, error) {
	opts := &ads1x15.Opts{I2cAddress: c.Address}
	var d *ads1x15.Dev
	var err error
	if c.Type == ADCADS1015 {
		d, err = ads1x15.NewADS1015(bus, opts)
	} else {
		d, err = ads1x15.NewADS1115(bus, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", c.Type, c.Bus, err)
	}
	full := physic.ElectricPotential(c.FullScale * float64(physic.Volt))
	return &ads1x15dev{dev: d, full: full, pins: map[int]ads1x15.PinADC{}}, nil
}

func (a *ads1x15dev) read(ch int) (float64, error) {
	a.mu.Lock()
	p, ok := a.pins[ch]
	if !ok {
		var err error
		// 1 Hz with SaveEnergy selects the fastest data rate.
		p, err = a.dev.PinForChannel(ads1x15.Channel0+ads1x15.Channel(ch), a.full, physic.Hertz, ads1x15.SaveEnergy)
		if err != nil {
			a.mu.Unlock()
			return math.NaN(), err
		}
		a.pins[ch] = p
	}
	a.mu.Unlock()
	s, err := p.Read()
	if err != nil {
		return math.NaN(), err
	}
	return float64(s.V) / float64(physic.Volt), nil
}

func (a *ads1x15dev) String() string { return a.dev.String() }
