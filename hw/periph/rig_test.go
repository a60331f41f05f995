package periph_test

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// samplesPerStep is how many ADC readings the rig takes between two
// control steps: about one 2 ms burst of the sampler at ~30 kSPS.
const samplesPerStep = 64

// rig is the controller on the periph driver on the fake circuit around
// the simulator, stepped in 10 ms on a virtual clock as the daemon does.
type rig struct {
	t     testing.TB
	clock *periphtest.Clock
	sim   *sim.Sim
	circ  *periphtest.Circuit
	drv   *periph.Driver
	m     *controller.Machine
	p     controller.Params
	now   time.Time
	st    controller.Status
}

func newRig(t testing.TB, seed int64, mutate func(*periph.Config, *controller.Params, *settings.Settings)) *rig {
	t.Helper()
	cfg := periphtest.Config()
	p := controller.DefaultParams()
	s := settings.Defaults()
	if mutate != nil {
		mutate(&cfg, &p, &s)
	}
	if es := cfg.Validate(""); len(es) > 0 {
		t.Fatal(es)
	}
	r := &rig{t: t, clock: periphtest.NewClock(epoch), sim: sim.New(epoch), now: epoch}
	r.circ = periphtest.New(r.sim, cfg, r.clock, seed)
	var err error
	r.drv, err = periph.Open(cfg, r.circ.Parts(), periph.Options{LockMethod: hw(s.LockMethod)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.drv.Close() })
	r.m, r.p = controller.NewMachine(r.drv.Board(), p, s), p
	r.step()
	return r
}

// step advances 10 ms: timers and the car first, then a burst of ADC
// readings, then the controller.
func (r *rig) step() {
	r.now = r.now.Add(10 * time.Millisecond)
	r.clock.Advance(r.now)
	r.sim.Tick(r.now)
	for i := 0; i < samplesPerStep; i++ {
		if err := r.drv.SampleOnce(); err != nil {
			r.t.Fatal(err)
		}
	}
	r.m.Step(r.now)
	r.m.Snapshot(r.now, &r.st)
}

func (r *rig) until(limit time.Duration, what string, cond func() bool) {
	r.t.Helper()
	for end := r.now.Add(limit); !cond(); r.step() {
		if r.now.After(end) {
			r.t.Fatalf("%s: not within %v (state %v, fault %q, reason %q, duty %d)", what, limit, r.st.State, r.st.Fault, r.st.Reason, r.st.DutyPermille)
		}
	}
}

func (r *rig) vehicle(f func(v *sim.Vehicle)) {
	v := r.sim.Vehicle()
	f(&v)
	r.sim.SetVehicle(v)
}

func (r *rig) plugAndCharge() {
	r.t.Helper()
	r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge = true, true })
	r.until(10*time.Second, "charging", func() bool { return r.st.State == controller.StateCharge && r.st.ContactorFeedback })
}
