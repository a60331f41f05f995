package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/internal/notify"
	looptick "github.com/evse-mqtt/evse-mqtt/internal/tick"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// ErrStopped is returned by commands when the control loop is not running.
var ErrStopped = errors.New("controller not running")

// Controller owns a Machine from one goroutine (Run). Its methods are safe
// to call from any goroutine: commands are queued to the loop and applied
// at the loop's current time, so the Machine never sees a clock of its own.
type Controller struct {
	board   hw.Board
	persist func(settings.Settings) error
	log     zerolog.Logger

	cmds   chan command
	meters chan meterUpdate
	done   chan struct{}

	setMu sync.Mutex // serialises settings writers (validate → persist → apply)

	snap atomic.Pointer[snapshot] // the latest step's snapshot

	mu     sync.RWMutex
	m      *Machine
	params Params
	subs   notify.Set

	hookMu    sync.Mutex
	onApplied []func(settings.Settings)

	restart *pendingRestart // owned by the loop

	modeMu   sync.Mutex // serialises mode writers (persist → apply)
	saveMode func(Mode) error

	// RunClock's timing, for /debug/v1/loop and the soak, and its clock.
	stats LoopStats
	clock atomic.Pointer[clockRef]
}

type meterUpdate struct {
	n int
	r hw.MeterReading
}

// New returns a controller for a machine. persist is called with the new
// settings before they are applied; if it fails nothing is applied.
func New(m *Machine, persist func(settings.Settings) error, log zerolog.Logger) *Controller {
	if persist == nil {
		persist = func(settings.Settings) error { return nil }
	}
	return &Controller{
		board:   m.board,
		persist: persist,
		log:     log.With().Str("component", "controller").Logger(),
		cmds:    make(chan command, 16), // queued, then the loop is woken
		meters:  make(chan meterUpdate, 8),
		done:    make(chan struct{}),
		m:       m,
		params:  m.p,
	}
}

// Run steps the machine on every tick until ctx ends, then halts the
// hardware (contactor open, pilot steady). A panic also halts the
// hardware before it propagates. The ticks are the machine's clock (tests
// inject theirs); the daemon runs RunClock.
func (c *Controller) Run(ctx context.Context, ticks <-chan time.Time) {
	defer close(c.done)
	defer c.haltOnPanic()
	var now time.Time
	var st Status
	for {
		select {
		case <-ctx.Done():
			c.halt(now, &st)
			return
		case now = <-ticks:
			c.step(now, &st)
		case u := <-c.meters:
			c.m.SetMeter(u.n, u.r)
		case k := <-c.cmds:
			c.run(k, now, &st)
		}
	}
}

// ---- The daemon's loop (RunClock) and its timing. ----

// Clock is RunClock's time source; internal/tick implements it.
type Clock interface {
	// Wait blocks until the next tick or a Wake.
	Wait() (looptick.Event, error)
	// Wake makes the current or next Wait return (from any goroutine).
	Wake()
}

// clockRef holds the running loop's Clock, for do to wake it.
type clockRef struct{ Clock }

// RunClock is Run on a real clock: this goroutine waits for the clock
// itself — no goroutine hands it the tick — and on every tick calls
// sample(now), which advances the hardware model (the simulator), then
// steps the machine at now, the real time of the step, however late it
// is. Commands wake it at once; meter readings wait for the next tick.
// Each step's lateness against its due instant and the ticks that fell
// due without a step are counted (LoopStats). A clock error halts the
// hardware and ends the loop.
func (c *Controller) RunClock(ctx context.Context, clk Clock, sample func(now time.Time)) {
	defer close(c.done)
	defer c.haltOnPanic()
	c.clock.Store(&clockRef{clk})
	var ended atomic.Bool
	stop := context.AfterFunc(ctx, func() { ended.Store(true); clk.Wake() })
	defer stop()
	var now time.Time
	var st Status
	for {
		// Commands before the next wait: a Wake may have been for them.
		// A select locks all three channels, so a tick with nothing
		// queued and no end (nearly all) only reads the queue lengths
		// and the flag; a sender's Wake orders its send before this.
		if ended.Load() || len(c.cmds) > 0 || len(c.meters) > 0 {
			select {
			case <-ctx.Done():
				c.halt(now, &st)
				return
			case k := <-c.cmds:
				c.run(k, now, &st)
				continue
			case u := <-c.meters:
				c.m.SetMeter(u.n, u.r)
				continue
			default:
			}
		}
		ev, err := clk.Wait()
		if err != nil {
			c.log.Error().Err(err).Msg("control loop clock failed; hardware halted")
			c.halt(now, &st)
			return
		}
		if !ev.Tick {
			continue
		}
		now = time.Now()
		if sample != nil {
			sample(now)
		}
		c.step(now, &st)
		c.stats.record(time.Since(ev.Due), ev.Missed)
	}
}

