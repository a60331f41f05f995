package periph_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	hwpkg "github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// c1Dropout is the simulated C1's mechanical release time in these
// tests: a healthy contactor's, well inside hwpkg.C1ReleaseTime.
const c1Dropout = 40 * time.Millisecond

// outEvent is one write of a contactor's coil output: which, the level,
// when (on the virtual clock) and what C1's contacts (its feedback) were.
type outEvent struct {
	pin  string
	l    gpio.Level
	at   time.Time
	c1fb bool
}

// outLog records the coil writes of both contactors.
type outLog struct {
	mu     sync.Mutex
	events []outEvent
}

func recordCoils(c *periphtest.Circuit) *outLog {
	lg := &outLog{}
	c.OnOutput(func(pin string, l gpio.Level) {
		if pin != periphtest.PinC1 && pin != periphtest.PinC2 {
			return
		}
		ev := outEvent{pin, l, c.Clock.Now(), c.Sim.State().Contactor}
		lg.mu.Lock()
		lg.events = append(lg.events, ev)
		lg.mu.Unlock()
	})
	return lg
}

// checkC2AfterC1 checks the first release of C2 in the log: C1 was
// commanded open before it and, at that instant, either read open within
// a poll of its drop-out or (welded) the bound had passed exactly.
func (lg *outLog) checkC2AfterC1(t *testing.T, weld bool) {
	t.Helper()
	lg.mu.Lock()
	defer lg.mu.Unlock()
	var c1Open time.Time
	for _, ev := range lg.events {
		switch {
		case ev.pin == periphtest.PinC1 && ev.l == gpio.Low:
			c1Open = ev.at
		case ev.pin == periphtest.PinC2 && ev.l == gpio.Low:
			if c1Open.IsZero() {
				t.Fatalf("C2 released before C1 was commanded open: %+v", lg.events)
			}
			d := ev.at.Sub(c1Open)
			switch {
			case weld && (!ev.c1fb || d != hwpkg.C1ReleaseTime):
				t.Fatalf("welded C1: C2 released %v after C1 was commanded open (C1 closed %v), want at %v", d, ev.c1fb, hwpkg.C1ReleaseTime)
			case !weld && (ev.c1fb || d < c1Dropout || d > c1Dropout+hwpkg.C1Poll):
				t.Fatalf("C2 released %v after C1 was commanded open (C1 closed %v), want within a poll after its %v drop-out", d, ev.c1fb, c1Dropout)
			}
			return
		}
	}
	t.Fatalf("C2 never released: %+v", lg.events)
}

// chargingOn3 is the rig charging with C2 closed (closed by hand before
// the car: the rig's controller has no phase switching), C1 then taking
// c1Dropout to release, or welded.
func chargingOn3(t *testing.T, seed int64, weld bool) *rig {
	r := newRig(t, seed, nil)
	r.drv.Board().Phases.Set(true)
	r.plugAndCharge()
	if r.sim.State().EvCurrent == 0 {
		r.until(5*time.Second, "current flowing", func() bool { return r.sim.State().EvCurrent > 0 })
	}
	r.sim.SetContactorDropout(c1Dropout)
	if weld {
		r.sim.SetFault(sim.FaultWeld)
	}
	return r
}

// TestCloseReleasesC2AfterC1: the driver's Close (the daemon's last word
// on the hardware) drove C1 and C2 open in the same instant; under load
// C2's contacts could part first and break L2/L3 current (invariant 21).
func TestCloseReleasesC2AfterC1(t *testing.T) {
	for _, weld := range []bool{false, true} {
		t.Run(fmt.Sprintf("weld=%v", weld), func(t *testing.T) {
			r := chargingOn3(t, 21, weld)
			lg := recordCoils(r.circ)
			if err := r.drv.Close(); err != nil {
				t.Fatal(err)
			}
			lg.checkC2AfterC1(t, weld)
			if r.circ.Level(periphtest.PinC1) != gpio.Low || r.circ.Level(periphtest.PinC2) != gpio.Low {
				t.Fatal("a contactor still driven after Close")
			}
		})
	}
}

