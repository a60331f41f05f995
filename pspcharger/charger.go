// Package pspcharger is the charger backend that bridges a real PSP EVSE
// v1.0 box over its WebAPI v1 (package pspbox): it polls the box into the
// status snapshot of package charger, sends every command through the
// box's own endpoints, and — in supervisor mode — pushes the available
// power our leases allow to the box. The surfaces (command table, WebAPI,
// MQTT) serve it exactly as they serve the local controller.
//
// One goroutine (Run) reads the box: Status every Poll, SystemConfig and
// SystemInfo at start, every InfoEvery and after each write, the meters
// every MeterEvery while they are configured. Commands run in their
// callers' goroutines; pspbox serialises the writes and confirms each by
// reading it back.
package pspcharger

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/internal/notify"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Defaults of Options.
const (
	DefaultPoll       = time.Second
	DefaultInfoEvery  = 60 * time.Second
	DefaultMeterEvery = 5 * time.Second
	// CommandTimeout bounds one command: a read, one write and its read
	// back (pspbox bounds each request on its own).
	CommandTimeout = 15 * time.Second
)

// Options configure a bridged box.
type Options struct {
	Client     *pspbox.Client
	Poll       time.Duration // Status; 0: DefaultPoll
	InfoEvery  time.Duration // SystemConfig and SystemInfo; 0: DefaultInfoEvery
	MeterEvery time.Duration // Meter1/Meter2; 0: DefaultMeterEvery
	// Supervise makes the bridge the box's external supervisor
	// (Meter2Type 7, Meter2Ip = our address, ControlStrategy 1).
	Supervise bool
	// Limiter gives the lease's time to live, how old a control meter
	// reading may be, and the fallback applied when neither is valid.
	Limiter controller.LimiterParams
	// ControlMeter says that the bridge reads a control meter at the
	// connection point itself (SetControlMeter), as a second input of
	// the supervisor beside the leases.
	ControlMeter bool
	HardwareMax  units.Amps
	// Push paces the supervisor's pushes; the zero value uses pspbox's
	// defaults (every change, at least every 10 s).
	Push pspbox.PushPolicy
	Now  func() time.Time // nil: time.Now
	Log  zerolog.Logger
}

// Charger is a bridged box. It satisfies charger.Charger, charger.Box and
// charger.SupervisorGate.
type Charger struct {
	o   Options
	c   *pspbox.Client
	log zerolog.Logger

	wake  chan struct{} // a write or a lease: read (and push) now
	ready chan struct{} // closed once SystemInfo was read
	once  sync.Once

	mu         sync.RWMutex
	st         charger.Status
	raw        pspbox.Status
	haveStatus bool
	cfg        settings.Settings
	haveCfg    bool
	info       pspbox.SystemInfo
	meters     [2]*pspbox.Meter
	lease      lease
	site       hw.MeterReading // the bridge's control meter, last reading
	siteOK     bool
	pushed     units.Watts // last power the box took (supervisor)
	superErr   string      // why supervision does not work now; "" when it does
	subs       notify.Set

	hookMu sync.Mutex
	hooks  []func(settings.Settings)
}

type lease struct {
	power   units.Watts
	expires time.Time
	valid   bool
}

var (
	_ charger.Charger        = (*Charger)(nil)
	_ charger.Box            = (*Charger)(nil)
	_ charger.SupervisorGate = (*Charger)(nil)
)