// LoopStats returns RunClock's step count, the ticks that fell due
// without a step, and how late the steps finished.
func (c *Controller) LoopStats() LoopSnapshot { return c.stats.Snapshot() }

// wake interrupts RunClock's wait so a queued command runs now.
func (c *Controller) wake() {
	if r := c.clock.Load(); r != nil {
		r.Wake()
	}
}

// halt is the loop's way out: through the machine, so the last snapshot
// (and what MQTT publishes last) shows the safe state.
func (c *Controller) halt(now time.Time, st *Status) {
	if now.IsZero() {
		return
	}
	c.m.Halt(now)
	c.m.Snapshot(now, st)
	c.publish(st)
	c.subs.Notify()
}

func (c *Controller) haltOnPanic() {
	c.board.Halt()
	if r := recover(); r != nil {
		c.log.Error().Interface("panic", r).Msg("control loop panicked; hardware halted")
		panic(r)
	}
}

// publish makes st the snapshot Status returns and reports whether it
// differs from the previous one in a way subscribers hear about. Readers
// load a pointer: no lock is shared between HTTP handlers and the loop.
//
// A step that changed nothing but the time (an idle charger: nearly
// every step) only advances the published snapshot's age: no allocation,
// so an idle loop touches a few cache lines a tick and leaves the garbage
// collector nothing to do (README, "Control loop under load").
func (c *Controller) publish(st *Status) bool {
	prev := c.snap.Load()
	if prev != nil && prev.sameBut(st) {
		prev.age.Store(int64(st.At.Sub(prev.st.At)))
		return false
	}
	c.snap.Store(&snapshot{st: *st})
	return prev == nil || changed(&prev.st, st)
}

// snapshot is a published Status whose At is st.At+age: steps that
// change nothing else advance age instead of publishing anew. Keeping age
// in the snapshot it belongs to means a reader never adds one
// snapshot's age to another's time.
type snapshot struct {
	st  Status
	age atomic.Int64 // time.Duration since st.At
}

// sameBut reports whether next differs from s only in its time, and
// that time is s's advanced by the monotonic clock with the wall clock
// agreeing to within wallSkew: a stepped wall clock (NTP after boot)
// publishes anew, so At's wall time is never off by more than that.
func (s *snapshot) sameBut(next *Status) bool {
	d := next.At.Sub(s.st.At) // monotonic when both have a reading
	if d < 0 || !withinSkew(d, next.At.Round(0).Sub(s.st.At.Round(0))) {
		return false
	}
	y := *next
	y.At = s.st.At
	return y == s.st
}

// wallSkew is how far the wall clock may have moved against the
// monotonic one before a step publishes anew: time.Now reads the two
// clocks one after the other, so they never agree to the nanosecond.
const wallSkew = time.Millisecond

// withinSkew reports whether a monotonic and a wall-clock interval agree.
func withinSkew(mono, wall time.Duration) bool {
	skew := mono - wall
	return -wallSkew <= skew && skew <= wallSkew
}

// status is the published Status with its time.
func (s *snapshot) status() Status {
	st := s.st
	if age := s.age.Load(); age != 0 {
		st.At = st.At.Add(time.Duration(age))
	}
	return st
}

func (c *Controller) step(now time.Time, st *Status) {
	if now.IsZero() {
		return
	}
	prevFault := c.m.fault
	c.m.Step(now)
	if c.restartDue(now) {
		c.swap(now)
	}
	c.m.Snapshot(now, st)
	if st.Fault != prevFault {
		if st.Fault != FaultNone {
			c.log.Warn().Str("fault", st.Fault.String()).Msg("fault")
		} else {
			c.log.Info().Str("was", prevFault.String()).Msg("fault cleared")
		}
	}
	if c.publish(st) {
		c.subs.Notify()
	}
}

