package controller

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// ownerRig runs a Controller on the simulator; the test is its clock: it
// sends ticks and advances the simulator in the same step.
type ownerRig struct {
	t      *testing.T
	sim    *sim.Sim
	c      *Controller
	ticks  chan time.Time
	now    time.Time
	cancel context.CancelFunc
	done   chan struct{}
	saved  []settings.Settings
	failTo error // persist fails with this when set
	mu     sync.Mutex
}

func newOwnerRig(t *testing.T) *ownerRig {
	sm := sim.New(epoch)
	o := &ownerRig{t: t, sim: sm, ticks: make(chan time.Time), now: epoch, done: make(chan struct{})}
	m := NewMachine(sm.Board(), DefaultParams(), settings.Defaults())
	o.c = New(m, o.persist, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go func() { defer close(o.done); o.c.Run(ctx, o.ticks) }()
	t.Cleanup(o.stop)
	return o
}

func (o *ownerRig) persist(s settings.Settings) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failTo != nil {
		return o.failTo
	}
	o.saved = append(o.saved, s)
	return nil
}

func (o *ownerRig) stop() {
	o.cancel()
	select {
	case <-o.done:
	case <-time.After(5 * time.Second):
		o.t.Fatal("control loop did not end")
	}
}

// run sends ticks for d; each send returns once the loop has taken it,
// and the next send waits for that step to finish.
func (o *ownerRig) run(d time.Duration) {
	for end := o.now.Add(d); o.now.Before(end); {
		o.now = o.now.Add(tick)
		o.sim.Tick(o.now)
		o.ticks <- o.now
	}
	o.now = o.now.Add(tick)
	o.sim.Tick(o.now)
	o.ticks <- o.now // the previous step has completed when this is taken
}

func TestControllerOwnsTheMachine(t *testing.T) {
	o := newOwnerRig(t)
	sub, cancel := o.c.Subscribe()
	defer cancel()
	o.run(100 * time.Millisecond)
	if st := o.c.Status(); st.State != StateIdle {
		t.Fatalf("state %v, want idle", st.State)
	}
	select {
	case <-sub:
	default:
		t.Fatal("no notification for the first status")
	}
	if err := o.c.Start(); !errors.Is(err, ErrNoVehicle) {
		t.Fatalf("Start with no vehicle: %v", err)
	}
	v := o.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	o.sim.SetVehicle(v)
	o.run(3 * time.Second)
	if st := o.c.Status(); st.State != StateCharge || !st.ContactorFeedback || !st.ChargerStarted {
		t.Fatalf("after plug-in: %+v", st)
	}
	// Commands from many goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- o.c.SetCharging(true)
			_, err := o.c.ToggleBoost()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrBoostNotNeeded) {
			t.Fatalf("concurrent command: %v", err)
		}
	}
	started, err := o.c.ToggleCharging()
	if err != nil || started {
		t.Fatalf("toggle: started %v, %v; want stopped", started, err)
	}
	o.run(100 * time.Millisecond)
	if st := o.c.Status(); st.ChargerStarted || st.DutyPermille != DutySteady {
		t.Fatalf("after the stop toggle: %+v", st)
	}

	// Settings: refused requests change nothing and persist nothing.
	_, _, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage(`5`)})
	if bad == nil || err != nil || o.c.Settings().ChargeCurrent != 16 || len(o.saved) != 0 {
		t.Fatalf("invalid request: bad %v err %v current %d saved %d", bad, err, o.c.Settings().ChargeCurrent, len(o.saved))
	}
	o.mu.Lock()
	o.failTo = errors.New("disk full")
	o.mu.Unlock()
	if _, _, _, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage(`10`)}); err == nil || o.c.Settings().ChargeCurrent != 16 {
		t.Fatalf("persist failure: err %v, current %d; want an error and nothing applied", err, o.c.Settings().ChargeCurrent)
	}
	o.mu.Lock()
	o.failTo = nil
	o.mu.Unlock()
	changes, next, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage(`10`)})
	if err != nil || bad != nil || len(changes) != 1 || next.ChargeCurrent != 10 || o.c.Settings().ChargeCurrent != 10 || len(o.saved) != 1 {
		t.Fatalf("valid request: %v %v %v %+v", changes, bad, err, next)
	}
	if err := o.c.Start(); err != nil {
		t.Fatal(err)
	}
	o.run(6 * time.Second)
	if st := o.c.Status(); st.DutyPermille != 166 || !st.ContactorFeedback {
		t.Fatalf("at 10 A: duty %d contactor %v", st.DutyPermille, st.ContactorFeedback)
	}

	// Shutdown halts the hardware.
	o.stop()
	if st := o.sim.State(); st.Contactor || st.PilotDuty != 100 {
		t.Fatalf("after shutdown: contactor %v duty %v%%", st.Contactor, st.PilotDuty)
	}
	if err := o.c.Start(); !errors.Is(err, ErrStopped) {
		t.Fatalf("command after shutdown: %v, want ErrStopped", err)
	}
}
