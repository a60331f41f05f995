package controller

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// syncBuffer is a log sink the loop goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loop is a Controller on the simulator whose clock is the test: each
// tick is handed over synchronously.
type loop struct {
	sim    *sim.Sim
	c      *Controller
	log    syncBuffer
	ticks  chan time.Time
	now    time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	saved  []settings.Settings
	failTo error
	failIf func(settings.Settings) bool // persist fails for these with failTo
}

func newLoop(t *testing.T, s settings.Settings) *loop {
	l := &loop{sim: sim.New(epoch), ticks: make(chan time.Time), now: epoch, done: make(chan struct{})}
	l.c = New(NewMachine(l.sim.Board(), DefaultParams(), s), l.persist, zerolog.New(&l.log))
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { defer close(l.done); l.c.Run(ctx, l.ticks) }()
	t.Cleanup(l.stop)
	return l
}

func (l *loop) persist(s settings.Settings) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failTo != nil && (l.failIf == nil || l.failIf(s)) {
		return l.failTo
	}
	l.saved = append(l.saved, s)
	return nil
}

func (l *loop) lastSaved() (settings.Settings, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.saved) == 0 {
		return settings.Settings{}, 0
	}
	return l.saved[len(l.saved)-1], len(l.saved)
}

func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// run advances d; when it returns every step of it has completed.
func (l *loop) run(d time.Duration) {
	for end := l.now.Add(d + tick); l.now.Before(end); {
		l.now = l.now.Add(tick)
		l.sim.Tick(l.now)
		l.ticks <- l.now
	}
}

// TestLoopLogsFaultTransitions: a fault is logged once as a warning when
// it appears and once when it clears, naming what it was.
func TestLoopLogsFaultTransitions(t *testing.T) {
	l := newLoop(t, settings.Defaults())
	l.run(100 * time.Millisecond)
	l.sim.SetVehicle(sim.Vehicle{Plugged: true, RequestCharge: true, MaxCurrent: 16, Phases: 3, Response: time.Second, CableRating: 32})
	l.run(3 * time.Second)
	if strings.Contains(l.log.String(), "fault") {
		t.Fatalf("fault logged without one:\n%s", l.log.String())
	}
	l.sim.SetFault(sim.FaultCPShort)
	l.run(100 * time.Millisecond)
	l.sim.SetFault(sim.FaultNone)
	l.run(2 * time.Second)
	text := l.log.String()
	warn := `"level":"warn","component":"controller","fault":"` + FaultCPShort.String() + `","message":"fault"`
	cleared := `"level":"info","component":"controller","was":"` + FaultCPShort.String() + `","message":"fault cleared"`
	if strings.Count(text, warn) != 1 || strings.Count(text, cleared) != 1 || strings.Count(text, "\n") != 2 {
		t.Fatalf("log:\n%s\nwant one %s and one %s", text, warn, cleared)
	}
}

// TestSupervisorPowerEdge: a supervisor may grant 0 W (pause) or any
// positive power; a negative grant is refused.
func TestSupervisorPowerEdge(t *testing.T) {
	s := settings.Defaults()
	s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7"
	l := newLoop(t, s)
	l.run(tick)
	for _, c := range []struct {
		w  float64
		ok bool
	}{{-1, false}, {-0.5, false}, {0, true}, {0.5, true}, {7000, true}} {
		if err := l.c.SetSupervisorPower(units.Watts(c.w)); (err == nil) != c.ok {
			t.Errorf("SetSupervisorPower(%v W): %v, want ok %v", c.w, err, c.ok)
		}
	}
}

// TestReplaceSettingsRules: a whole settings set is validated, persisted
// and applied as one; invalid ones and failed writes change nothing, and
// one saved after the loop stopped is rolled back on disk so the file
// keeps what is in force.
func TestReplaceSettingsRules(t *testing.T) {
	l := newLoop(t, settings.Defaults())
	l.run(tick)
	bad := settings.Defaults()
	bad.ChargeCurrent = 2
	if err := l.c.ReplaceSettings(bad); err == nil {
		t.Fatal("invalid settings accepted")
	}
	if _, n := l.lastSaved(); n != 0 {
		t.Fatal("invalid settings persisted")
	}
	next := settings.Defaults()
	next.ChargeCurrent = 10
	l.failTo = errors.New("disk full")
	if err := l.c.ReplaceSettings(next); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("failed write: %v", err)
	}
	if got := l.c.Settings(); got.ChargeCurrent != 16 {
		t.Fatalf("failed write applied: %d A", got.ChargeCurrent)
	}
	l.failTo = nil
	if err := l.c.ReplaceSettings(next); err != nil {
		t.Fatal(err)
	}
	if got := l.c.Settings(); got != next {
		t.Fatalf("in force %+v, want %+v", got, next)
	}
	l.stop()
	// The loop is gone: the settings in force are still readable, and a
	// change is refused with the file restored to them.
	if got := l.c.Settings(); got != next {
		t.Fatalf("after stop: %+v", got)
	}
	other := next
	other.ChargeCurrent = 12
	if err := l.c.ReplaceSettings(other); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v, want ErrStopped", err)
	}
	if last, _ := l.lastSaved(); last != next {
		t.Fatalf("on disk after the refused change: %d A, want the %d A in force", last.ChargeCurrent, next.ChargeCurrent)
	}
	// (A stopped loop now refuses before anything is saved, so nothing
	// is rolled back: the rollback is left for a vehicle that connects
	// between the check and the apply.)
	if strings.Contains(l.log.String(), "restoring") {
		t.Fatalf("a refusal before saving logged a rollback:\n%s", l.log.String())
	}
}

// TestRestartWaitsOnlyForTheContactor: a restart with the contactor
// already open takes over on the next step; it does not wait out
// StopTimeout, which only bounds the wait for a car that keeps drawing.
func TestRestartWaitsOnlyForTheContactor(t *testing.T) {
	l := newLoop(t, settings.Defaults())
	l.run(tick)
	if err := l.c.Restart(DefaultParams(), settings.Defaults); err != nil {
		t.Fatal(err)
	}
	l.run(2 * tick)
	if !strings.Contains(l.log.String(), "controller restarted") {
		t.Fatalf("no restart within two ticks with the contactor open:\n%s", l.log.String())
	}
}
