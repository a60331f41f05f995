package ocpp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// fake is a charger behind the seam, with the optional external cap and
// availability, whose state the test sets.
type fake struct {
	mu        sync.Mutex
	st        charger.Status
	set       settings.Settings
	limit     units.Amps
	operative bool
	subs      []chan struct{}
	resets    int
	limitSet  chan struct{} // signalled on every SetExternalLimit
}

// waitLimit waits for the external cap to satisfy ok.
func (f *fake) waitLimit(t *testing.T, what string, ok func(units.Amps) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !ok(f.externalLimit()) {
		select {
		case <-f.limitSet:
		case <-deadline:
			t.Fatalf("%s: cap %v", what, f.externalLimit())
		}
	}
}

func newFake() *fake {
	f := &fake{set: settings.Defaults(), operative: true, limit: -1, limitSet: make(chan struct{}, 1)}
	f.st.State = controller.StateIdle
	return f
}

func (f *fake) update(mut func(st *charger.Status)) {
	f.mu.Lock()
	mut(&f.st)
	subs := f.subs
	f.mu.Unlock()
	for _, s := range subs {
		select {
		case s <- struct{}{}:
		default:
		}
	}
}

func (f *fake) Status() charger.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fake) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}

func (f *fake) Settings() settings.Settings       { return f.set }
func (f *fake) Params() charger.Params            { return charger.Params{HardwareMax: 32} }
func (f *fake) OnApplied(func(settings.Settings)) {}
func (f *fake) ToggleCharging() (bool, error) {
	on := !f.Status().ChargerStarted
	return on, f.SetCharging(on)
}

func (f *fake) SetCharging(on bool) error {
	f.mu.Lock()
	op, plugged := f.operative, f.st.VehicleConnected
	f.mu.Unlock()
	switch {
	case on && !op:
		return controller.ErrInoperative
	case on && !plugged:
		return controller.ErrNoVehicle
	}
	f.update(func(st *charger.Status) { st.ChargerStarted = on })
	return nil
}

func (f *fake) ToggleBoost() (bool, error)           { return false, errors.New("no boost") }
func (f *fake) SetBoost(bool) error                  { return errors.New("no boost") }
func (f *fake) SetSupervisorPower(units.Watts) error { return charger.ErrNoSupervisor }
func (f *fake) UpdateSettings(map[string]json.RawMessage) ([]settings.Change, settings.Settings, map[string]string, error) {
	return nil, f.set, nil, nil
}

func (f *fake) SetExternalLimit(a units.Amps, _ time.Time) error {
	f.mu.Lock()
	f.limit = a
	f.mu.Unlock()
	select {
	case f.limitSet <- struct{}{}:
	default:
	}
	return nil
}

func (f *fake) SetOperative(on bool) error {
	f.mu.Lock()
	f.operative = on
	f.mu.Unlock()
	if !on {
		return f.SetCharging(false)
	}
	return nil
}

func (f *fake) Operative() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.operative
}

func (f *fake) externalLimit() units.Amps {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limit
}

// newTestClient is a charge point on a fake charger with its state in a
// temporary directory; url may be a closed port when the test only calls
// handlers.
func newTestClient(t testing.TB, url string, liveness time.Duration) (*Client, *fake) {
	f := newFake()
	tb := command.New(f, command.Services{Reset: func() error { f.mu.Lock(); f.resets++; f.mu.Unlock(); return nil }}, zerolog.Nop())
	cfg := Defaults()
	cfg.URL, cfg.ID, cfg.Liveness = url, "cp1", liveness
	c, err := New(Options{Config: cfg, Charger: f, Commands: tb, StateDir: t.TempDir(), DeviceID: "evse-test", Version: "1.0", Log: zerolog.Nop(), RetryMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// run runs the client until the test ends.
func run(t testing.TB, c *Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}
