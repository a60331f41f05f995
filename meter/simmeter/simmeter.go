// Package simmeter serves a simulated Eastron SDM72D-M-2 as a Modbus TCP
// server, so in simulation the daemon reads its meters through the same
// Modbus path as real hardware (and mbpoll or any master can read them).
//
// Values come from a Source sampled on each request; the energy registers
// integrate power over time with an injectable clock.
package simmeter

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Default listen addresses of the simulated meters.
const (
	DefaultAddrMeter1 = "127.0.0.1:1502"
	DefaultAddrMeter2 = "127.0.0.1:1503"
)

// MaxRegs is the per-request limit the simulated meter enforces, as the
// SDM72D-M family does (30 parameters); longer reads get an exception.
const MaxRegs = 60

// Phases is the electrical state of the three phases at one instant.
// Power is signed: negative is export (a PV surplus on the control meter).
type Phases struct {
	Voltage [3]units.Volts
	Current [3]units.Amps
	Power   [3]units.Watts
}

// Source returns the present state; it is called on every request and
// must be safe for concurrent use.
type Source func() Phases

// Options configure a Server.
type Options struct {
	Addr      string           // listen address; DefaultAddrMeter1 when empty
	UnitID    uint8            // 0: 1
	Serial    uint32           // reported at holding 0xFC00
	Source    Source           // required
	Now       func() time.Time // defaults to time.Now
	Log       zerolog.Logger
	Frequency float32 // 0: 50 Hz
}

// Server is a simulated SDM72D-M-2 on Modbus TCP.
type Server struct {
	opts Options
	srv  *modbus.ModbusServer

	mu       sync.Mutex
	last     time.Time // of the last energy integration; zero before the first
	lastP    Phases
	importWh float64
	exportWh float64
	varh     float64
	requests int
}

// New builds a server; Start makes it listen.
func New(o Options) (*Server, error) {
	if o.Source == nil {
		return nil, fmt.Errorf("simmeter: Source is required")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddrMeter1
	}
	if o.UnitID == 0 {
		o.UnitID = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Frequency == 0 {
		o.Frequency = 50
	}
	s := &Server{opts: o}
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + o.Addr, Timeout: 30 * time.Second, MaxClients: 8,
		Logger: newStdLogger(o.Log),
	}, &handler{s: s})
	if err != nil {
		return nil, fmt.Errorf("simmeter %s: %w", o.Addr, err)
	}
	s.srv = srv
	return s, nil
}

// Start listens on the configured address.
func (s *Server) Start() error {
	if err := s.srv.Start(); err != nil {
		return fmt.Errorf("simmeter listen %s: %w", s.opts.Addr, err)
	}
	s.opts.Log.Info().Str("component", "simmeter").Str("addr", s.opts.Addr).Msg("simulated SDM72D-M-2 listening")
	return nil
}

// Stop closes the listener and every client connection.
func (s *Server) Stop() error { return s.srv.Stop() }

// Addr is the listen address.
func (s *Server) Addr() string { return s.opts.Addr }

// Requests counts the read requests served (exceptions included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Energy returns the integrated import and export energy.
func (s *Server) Energy() (imp, exp units.WattHours) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return units.WattHours(s.importWh), units.WattHours(s.exportWh)
}

// sample reads the source and integrates energy since the last sample,
// holding the previous power over the interval.
func (s *Server) sample() (Phases, float64, float64, float64) {
	p := s.opts.Source()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() {
		dt := now.Sub(s.last).Hours()
		if dt > 0 {
			var total, q float64
			for i := 0; i < 3; i++ {
				total += float64(s.lastP.Power[i])
				q += reactive(s.lastP, i)
			}
			if total >= 0 {
				s.importWh += total * dt
			} else {
				s.exportWh += -total * dt
			}
			s.varh += math.Abs(q) * dt
		}
	}
	s.last, s.lastP = now, p
	return p, s.importWh, s.exportWh, s.varh
}

func apparent(p Phases, i int) float64 {
	return math.Abs(float64(p.Voltage[i]) * float64(p.Current[i]))
}

func reactive(p Phases, i int) float64 {
	s, w := apparent(p, i), float64(p.Power[i])
	if s*s <= w*w {
		return 0
	}
	return math.Sqrt(s*s - w*w)
}

func pf(p Phases, i int) float64 {
	s := apparent(p, i)
	if s == 0 {
		return 1
	}
	return math.Max(-1, math.Min(1, float64(p.Power[i])/s))
}

// values computes every SDM72D-M-2 input register from one sample; energy
// registers are in kWh.
func (s *Server) values() map[uint16]float32 {
	p, impWh, expWh, varh := s.sample()
	v := map[uint16]float32{}
	var sumI, sumP, sumS, sumQ, sumV float64
	for i := 0; i < 3; i++ {
		a := uint16(2 * i)
		v[0x00+a] = float32(p.Voltage[i])
		v[0x06+a] = float32(p.Current[i])
		v[0x0C+a] = float32(p.Power[i])
		v[0x12+a] = float32(apparent(p, i))
		v[0x18+a] = float32(reactive(p, i))
		v[0x1E+a] = float32(pf(p, i))
		sumI += float64(p.Current[i])
		sumP += float64(p.Power[i])
		sumS += apparent(p, i)
		sumQ += reactive(p, i)
		sumV += float64(p.Voltage[i])
	}
	v[0x2A] = float32(sumV / 3)
	v[0x2E] = float32(sumI / 3)
	v[0x30] = float32(sumI)
	v[0x34] = float32(sumP)
	v[0x38] = float32(sumS)
	v[0x3C] = float32(sumQ)
	if sumS > 0 {
		v[0x3E] = float32(sumP / sumS)
	} else {
		v[0x3E] = 1
	}
	v[0x46] = s.opts.Frequency
	v[0x48] = float32(impWh / 1000)
	v[0x4A] = float32(expWh / 1000)
	// line-to-line voltages with the phases 120° apart
	var sumLL float64
	for i := 0; i < 3; i++ {
		a, b := float64(p.Voltage[i]), float64(p.Voltage[(i+1)%3])
		ll := math.Sqrt(a*a + b*b + a*b)
		v[0xC8+uint16(2*i)] = float32(ll)
		sumLL += ll
	}
	v[0xCE] = float32(sumLL / 3)
	// neutral current: vector sum of in-phase currents 120° apart
	re := float64(p.Current[0]) - 0.5*float64(p.Current[1]) - 0.5*float64(p.Current[2])
	im := math.Sqrt(3) / 2 * (float64(p.Current[1]) - float64(p.Current[2]))
	v[0xE0] = float32(math.Hypot(re, im))
	v[0x156] = float32((impWh + expWh) / 1000)
	v[0x158] = float32(varh / 1000)
	v[0x180] = v[0x156] // never reset in simulation
	v[0x184] = v[0x48]
	v[0x186] = v[0x4A]
	v[0x18C] = float32((impWh - expWh) / 1000)
	v[0x500] = float32(math.Max(sumP, 0))
	v[0x502] = float32(math.Max(-sumP, 0))
	return v
}

// Values returns the input registers a read would see now (it samples the
// source and integrates energy, like a request does). For tests and mbpoll
// cross-checks.
func (s *Server) Values() map[uint16]float32 { return s.values() }

// Map is the register map the server serves.
func Map() *meter.Map { return meter.SDM72DMv2() }
