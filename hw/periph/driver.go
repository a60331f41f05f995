// Package periph drives the charger's hardware on a Linux board (a
// Raspberry Pi or alike) through periph.io: the control pilot's PWM pin
// and its ADC sense (MCP300x on SPI or ADS1x15 on I2C), the proximity
// pilot, one or two contactors with feedback, the cable lock, the
// emergency stop watched by edge interrupt and a residual-current
// monitor. It implements the hw role interfaces; docs/hardware.md has
// the reference circuit, the wiring and the commissioning checklist.
package periph

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// Parts is where Open finds pins and buses: periph's registries on a
// board (OpenHost), fakes in tests.
type Parts struct {
	Pin func(name string) gpio.PinIO // nil when there is no such pin
	I2C func(name string) (i2c.BusCloser, error)
	SPI func(name string) (spi.PortCloser, error)
	Now func() time.Time
	// AfterFunc ends lock pulses; nil means time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Sleep lets time pass while a halt waits for C1 to drop out before
	// it releases C2 (hw.WaitOpen); nil means time.Sleep.
	Sleep func(time.Duration)
	// Prefix names the configuration section in errors, e.g.
	// "hardware.periph.".
	Prefix string
}

// Options are the runtime choices Open needs.
type Options struct {
	// LockMethod is the configured LockMethod, so the lock's feedback is
	// read with the right polarity before the first lock command.
	LockMethod hw.LockMethod
}

// Driver is the opened hardware.
type Driver struct {
	cfg   Config
	now   func() time.Time
	clock hw.Clock // Now and Sleep, for the wait for C1 (halt.go)
	pilot *pilot
	pp    *proximity
	c1    *contactor
	c2    *contactor
	lock  hw.Lock
	lk    *lock
	epo   *epo
	rcm   *rcm

	edgePins []edgeWatch
	closers  []io.Closer
	outputs  []func()    // drive one output safe, all but C2's
	c2Safe   func()      // drive C2's output safe: only after C1 (halt.go)
	c1Closed func() bool // C1's feedback, from the moment Open finds it

	mu       sync.Mutex
	stop     chan struct{}
	wg       sync.WaitGroup
	n        int // sampler passes, for the PP's slower pace
	onEdge   func()
	started  bool
	watching bool
	closed   bool
}

type edgeWatch struct {
	pin gpio.PinIn
	fn  func()
}

