// Package periphtest is a fake charger circuit for testing the periph
// driver: periph's fake GPIO pins (gpiotest) and a fake MCP3008 on an
// SPI port, wired to the simulator's car model (hw/sim). The driver
// under test sees pins and ADC codes; the simulated car sees the pilot
// duty, the contactor and the lock the driver really drives.
package periphtest

import (
	"math"
	"math/rand"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// Pin names of Config.
const (
	PinPWM      = "GPIO18"
	PinC1       = "GPIO23"
	PinC1FB     = "GPIO24"
	PinC2       = "GPIO25"
	PinC2FB     = "GPIO8"
	PinLock     = "GPIO16"
	PinUnlock   = "GPIO20"
	PinLockFB   = "GPIO21"
	PinEPO      = "GPIO5"
	PinRCMFault = "GPIO6"
	PinRCMTest  = "GPIO13"
)

// Config is a complete periph configuration for the circuit: an MCP3008
// with the pilot on channel 0 and PP on channel 1, both contactors, a
// lock, an EPO (pressed: low) and an RCM.
func Config() periph.Config {
	c := periph.Defaults()
	c.Pilot.PWMPin = PinPWM
	c.Pilot.Scale, c.Pilot.Offset = 8, 1.65
	c.Proximity.Channel = 1
	c.Contactor = periph.Contactor{Pin: PinC1, FeedbackPin: PinC1FB}
	c.Contactor2 = periph.Contactor{Pin: PinC2, FeedbackPin: PinC2FB, FeedbackActiveLow: true}
	c.Lock.LockPin, c.Lock.UnlockPin, c.Lock.FeedbackPin = PinLock, PinUnlock, PinLockFB
	c.EPO = periph.Input{Pin: PinEPO, ActiveLow: true, Pull: "up"}
	c.RCM.FaultPin, c.RCM.TestPin = PinRCMFault, PinRCMTest
	return c
}

// Circuit is the fake hardware around one simulator.
type Circuit struct {
	Sim   *sim.Sim
	Clock *Clock
	cfg   periph.Config
	board hw.Board // the simulator's devices

	mu        sync.Mutex
	rnd       *rand.Rand
	noise     float64
	duty      int // permille the pilot pin drives
	pins      map[string]*Pin
	rcmTest   bool
	rcmTrip   bool
	rcmBroken bool
	rcmSeen   bool // the driver read the monitor's response to its latest test
	c2Cmd     bool
	c2Fault   string // "", "weld", "open"
	servo     bool   // last lock command was a servo position
	onC1      func(closed bool)
	onOut     func(pin string, l gpio.Level)
	reads     int
	stepUs    float64 // ADC sampling interval in µs; 0: random phases
	phaseUs   float64 // where in the PWM period the next sample falls
}

// New wires a circuit for cfg around s; seed drives the phase at which
// the ADC catches the PWM wave and the noise.
func New(s *sim.Sim, cfg periph.Config, clock *Clock, seed int64) *Circuit {
	c := &Circuit{Sim: s, Clock: clock, cfg: cfg, board: s.Board(), rnd: rand.New(rand.NewSource(seed)), duty: 1000, pins: map[string]*Pin{}, stepUs: 37}
	c.phaseUs = c.rnd.Float64() * 1000
	for _, n := range []string{PinPWM, PinC1, PinC1FB, PinC2, PinC2FB, PinLock, PinUnlock, PinLockFB, PinEPO, PinRCMFault, PinRCMTest} {
		c.pins[n] = &Pin{Pin: gpiotest.Pin{N: n, EdgesChan: make(chan gpio.Level, 16)}, c: c}
	}
	return c
}

// Parts returns the pins, the SPI port and the clock for periph.Open.
func (c *Circuit) Parts() periph.Parts {
	return periph.Parts{
		Pin: func(name string) gpio.PinIO {
			if p, ok := c.pins[name]; ok {
				return p
			}
			return nil
		},
		SPI:       func(string) (spi.PortCloser, error) { return &port{c: c}, nil },
		Now:       c.Clock.Now,
		AfterFunc: c.Clock.AfterFunc,
		Sleep:     c.Sleep,
	}
}

// Sleep is the driver's Parts.Sleep: the virtual clock and the
// simulator (whose C1 may be dropping out) move on by d, at once.
func (c *Circuit) Sleep(d time.Duration) {
	t := c.Clock.Now().Add(d)
	c.Clock.Advance(t)
	c.Sim.Tick(t)
}

// SetRandomPhases makes every ADC reading catch the PWM wave at a random
// phase; by default readings follow each other every 37 µs (with 5 µs
// of jitter) from a random start, as a sampler reading at full rate does.
func (c *Circuit) SetRandomPhases() { c.mu.Lock(); c.stepUs = 0; c.mu.Unlock() }

// SetNoise sets the ± amplitude of the pilot sense's noise, V.
func (c *Circuit) SetNoise(v float64) { c.mu.Lock(); c.noise = v; c.mu.Unlock() }

// SetRCM makes the residual-current monitor trip (a real residual
// current) or be broken (its self-test never trips it).
func (c *Circuit) SetRCM(tripped, broken bool) {
	c.mu.Lock()
	c.rcmTrip, c.rcmBroken = tripped, broken
	c.mu.Unlock()
}

// SetC2Fault makes C2's feedback lie: "weld" (always closed), "open"
// (never closes) or "" (follows the coil).
func (c *Circuit) SetC2Fault(f string) { c.mu.Lock(); c.c2Fault = f; c.mu.Unlock() }

// OnOutput calls f whenever the driver writes an output pin's level,
// after the circuit has reacted to it.
func (c *Circuit) OnOutput(f func(pin string, l gpio.Level)) { c.mu.Lock(); c.onOut = f; c.mu.Unlock() }

// OnContactor calls f whenever the driver writes the main contactor's
// output, with the commanded state.
func (c *Circuit) OnContactor(f func(closed bool)) { c.mu.Lock(); c.onC1 = f; c.mu.Unlock() }

// Edge delivers an edge on the named input to a goroutine in
// WaitForEdge.
func (c *Circuit) Edge(name string) { c.pins[name].EdgesChan <- c.pins[name].Read() }

// Duty returns the pilot duty the driver drives, permille.
func (c *Circuit) Duty() int { c.mu.Lock(); defer c.mu.Unlock(); return c.duty }

// Level returns the level the driver last wrote to the named pin.
func (c *Circuit) Level(name string) gpio.Level {
	p := c.pins[name]
	p.Lock()
	defer p.Unlock()
	return p.L
}

// PWM returns the duty and frequency last set on the named pin.
func (c *Circuit) PWM(name string) (gpio.Duty, physic.Frequency) {
	p := c.pins[name]
	p.Lock()
	defer p.Unlock()
	return p.D, p.F
}

// Reads counts the ADC conversions the driver made.
func (c *Circuit) Reads() int { c.mu.Lock(); defer c.mu.Unlock(); return c.reads }

// RCMTestSeen reports whether the driver has read the monitor's fault
// output asserted while driving its test input, since the latest test
// started or ForgetRCMTest.
func (c *Circuit) RCMTestSeen() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.rcmSeen }