// TestOpenReleasesC2AfterC1: a process that died with C1 closed under
// load may leave both coils driven; Open, driving the outputs safe,
// opened both at once. Now it releases C2 only after C1.
func TestOpenReleasesC2AfterC1(t *testing.T) {
	for _, weld := range []bool{false, true} {
		t.Run(fmt.Sprintf("weld=%v", weld), func(t *testing.T) {
			cfg := periphtest.Config()
			s := sim.New(epoch)
			s.Board().Contactor.Set(true) // left closed by the process before
			s.SetContactorDropout(c1Dropout)
			if weld {
				s.SetFault(sim.FaultWeld)
			}
			circ := periphtest.New(s, cfg, periphtest.NewClock(epoch), 1)
			lg := recordCoils(circ)
			drv, err := periph.Open(cfg, circ.Parts(), periph.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.Close()
			lg.checkC2AfterC1(t, weld)
		})
	}
}

// TestEPOLeavesC2ForLater: the EPO watcher opened C1 and C2 in the same
// instant. It opens C1 only (C2 is behind it, so that de-energises L2/L3
// too); C2 is released later, after C1 (here by Close).
func TestEPOLeavesC2ForLater(t *testing.T) {
	r := chargingOn3(t, 22, false)
	opened := make(chan struct{}, 2)
	r.circ.OnContactor(func(closed bool) {
		if !closed {
			opened <- struct{}{}
		}
	})
	r.drv.WatchInputs()
	r.sim.SetFault(sim.FaultEPO)
	// Two presses: the watcher handles edges one at a time, so when the
	// second opens C1 the first press's handling is over.
	r.circ.Edge(periphtest.PinEPO)
	r.circ.Edge(periphtest.PinEPO)
	for i := 0; i < 2; i++ {
		select {
		case <-opened:
		case <-time.After(5 * time.Second):
			t.Fatal("the EPO edge did not open the contactor")
		}
	}
	if r.circ.Level(periphtest.PinC2) != gpio.High {
		t.Fatal("the EPO released C2 in the instant it opened C1")
	}
	r.circ.OnContactor(nil)
	lg := recordCoils(r.circ)
	if err := r.drv.Close(); err != nil {
		t.Fatal(err)
	}
	lg.checkC2AfterC1(t, false)
}

// panicChildEnv makes the test binary the child of
// TestDriverPanicReleasesC2AfterC1, whose driver goroutine panics.
const panicChildEnv = "EVSE_HALT_PANIC_CHILD"

// TestDriverPanicReleasesC2AfterC1: a panic in a driver goroutine (the
// EPO watcher here) drives the outputs safe before the process dies
// (recoverHalt); that opened C1 and C2 in the same instant. The panic
// ends the process, so the run is a child process that prints every
// coil write as it happens; the parent checks the order and the bound,
// and that the panic still went on.
func TestDriverPanicReleasesC2AfterC1(t *testing.T) {
	if os.Getenv(panicChildEnv) == "1" {
		panicChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDriverPanicReleasesC2AfterC1$", "-test.count=1")
	cmd.Env = append(os.Environ(), panicChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("child did not end: %s", out)
	}
	if err == nil || !strings.Contains(string(out), "panic: driver goroutine boom") {
		t.Fatalf("child did not die of the panic (%v): %s", err, out)
	}
	lg := &outLog{}
	for _, line := range strings.Split(string(out), "\n") {
		var ev outEvent
		var l int
		var ns int64
		if n, _ := fmt.Sscanf(line, "coil %s %d %d %t", &ev.pin, &l, &ns, &ev.c1fb); n == 4 {
			ev.l, ev.at = gpio.Level(l == 1), epoch.Add(time.Duration(ns))
			lg.events = append(lg.events, ev)
		}
	}
	lg.checkC2AfterC1(t, false)
}

// panicChild charges on 3p, then makes the EPO watcher panic while it
// opens C1, and waits for the panic to end the process.
func panicChild(t *testing.T) {
	r := chargingOn3(t, 23, false)
	r.circ.OnOutput(func(pin string, l gpio.Level) {
		if pin == periphtest.PinC1 || pin == periphtest.PinC2 {
			lv := 0
			if l == gpio.High {
				lv = 1
			}
			// Unbuffered: the process may die right after.
			fmt.Fprintf(os.Stdout, "coil %s %d %d %t\n", pin, lv, r.circ.Clock.Now().Sub(epoch), r.sim.State().Contactor)
		}
	})
	var armed atomic.Bool
	armed.Store(true)
	r.circ.OnContactor(func(closed bool) {
		if !closed && armed.CompareAndSwap(true, false) {
			panic("driver goroutine boom")
		}
	})
	r.drv.WatchInputs()
	r.sim.SetFault(sim.FaultEPO)
	r.circ.Edge(periphtest.PinEPO)
	select {} // the watcher's panic ends the process
}

// c2Guard watches the coil writes of a whole run for invariant 21 on
// the pins: C2's coil released only with C1 commanded open and its
// contacts open, or C1 commanded open at least hwpkg.C1ReleaseTime
// before (a welded C1).
type c2Guard struct {
	mu       sync.Mutex
	c1Open   time.Time // latest write that opened C1's coil
	c1Driven bool
	c2Driven bool
	releases int
	bad      string
}

// watchC2 starts a c2Guard on the circuit's coil outputs.
func watchC2(c *periphtest.Circuit) *c2Guard {
	g := &c2Guard{c1Driven: c.Level(periphtest.PinC1) == gpio.High, c2Driven: c.Level(periphtest.PinC2) == gpio.High}
	c.OnOutput(func(pin string, l gpio.Level) {
		g.mu.Lock()
		defer g.mu.Unlock()
		now := c.Clock.Now()
		switch pin {
		case periphtest.PinC1:
			g.c1Driven = l == gpio.High
			if !g.c1Driven {
				g.c1Open = now
			}
		case periphtest.PinC2:
			if g.c2Driven && l == gpio.Low {
				g.releases++
				fb := c.Sim.State().Contactor
				switch {
				case g.c1Driven:
					g.bad = "C2 released with C1's coil driven"
				case fb && now.Sub(g.c1Open) < hwpkg.C1ReleaseTime:
					g.bad = fmt.Sprintf("C2 released %v after C1 was commanded open, its contacts still closed", now.Sub(g.c1Open))
				}
			}
			g.c2Driven = l == gpio.High
		}
	})
	return g
}

// result returns the first violation ("" none) and the C2 releases seen.
func (g *c2Guard) result() (string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bad, g.releases
}