// New returns the backend; it does not contact the box until Run.
func New(o Options) (*Charger, error) {
	if o.Client == nil {
		return nil, errors.New("pspcharger: a client is required")
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.InfoEvery <= 0 {
		o.InfoEvery = DefaultInfoEvery
	}
	if o.MeterEvery <= 0 {
		o.MeterEvery = DefaultMeterEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HardwareMax <= 0 {
		o.HardwareMax = pspbox.DefaultHardwareMax
	}
	if o.Limiter.LeaseTTL <= 0 {
		o.Limiter = controller.DefaultLimiterParams()
	}
	c := &Charger{o: o, c: o.Client, log: o.Log.With().Str("component", "pspcharger").Str("box", o.Client.URL()).Logger(),
		wake: make(chan struct{}, 1), ready: make(chan struct{})}
	c.st = charger.Status{State: controller.StateWaiting, Unreachable: charger.ErrUnreachable.Error() + ": not read yet", Reason: "box not read yet"}
	return c, nil
}

// Ready is closed once the box's SystemInfo has been read (its identity
// is known).
func (c *Charger) Ready() <-chan struct{} { return c.ready }

// Status returns the latest snapshot.
func (c *Charger) Status() charger.Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st
}

// Subscribe returns a channel signalled (coalesced) on every change a
// subscriber should hear at once.
func (c *Charger) Subscribe() (<-chan struct{}, func()) { return c.subs.Subscribe() }

// Settings returns the box's SystemConfig as last read (the defaults
// before the first read).
func (c *Charger) Settings() settings.Settings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.haveCfg {
		return settings.Defaults()
	}
	return c.cfg
}

// Params returns the installation's maximum; the box's own timings are
// its firmware's.
func (c *Charger) Params() charger.Params {
	p := controller.DefaultParams()
	p.HardwareMax = c.o.HardwareMax
	p.Limiter = c.o.Limiter
	return p
}

// OnApplied makes f follow every change of the box's settings, ours or
// made on the box (its app, its buttons), once read.
func (c *Charger) OnApplied(f func(settings.Settings)) {
	c.hookMu.Lock()
	c.hooks = append(c.hooks, f)
	c.hookMu.Unlock()
}

func (c *Charger) applied(s settings.Settings) {
	c.hookMu.Lock()
	hs := append([](func(settings.Settings)){}, c.hooks...)
	c.hookMu.Unlock()
	for _, h := range hs {
		h(s)
	}
}

// Identity is the box's SystemInfo as last read.
func (c *Charger) Identity() charger.Identity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return charger.Identity{SystemVersion: c.info.SystemVersion, ProductType: c.info.ProductType, MAC: c.info.MAC}
}

// URL is the box's address.
func (c *Charger) URL() string { return c.c.URL() }

// poke asks the loop to read the box (and push) now.
func (c *Charger) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// publish replaces the snapshot and tells subscribers when it changed.
func (c *Charger) publish(st charger.Status) {
	c.mu.Lock()
	prev := c.st
	c.st = st
	c.mu.Unlock()
	if changed(&prev, &st) {
		c.subs.Notify()
	}
}

// changed reports whether b differs from a in anything but the running
// counters (as the controller judges its own snapshots).
func changed(a, b *charger.Status) bool {
	x, y := *a, *b
	x.At, y.At = time.Time{}, time.Time{}
	x.Energy, y.Energy = 0, 0
	x.Duration, y.Duration = 0, 0
	x.ActualPower, y.ActualPower = 0, 0
	x.PowerAvailable, y.PowerAvailable = 0, 0
	x.SupervisorLeaseEnd, y.SupervisorLeaseEnd = time.Time{}, time.Time{}
	d := a.ActualPower - b.ActualPower
	e := a.PowerAvailable - b.PowerAvailable
	return x != y || d >= 100 || d <= -100 || e >= 100 || e <= -100
}

// unreachable wraps a failure to reach the box so that it matches
// charger.ErrUnreachable.
type unreachable struct{ msg string }

func (e *unreachable) Error() string        { return e.msg }
func (e *unreachable) Is(target error) bool { return target == charger.ErrUnreachable }

// gate fails at once while the box is known unreachable.
func (c *Charger) gate() error {
	if why := c.Status().Unreachable; why != "" {
		return &unreachable{why}
	}
	return nil
}

// asCharger maps pspbox's errors to the seam's.
func asCharger(err error) error {
	if err != nil && errors.Is(err, pspbox.ErrUnreachable) && !errors.Is(err, pspbox.ErrUnconfirmed) {
		return &unreachable{err.Error()}
	}
	return err
}

func (c *Charger) cmdContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CommandTimeout)
}