// Subscribe returns a channel that receives a signal whenever the status
// changes in a way worth publishing; read Status for the snapshot. cancel
// ends the subscription.
func (c *Controller) Subscribe() (<-chan struct{}, func()) { return c.subs.Subscribe() }

// Status returns the latest snapshot (the zero Status before the first
// step).
func (c *Controller) Status() Status {
	if p := c.snap.Load(); p != nil {
		return p.status()
	}
	return Status{}
}

// Params returns the fixed parameters in force.
func (c *Controller) Params() Params {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.params
}

// do runs f on the loop and returns its error.
// command is one queued call of do: f runs on the loop, and its error is
// answered on reply once the step after it has published the snapshot.
type command struct {
	f     func(now time.Time) error
	reply chan<- error
}

// run applies k and steps, then answers: a caller that reads Status
// after do returns sees what the command did (a stop answered before the
// snapshot said so let a client read "started" after its own stop).
func (c *Controller) run(k command, now time.Time, st *Status) {
	err := k.f(now)
	c.step(now, st)
	k.reply <- err
}

func (c *Controller) do(f func(now time.Time) error) error {
	errc := make(chan error, 1)
	select {
	case c.cmds <- command{f, errc}:
		c.wake()
	case <-c.done:
		return ErrStopped
	}
	select {
	case err := <-errc:
		return err
	case <-c.done:
		// The loop ended; it may still have run f on its way out.
		select {
		case err := <-errc:
			return err
		default:
			return ErrStopped
		}
	}
}

// Start starts a session (idempotent).
func (c *Controller) Start() error { return c.do(func(now time.Time) error { return c.m.Start(now) }) }

// Stop stops the session (idempotent).
func (c *Controller) Stop() error { return c.do(func(now time.Time) error { return c.m.Stop(now) }) }

// SetCharging starts (true) or stops (false) the session.
func (c *Controller) SetCharging(on bool) error {
	if on {
		return c.Start()
	}
	return c.Stop()
}

// ToggleCharging starts a stopped session or stops a started one and
// returns the new state.
func (c *Controller) ToggleCharging() (bool, error) {
	var started bool
	err := c.do(func(now time.Time) error {
		var err error
		if c.m.session {
			err = c.m.Stop(now) // stopping is always allowed, in a fault too
		} else {
			err = c.m.Start(now)
		}
		started = c.m.session
		return err
	})
	return started, err
}

// SetBoost switches boost on or off.
func (c *Controller) SetBoost(on bool) error {
	return c.do(func(time.Time) error { return c.m.SetBoost(on) })
}

// ToggleBoost switches boost and returns the new state.
func (c *Controller) ToggleBoost() (bool, error) {
	var on bool
	err := c.do(func(time.Time) error {
		err := c.m.SetBoost(!c.m.boost)
		on = c.m.boost
		return err
	})
	return on, err
}

// SetSupervisorPower stores the supervisor's available power as a lease.
func (c *Controller) SetSupervisorPower(w units.Watts) error {
	if w < 0 {
		return fmt.Errorf("power must not be negative, got %v W", float64(w))
	}
	return c.do(func(now time.Time) error { return c.m.SetSupervisorPower(w, now) })
}

// SetMeter hands a valid meter reading to the loop without blocking the
// meter poller for long: if the loop is busy the reading is dropped, the
// next poll brings a fresher one.
func (c *Controller) SetMeter(n int, r hw.MeterReading) {
	select {
	case c.meters <- meterUpdate{n, r}:
	default:
	}
}

// Settings returns the settings in force.
func (c *Controller) Settings() settings.Settings {
	var s settings.Settings
	if err := c.do(func(time.Time) error { s = c.m.set; return nil }); err != nil {
		c.mu.RLock()
		s = c.m.set
		c.mu.RUnlock()
	}
	return s
}