// ForgetRCMTest clears RCMTestSeen (a new plug-in needs a new test).
func (c *Circuit) ForgetRCMTest() { c.mu.Lock(); c.rcmSeen = false; c.mu.Unlock() }

// RCMTesting reports whether the driver holds the RCM's test input.
func (c *Circuit) RCMTesting() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.rcmTest }

func asserted(l gpio.Level, activeLow bool) bool { return (l == gpio.High) != activeLow }
func levelOf(b, activeLow bool) gpio.Level       { return gpio.Level(b != activeLow) }

// out reacts to the driver writing an output pin.
func (c *Circuit) out(p *Pin, l gpio.Level) {
	cfg := c.cfg
	switch p.N {
	case PinPWM:
		d := 0
		if (l == gpio.High) != cfg.Pilot.Inverted {
			d = 1000
		}
		c.setDuty(d)
	case PinC1:
		closed := asserted(l, cfg.Contactor.ActiveLow)
		c.board.Contactor.Set(closed)
		c.mu.Lock()
		f := c.onC1
		c.mu.Unlock()
		if f != nil {
			f(closed)
		}
	case PinC2:
		c.mu.Lock()
		c.c2Cmd = asserted(l, cfg.Contactor2.ActiveLow)
		c.mu.Unlock()
	case PinLock, PinUnlock:
		a, b := c.Level(PinLock), c.Level(PinUnlock)
		switch {
		case a == gpio.High && b == gpio.Low:
			c.lock(true, false)
		case b == gpio.High && a == gpio.Low:
			c.lock(false, false)
		}
	case PinRCMTest:
		c.mu.Lock()
		t := asserted(l, cfg.RCM.TestActiveLow)
		if t && !c.rcmTest {
			c.rcmSeen = false
		}
		c.rcmTest = t
		c.mu.Unlock()
	}
}

func (c *Circuit) lock(locked, servo bool) {
	c.mu.Lock()
	c.servo = servo
	c.mu.Unlock()
	m := hw.LockSolenoid
	if servo {
		m = hw.LockServo
	}
	c.board.Lock.Set(locked, m)
}

// pwm reacts to the driver starting a PWM on a pin.
func (c *Circuit) pwm(p *Pin, d gpio.Duty, f physic.Frequency) {
	switch p.N {
	case PinPWM:
		permille := int(math.Round(float64(d) * 1000 / float64(gpio.DutyMax)))
		if c.cfg.Pilot.Inverted {
			permille = 1000 - permille
		}
		c.setDuty(permille)
	case PinLock:
		us := float64(d) * 20000 / float64(gpio.DutyMax)
		lk := c.cfg.Lock
		c.lock(math.Abs(us-float64(lk.ServoLockedUs)) < math.Abs(us-float64(lk.ServoUnlockedUs)), true)
	}
}