// Open resolves every configured pin and bus. Outputs are driven safe
// the moment they are found (C1 open, pilot steady +12 V, lock and test
// outputs off; C2 open once C1 reads open, releaseC2), before anything
// else is checked; when a pin or
// bus is missing, Open returns an error naming each missing one, and the
// outputs it found stay safe.
func Open(cfg Config, parts Parts, o Options) (*Driver, error) {
	if parts.Now == nil {
		parts.Now = time.Now
	}
	if parts.AfterFunc == nil {
		parts.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if parts.Sleep == nil {
		parts.Sleep = time.Sleep
	}
	d := &Driver{cfg: cfg, now: parts.Now, clock: driverClock{parts.Now, parts.Sleep}}
	var es []error
	missing := func(field, name string) {
		es = append(es, fmt.Errorf("%s%s: no pin %q on this machine", parts.Prefix, field, name))
	}
	pins := map[string]gpio.PinIO{}
	for _, u := range cfg.pins() {
		if u.name == "" {
			continue
		}
		p := parts.Pin(u.name)
		if p == nil {
			missing(u.field, u.name)
			continue
		}
		pins[u.field] = p
		switch {
		case u.field == "contactor2.pin":
			d.c2Safe = d.safeOutput(u.field, p) // after C1, below
		case u.output:
			safe := d.safeOutput(u.field, p)
			d.outputs = append(d.outputs, safe)
			safe()
		}
	}
	if fb := pins["contactor.feedback_pin"]; fb != nil {
		// Read now, so C2 waits for C1 here too: a process that died
		// with C1 closed under load may have left both coils driven.
		_ = fb.In(gpio.Float, gpio.NoEdge)
		want := level(true, cfg.Contactor.FeedbackActiveLow)
		d.c1Closed = func() bool { return fb.Read() == want }
	}
	d.releaseC2()
	var a adc
	switch cfg.ADC.Type {
	case ADCMCP3004, ADCMCP3008:
		port, err := parts.SPI(cfg.ADC.Bus)
		if err != nil {
			es = append(es, fmt.Errorf("%sadc.bus: SPI port %q: %w", parts.Prefix, cfg.ADC.Bus, err))
			break
		}
		d.closers = append(d.closers, port)
		if a, err = newMCP300x(port, cfg.ADC); err != nil {
			es = append(es, fmt.Errorf("%sadc: %w", parts.Prefix, err))
		}
	default:
		bus, err := parts.I2C(cfg.ADC.Bus)
		if err != nil {
			es = append(es, fmt.Errorf("%sadc.bus: I2C bus %q: %w", parts.Prefix, cfg.ADC.Bus, err))
			break
		}
		d.closers = append(d.closers, bus)
		if a, err = newADS1x15(bus, cfg.ADC); err != nil {
			es = append(es, fmt.Errorf("%sadc: %w", parts.Prefix, err))
		}
	}
	if a != nil {
		// One reading proves the converter answers before the charger
		// depends on it.
		if _, err := a.read(cfg.Pilot.Channel); err != nil {
			es = append(es, fmt.Errorf("%sadc: %s on %s does not answer: %w", parts.Prefix, cfg.ADC.Type, cfg.ADC.Bus, err))
		}
	}
	if len(es) > 0 {
		d.closeBuses()
		return nil, errors.Join(es...)
	}
	if err := d.build(cfg, pins, a, parts, o); err != nil {
		d.halt()
		d.closeBuses()
		return nil, err
	}
	return d, nil
}

// safeOutput returns the function that drives one output safe.
func (d *Driver) safeOutput(field string, p gpio.PinIO) func() {
	c := d.cfg
	switch field {
	case "contactor.pin":
		return func() { _ = p.Out(level(false, c.Contactor.ActiveLow)) }
	case "contactor2.pin":
		return func() { _ = p.Out(level(false, c.Contactor2.ActiveLow)) }
	case "pilot.pwm_pin":
		return func() { _ = p.Out(gpio.Level(!c.Pilot.Inverted)) } // steady +12 V
	case "rcm.test_pin":
		return func() { _ = p.Out(level(false, c.RCM.TestActiveLow)) }
	}
	return func() { _ = p.Out(gpio.Low) } // lock drive off
}

// build assembles the devices once every part is there.
func (d *Driver) build(cfg Config, pins map[string]gpio.PinIO, a adc, parts Parts, o Options) error {
	var es []error
	in := func(field string, p gpio.PinIO, pl gpio.Pull, edge gpio.Edge) {
		if err := p.In(pl, edge); err != nil {
			es = append(es, fmt.Errorf("%s%s: %s as input: %w", parts.Prefix, field, p, err))
		}
	}
	d.pilot = newPilot(pins["pilot.pwm_pin"], cfg.Pilot, a, d.now)
	d.pilot.SetDuty(1000)
	if cfg.Proximity.Channel >= 0 {
		d.pp = &proximity{adc: a, cfg: cfg.Proximity}
		_ = d.pp.sampleOnce()
	}
	if cfg.EPO.Pin != "" {
		p := pins["epo.pin"]
		in("epo.pin", p, pull(cfg.EPO.Pull), gpio.BothEdges)
		d.epo = &epo{in: input{pin: p, activeLow: cfg.EPO.ActiveLow}, onPress: d.forceOpen}
		d.edgePins = append(d.edgePins, edgeWatch{p, d.epo.edge})
	}
	if cfg.RCM.FaultPin != "" {
		p := pins["rcm.fault_pin"]
		in("rcm.fault_pin", p, pull(cfg.RCM.Pull), gpio.BothEdges)
		d.rcm = &rcm{fault: input{pin: p, activeLow: cfg.RCM.FaultActiveLow}, test: pins["rcm.test_pin"],
			testActiveLow: cfg.RCM.TestActiveLow, timeout: cfg.RCM.TestTimeout, now: d.now, onTrip: d.forceOpen}
		d.edgePins = append(d.edgePins, edgeWatch{p, d.rcm.edge})
	}
	newContactor := func(c Contactor, prefix string) *contactor {
		fb := pins[prefix+".feedback_pin"]
		in(prefix+".feedback_pin", fb, gpio.Float, gpio.NoEdge)
		return &contactor{out: pins[prefix+".pin"], activeLow: c.ActiveLow, fb: fb, fbActiveLow: c.FeedbackActiveLow,
			inhibit: d.inhibit, now: d.now}
	}
	d.c1 = newContactor(cfg.Contactor, "contactor")
	if cfg.Contactor2.Pin != "" {
		d.c2 = newContactor(cfg.Contactor2, "contactor2")
	}
	d.lock = noLock{}
	if cfg.Lock.LockPin != "" {
		fb := pins["lock.feedback_pin"]
		in("lock.feedback_pin", fb, gpio.Float, gpio.NoEdge)
		d.lk = &lock{a: pins["lock.lock_pin"], b: pins["lock.unlock_pin"], fb: fb, cfg: cfg.Lock, after: parts.AfterFunc, method: o.LockMethod}
		d.lock = d.lk
	}
	return errors.Join(es...)
}

// inhibit reports an emergency stop or a residual-current trip: no
// contactor closes then.
func (d *Driver) inhibit() bool {
	return d.epo != nil && d.epo.held() || d.rcm != nil && d.rcm.held()
}

// forceOpen opens C1 from an input watcher. C2 stays where it is: it
// is in series behind C1, so C1 open de-energises L2/L3 as well, and
// opening C2 in the same instant would let its contacts part under load
// (invariant 21). C2 moves later only as the controller's phase
// sequence or a halt moves it, after C1.
func (d *Driver) forceOpen() {
	d.c1.forceOpen()
}

// Board returns the driver's devices for the controller.
func (d *Driver) Board() hw.Board {
	b := hw.Board{Pilot: d.pilot, Proximity: noProximity{}, Contactor: d.c1, Lock: d.lock, EPO: noEPO{}, Clock: d.clock}
	if d.pp != nil {
		b.Proximity = d.pp
	}
	if d.epo != nil {
		b.EPO = d.epo
	}
	if d.c2 != nil {
		b.Phases = d.c2
	}
	if d.rcm != nil {
		b.RCM = d.rcm
	}
	return b
}

// SampleOnce reads the pilot sense once and, every eighth pass, the
// proximity pilot. The sampler goroutine calls it in bursts; tests and
// hwcheck call it directly.
func (d *Driver) SampleOnce() error {
	err := d.pilot.sampleOnce()
	d.mu.Lock()
	d.n++
	pp := d.pp != nil && d.n%8 == 1
	d.mu.Unlock()
	if pp {
		if e := d.pp.sampleOnce(); err == nil {
			err = e
		}
	}
	return err
}

// Start runs the sampler and the input watchers until Close.
func (d *Driver) Start() {
	if d.begin() {
		// One burst first, so the controller's first step reads the
		// pilot rather than an empty window (an invalid level, a fault).
		for i := 0; i < 64; i++ {
			_ = d.SampleOnce()
		}
		d.wg.Add(1)
		go d.sampler()
	}
	d.WatchInputs()
}

// WatchInputs starts only the EPO and RCM edge watchers (Start does it
// too); tests drive the sampler themselves with SampleOnce.
func (d *Driver) WatchInputs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.watching {
		return
	}
	d.watching = true
	if d.stop == nil {
		d.stop = make(chan struct{})
	}
	d.wg.Add(len(d.edgePins))
	for _, w := range d.edgePins {
		go d.watch(w)
	}
}