// UpdateSettings validates a SystemConfig request as a whole, persists the
// result and puts it in force. On any invalid object nothing is applied
// and bad holds a reason per request key. err is set when persisting
// failed (nothing applied either).
func (c *Controller) UpdateSettings(req map[string]json.RawMessage) (changes []settings.Change, next settings.Settings, bad map[string]string, err error) {
	c.setMu.Lock()
	defer c.setMu.Unlock()
	cur := c.Settings()
	next, changes, bad = settings.Patch(cur, req, int(c.Params().HardwareMax))
	if bad != nil {
		return nil, cur, bad, nil
	}
	if bad, err := c.refused(next); bad != nil || err != nil {
		return nil, cur, byRequestKey(req, bad), err
	}
	if err := c.persist(next); err != nil {
		return nil, cur, nil, fmt.Errorf("persist settings: %w", err)
	}
	if err := c.do(func(time.Time) error { bad = c.applySettings(next); return nil }); err != nil || bad != nil {
		// A car connected between the check and now: nothing applied.
		c.rollback(cur)
		return nil, cur, byRequestKey(req, bad), err
	}
	c.log.Info().Interface("settings", next).Msg("settings changed")
	c.applied(next)
	return changes, next, nil, nil
}

// ReplaceSettings persists and applies a whole settings set (factory
// default). It is validated like any other.
func (c *Controller) ReplaceSettings(s settings.Settings) error {
	c.setMu.Lock()
	defer c.setMu.Unlock()
	if es := s.Validate("", int(c.Params().HardwareMax)); len(es) > 0 {
		return es
	}
	cur := c.Settings()
	if bad, err := c.refused(s); bad != nil || err != nil {
		return errors.Join(err, refusal(bad))
	}
	if err := c.persist(s); err != nil {
		return fmt.Errorf("persist settings: %w", err)
	}
	var bad map[string]string
	if err := c.do(func(time.Time) error { bad = c.applySettings(s); return nil }); err != nil || bad != nil {
		c.rollback(cur)
		return errors.Join(err, refusal(bad))
	}
	c.applied(s)
	return nil
}

// refused asks the loop whether next may be applied now (see
// Machine.refuseSettings), before anything is persisted.
func (c *Controller) refused(next settings.Settings) (bad map[string]string, err error) {
	err = c.do(func(time.Time) error { bad = c.m.refuseSettings(next); return nil })
	return bad, err
}

// applySettings puts next in force unless a connected vehicle forbids it;
// it runs on the loop.
func (c *Controller) applySettings(next settings.Settings) map[string]string {
	if bad := c.m.refuseSettings(next); bad != nil {
		return bad
	}
	c.m.ApplySettings(next)
	return nil
}

// byRequestKey answers refuseSettings' reasons under the keys the request
// used (they match the field names case-insensitively), so each reason
// reaches the object it is about.
func byRequestKey(req map[string]json.RawMessage, bad map[string]string) map[string]string {
	if bad == nil {
		return nil
	}
	out := make(map[string]string, len(bad))
	for k := range req {
		if f, ok := settings.LookupField(k); ok {
			if why, ok := bad[f.Name]; ok {
				out[k] = why
			}
		}
	}
	if len(out) == 0 {
		return bad
	}
	return out
}

// refusal turns refuseSettings' reasons into one error (nil for none), in
// a stable order.
func refusal(bad map[string]string) error {
	var errs []error
	for _, k := range []string{"ChargerMode", "LockMethod"} {
		if why, ok := bad[k]; ok {
			errs = append(errs, errors.New(why))
		}
	}
	return errors.Join(errs...)
}

// rollback persists the settings still in force again after a change was
// saved but could not be applied (the loop had stopped): what is on disk
// must be what the caller was told is in force.
func (c *Controller) rollback(cur settings.Settings) {
	if err := c.persist(cur); err != nil {
		c.log.Error().Err(err).Msg("settings saved but not applied, and restoring the old ones failed")
	}
}

// OnApplied registers f to be called with the settings after every change
// has been put in force (and persisted): what publishes or follows the
// settings must see them only then. f must not block or call back into
// the controller (it may run on the control loop).
func (c *Controller) OnApplied(f func(settings.Settings)) {
	c.hookMu.Lock()
	c.onApplied = append(c.onApplied, f)
	c.hookMu.Unlock()
}

func (c *Controller) applied(s settings.Settings) {
	// Hooks run in order and one change at a time, so followers never see
	// an older set after a newer one.
	c.hookMu.Lock()
	defer c.hookMu.Unlock()
	for _, h := range c.onApplied {
		h(s)
	}
}
