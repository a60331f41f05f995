package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// cycle is a repeating script on the bare simulator board (no test
// wrappers): each call makes one event and one Machine.Step, walking
// A → B → C (closed) → fault → B → A over stepsPerCycle calls, so every
// path of the loop is measured, not just an idle tick.
type cycle struct {
	sim *sim.Sim
	m   *Machine
	now time.Time
	i   int
}

const stepsPerCycle = 1500

func newCycle() *cycle {
	sm := sim.New(epoch)
	s := settings.Defaults()
	s.ChargerMode = settings.ModeCaseB
	return &cycle{sim: sm, m: NewMachine(sm.Board(), DefaultParams(), s), now: epoch}
}

func (c *cycle) step() {
	switch c.i % stepsPerCycle {
	case 0:
		v := sim.DefaultVehicle()
		v.Plugged = true
		c.sim.SetVehicle(v)
	case 100:
		v := c.sim.Vehicle()
		v.RequestCharge = true
		c.sim.SetVehicle(v)
	case 600:
		_ = c.m.SetBoost(false)
		_ = c.m.Start(c.now)
	case 900:
		c.sim.SetFault(sim.FaultCPShort)
	case 1000:
		c.sim.SetFault(sim.FaultNone)
	case 1300:
		c.sim.SetVehicle(sim.DefaultVehicle())
	}
	c.i++
	c.now = c.now.Add(tick)
	c.sim.Tick(c.now)
	c.m.Step(c.now)
}

// BenchmarkStep measures one controller step on the simulator board:
// event in, hardware commands out.
//
//	go test ./controller -run '^$' -bench BenchmarkStep -benchmem
func BenchmarkStep(b *testing.B) {
	c := newCycle()
	for i := 0; i < stepsPerCycle; i++ {
		c.step() // warm up: one whole cycle
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.step()
	}
}

// TestStepDoesNotAllocate enforces BenchmarkStep's 0 allocs/op in the
// normal test run, over whole cycles (charging, fault, unplug) and with a
// status snapshot after each step as the Controller takes it.
func TestStepDoesNotAllocate(t *testing.T) {
	c := newCycle()
	var st Status
	for i := 0; i < stepsPerCycle; i++ {
		c.step()
	}
	var sawCharge, sawFault bool
	allocs := testing.AllocsPerRun(3, func() {
		for i := 0; i < stepsPerCycle; i++ {
			c.step()
			c.m.Snapshot(c.now, &st)
			sawCharge = sawCharge || st.ContactorFeedback
			sawFault = sawFault || st.Fault == FaultCPShort
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d steps, want 0", allocs, stepsPerCycle)
	}
	if !sawCharge || !sawFault {
		t.Fatalf("the measured cycle did not charge (%v) or fault (%v)", sawCharge, sawFault)
	}
}