func (c *Circuit) setDuty(d int) {
	c.mu.Lock()
	c.duty = d
	c.mu.Unlock()
	c.board.Pilot.SetDuty(d)
}

// in is what the circuit presents on an input pin.
func (c *Circuit) in(p *Pin) gpio.Level {
	cfg := c.cfg
	switch p.N {
	case PinC1FB:
		return levelOf(c.board.Contactor.Closed(), cfg.Contactor.FeedbackActiveLow)
	case PinC2FB:
		c.mu.Lock()
		fb := c.c2Cmd
		switch c.c2Fault {
		case "weld":
			fb = true
		case "open":
			fb = false
		}
		c.mu.Unlock()
		return levelOf(fb, cfg.Contactor2.FeedbackActiveLow)
	case PinLockFB:
		c.mu.Lock()
		want := cfg.Lock.SolenoidLocked
		if c.servo {
			want = cfg.Lock.ServoLocked
		}
		c.mu.Unlock()
		return gpio.Level(c.board.Lock.Locked() == (want == "high"))
	case PinEPO:
		return levelOf(c.board.EPO.Pressed(), cfg.EPO.ActiveLow)
	case PinRCMFault:
		c.mu.Lock()
		f := c.rcmTrip || c.rcmTest && !c.rcmBroken
		if f && c.rcmTest {
			c.rcmSeen = true
		}
		c.mu.Unlock()
		return levelOf(f, cfg.RCM.FaultActiveLow)
	}
	p.Lock()
	defer p.Unlock()
	return p.L
}

// adc is the voltage at the ADC input of channel ch.
func (c *Circuit) adc(ch int) float64 {
	cfg := c.cfg
	switch ch {
	case cfg.Pilot.Channel:
		s := c.board.Pilot.Sample()
		c.mu.Lock()
		v := float64(s.High)
		phase := c.rnd.Float64() * 1000
		if c.stepUs > 0 {
			c.phaseUs = math.Mod(c.phaseUs+c.stepUs+10*c.rnd.Float64()-5, 1000)
			phase = c.phaseUs
		}
		if c.duty > 0 && c.duty < 1000 && phase >= float64(c.duty) {
			v = float64(s.Low) // caught in the low phase
		}
		v += c.noise * (2*c.rnd.Float64() - 1)
		c.mu.Unlock()
		return v/cfg.Pilot.Scale + cfg.Pilot.Offset
	case cfg.Proximity.Channel:
		r := c.board.Proximity.Ohms()
		pp := cfg.Proximity
		v := pp.SupplyV
		if !math.IsInf(r, 1) {
			v = pp.SupplyV * r / (r + pp.PullupOhms)
		}
		return v / pp.Scale
	}
	return 0
}

// Pin is a gpiotest pin whose outputs drive the circuit and whose
// inputs read it.
type Pin struct {
	gpiotest.Pin
	c *Circuit
}

// Out implements gpio.PinOut.
func (p *Pin) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	p.c.out(p, l)
	p.c.mu.Lock()
	f := p.c.onOut
	p.c.mu.Unlock()
	if f != nil {
		f(p.N, l)
	}
	return nil
}

// PWM implements gpio.PinOut.
func (p *Pin) PWM(d gpio.Duty, f physic.Frequency) error {
	if err := p.Pin.PWM(d, f); err != nil {
		return err
	}
	p.c.pwm(p, d, f)
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level { return p.c.in(p) }

// WaitForEdge implements gpio.PinIn: an edge pushed by Edge, without
// changing what Read reports.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	select {
	case <-p.EdgesChan:
		return true
	case <-time.After(timeout):
		return false
	}
}

// port is an SPI port with an MCP3008 on it.
type port struct{ c *Circuit }

func (p *port) String() string                    { return "fake-spi" }
func (p *port) Close() error                      { return nil }
func (p *port) LimitSpeed(physic.Frequency) error { return nil }
func (p *port) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) {
	return &mcp3008{c: p.c}, nil
}

type mcp3008 struct{ c *Circuit }

func (m *mcp3008) String() string      { return "fake-mcp3008" }
func (m *mcp3008) Duplex() conn.Duplex { return conn.Full }
func (m *mcp3008) TxPackets([]spi.Packet) error {
	panic("periphtest: TxPackets not used by the driver")
}

// Tx answers a single-ended conversion: start bit, SGL and channel in,
// ten bits out.
func (m *mcp3008) Tx(w, r []byte) error {
	if len(w) != 3 || len(r) != 3 || w[0] != 0x01 || w[1]&0x80 == 0 {
		panic("periphtest: not an MCP3008 single-ended read")
	}
	ch := int(w[1]>>4) & 7
	v := m.c.adc(ch)
	m.c.mu.Lock()
	m.c.reads++
	m.c.mu.Unlock()
	code := int(math.Round(v / m.c.cfg.ADC.VRef * 1024))
	code = min(max(code, 0), 1023)
	r[0], r[1], r[2] = 0, byte(code>>8), byte(code)
	return nil
}