// begin marks the sampler started; false when it already runs.
func (d *Driver) begin() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return false
	}
	d.started = true
	if d.stop == nil {
		d.stop = make(chan struct{})
	}
	return true
}

// burst is how long the sampler reads at full rate in each window: two
// PWM periods, so both levels of the wave are seen.
const burst = 2 * time.Millisecond

// sampler reads the ADC at its full rate for a burst at the start of
// every window, and rests for the remainder (the CPU is shared).
func (d *Driver) sampler() {
	defer d.wg.Done()
	defer d.recoverHalt()
	win := d.cfg.Pilot.Window
	for {
		start := time.Now()
		for i := 0; i < 2 || time.Since(start) < burst; i++ {
			_ = d.SampleOnce()
		}
		rest := win - time.Since(start)
		if rest <= 0 {
			rest = 0
		}
		select {
		case <-d.stop:
			return
		case <-time.After(rest):
		}
	}
}

// watch waits for the edges of one input and hands each to fn. The
// finite timeout only lets it notice Close.
func (d *Driver) watch(w edgeWatch) {
	defer d.wg.Done()
	defer d.recoverHalt()
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		if w.pin.WaitForEdge(100 * time.Millisecond) {
			w.fn()
			if d.onEdge != nil {
				d.onEdge()
			}
		}
	}
}

// recoverHalt drives the outputs safe when a driver goroutine panics,
// then lets the panic go on.
func (d *Driver) recoverHalt() {
	if r := recover(); r != nil {
		d.halt()
		panic(r)
	}
}

// halt drives every output safe: C1 first, C2 last, once C1 reads open
// or after hw.C1ReleaseTime (releaseC2).
func (d *Driver) halt() {
	if d.c1 != nil {
		d.c1.Halt()
	}
	if d.pilot != nil {
		d.pilot.Halt()
	}
	if d.lk != nil {
		d.lk.halt()
	}
	if d.rcm != nil {
		d.rcm.halt()
	}
	for _, f := range d.outputs {
		f()
	}
	d.releaseC2()
}

// Close stops the goroutines, drives every output safe and releases the
// buses. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.stop != nil && !d.closed {
		close(d.stop)
		d.closed = true
	}
	d.mu.Unlock()
	d.wg.Wait()
	d.halt()
	return d.closeBuses()
}

func (d *Driver) closeBuses() error {
	var es []error
	for _, c := range d.closers {
		es = append(es, c.Close())
	}
	d.closers = nil
	return errors.Join(es...)
}

// Errors lists the last I/O error of each device, for logs and hwcheck.
func (d *Driver) Errors() string {
	var parts []string
	addErr := func(what string, err error) {
		if err != nil {
			parts = append(parts, what+": "+err.Error())
		}
	}
	d.pilot.mu.Lock()
	addErr("pilot output", d.pilot.outErr)
	addErr("pilot sense", d.pilot.readErr)
	d.pilot.mu.Unlock()
	for _, c := range []*contactor{d.c1, d.c2} {
		if c != nil {
			c.mu.Lock()
			addErr("contactor", c.err)
			c.mu.Unlock()
		}
	}
	return strings.Join(parts, "; ")
}
