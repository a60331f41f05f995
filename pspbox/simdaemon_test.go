package pspbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// simBox is the project's own daemon in miniature — the simulator, a real
// controller, the command table and the WebAPI handler — served on
// loopback as the box. The e2e acceptance bridges one built binary to
// another; this catches a mismatch between the client and webapi/ in the
// package's own suite. Simulated time runs at five times real time.
type simBox struct {
	sim   *sim.Sim
	ctl   *controller.Controller
	url   string
	mu    sync.Mutex
	posts map[string]int
}

func startSimBox(t *testing.T) *simBox {
	t.Helper()
	store, err := settings.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &simBox{sim: sim.New(now), posts: map[string]int{}}
	b.ctl = controller.New(controller.NewMachine(b.sim.Board(), controller.DefaultParams(), settings.Defaults()), store.Save, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	var wg sync.WaitGroup
	wg.Go(func() { b.ctl.Run(ctx, ticks) })
	wg.Go(func() {
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			now = now.Add(10 * time.Millisecond)
			b.sim.Tick(now)
			select {
			case ticks <- now:
			case <-ctx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	table := command.New(b.ctl, command.Services{}, zerolog.Nop())
	srv, err := webapi.New(webapi.Options{Config: webapi.DefaultConfig(), Controller: b.ctl, Commands: table, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b.mu.Lock()
			b.posts[r.URL.Path]++
			b.mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	b.url = ts.URL
	return b
}

func (b *simBox) postCount(doc string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.posts["/webapi/v1/"+doc]
}

// waitStatus polls the box (reads only) until cond holds.
func waitStatus(t *testing.T, c *pspbox.Client, what string, cond func(pspbox.Status) bool) pspbox.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(t.Context())
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached (last %+v, %v)", what, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAgainstTheProjectDaemon(t *testing.T) {
	box := startSimBox(t)
	c, err := pspbox.New(pspbox.Options{URL: box.url, Timeout: 2 * time.Second, ConfirmInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()

	if si, err := c.SystemInfo(ctx); err != nil || si.ProductType != webapi.ProductType {
		t.Fatalf("SystemInfo %+v %v", si, err)
	}
	if m, err := c.Meter(ctx, 1); err != nil || len(m.Registers) != 0 {
		t.Fatalf("Meter1 %+v %v", m, err)
	}

	v := sim.DefaultVehicle()
	v.Plugged, v.RequestCharge = true, true
	box.sim.SetVehicle(v)
	waitStatus(t, c, "charging after plug-in (auto start)", func(s pspbox.Status) bool {
		return s.EvseState == pspbox.StateCharging && s.ChargerStarted
	})

	// Stop, stop again (no toggle), start.
	for _, step := range []struct {
		on        bool
		wantPosts int
	}{{false, 1}, {false, 1}, {true, 2}} {
		got, err := c.SetCharging(ctx, step.on)
		if err != nil || got != step.on {
			t.Fatalf("SetCharging(%t) = %t, %v", step.on, got, err)
		}
		if n := box.postCount("EvseCtrl"); n != step.wantPosts {
			t.Fatalf("after SetCharging(%t): %d EvseCtrl posts, want %d", step.on, n, step.wantPosts)
		}
	}
	waitStatus(t, c, "charging again", func(s pspbox.Status) bool { return s.EvseState == pspbox.StateCharging })

	cfg, err := c.UpdateConfig(ctx, raw(`{"ChargeCurrent":10,"Charge3Phase":true}`))
	if err != nil || cfg.ChargeCurrent != 10 {
		t.Fatalf("UpdateConfig %+v %v", cfg.Settings, err)
	}
	if got := box.ctl.Settings().ChargeCurrent; got != 10 {
		t.Errorf("daemon ChargeCurrent %d", got)
	}
	if _, err := c.UpdateConfig(ctx, raw(`{"ChargeCurrent":40}`)); !errors.Is(err, pspbox.ErrInvalid) {
		t.Errorf("ChargeCurrent 40: %v", err)
	}

	if _, err := c.SetPowerAvailable(ctx, 4600); !errors.Is(err, pspbox.ErrSupervisorNotSet) {
		t.Fatalf("power before set-up: %v", err)
	}
	local, err := c.LocalAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := c.SetSupervisor(ctx, local)
	if err != nil || len(changes) != 3 {
		t.Fatalf("SetSupervisor %v %v", changes, err)
	}
	if s := box.ctl.Settings(); s.Meter2Type != settings.MeterRemoteSuperv || s.Meter2Ip != "127.0.0.1" || s.ControlStrategy != 1 {
		t.Errorf("daemon settings %+v", s)
	}
	if got, err := c.SetPowerAvailable(ctx, 4600); err != nil || got != 4600 {
		t.Fatalf("SetPowerAvailable = %v, %v", got, err)
	}
	// 4600 W on three phases is 6.67 A: the pilot offers 6 A.
	waitStatus(t, c, "limited to 6 A", func(s pspbox.Status) bool {
		return s.PowerAvailableSent && s.ActualPowerAvailable == 4600 && s.ActualCurrent > 5 && s.ActualCurrent < 7
	})

	if _, err := c.ServiceCode(ctx, pspbox.SCodeWiFiSetToAP); !errors.Is(err, pspbox.ErrRefused) {
		t.Errorf("WiFiSetToAP on the daemon: %v", err)
	}
}
