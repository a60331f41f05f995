package pspbox_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
	"github.com/evse-mqtt/evse-mqtt/units"
)

func TestSupervisor(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	if _, err := r.c.SetPowerAvailable(r.ctx, 4600); !errors.Is(err, pspbox.ErrSupervisorNotSet) {
		t.Fatalf("power before set-up: %v", err)
	}
	local, err := r.c.LocalAddr(r.ctx)
	if err != nil || local != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("LocalAddr = %v, %v", local, err)
	}
	changes, err := r.c.SetSupervisor(r.ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, c := range changes {
		said = append(said, c.String())
	}
	if got := strings.Join(said, "; "); got != "Meter2Type 0 → 7; Meter2Ip  → 127.0.0.1; ControlStrategy 0 → 1" {
		t.Errorf("changes: %s", got)
	}
	if posts := r.box.Posts("SystemConfig"); len(posts) != 1 || posts[0] != `{"Meter2Type":7,"Meter2Ip":"127.0.0.1","ControlStrategy":1}` {
		t.Errorf("sent %q: the type and the address must go in one request", posts)
	}
	for _, w := range []units.Watts{4600.9, 0, 11040} {
		got, err := r.c.SetPowerAvailable(r.ctx, w)
		if err != nil || got != units.Watts(int(w)) {
			t.Fatalf("SetPowerAvailable(%v) = %v, %v", w, got, err)
		}
		if p, ok := r.box.PowerAvailable(); !ok || p != float64(int(w)) {
			t.Errorf("box took %v (%t)", p, ok)
		}
	}
	st, err := r.c.Status(r.ctx)
	if err != nil || !st.PowerAvailableSent || st.ActualPowerAvailable != 11040 {
		t.Errorf("Status %+v %v", st, err)
	}
	// Already the supervisor: nothing to change, nothing sent.
	if changes, err := r.c.SetSupervisor(r.ctx, local); err != nil || len(changes) != 0 {
		t.Errorf("second SetSupervisor: %v %v", changes, err)
	}
	if n := len(r.box.Posts("SystemConfig")); n != 1 {
		t.Errorf("%d config posts", n)
	}
	if _, err := r.c.SetPowerAvailable(r.ctx, -1); !errors.Is(err, pspbox.ErrInvalid) {
		t.Errorf("negative power: %v", err)
	}
}

func TestSupervisorPushesAndFallback(t *testing.T) {
	// The bridge pushes the limiter's power and, when the lease lapses,
	// the fallback power; the box applies whichever came last.
	r := newRig(t)
	r.box.Plug(true)
	r.box.SetCharging(true)
	local, _ := r.c.LocalAddr(r.ctx)
	if _, err := r.c.SetSupervisor(r.ctx, local); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		push      units.Watts
		wantState pspbox.EvseState
		wantAmps  units.Amps
	}{
		{11040, pspbox.StateCharging, 16},
		{4600, pspbox.StateCharging, 6},  // 4600 W / 3 / 230 V = 6.67 A → 6 A
		{4000, pspbox.StateConnected, 0}, // below 6 A on three phases: paused
		{0, pspbox.StateConnected, 0},    // a fallback of 0 W stops it
	} {
		if _, err := r.c.SetPowerAvailable(r.ctx, step.push); err != nil {
			t.Fatal(err)
		}
		st, err := r.c.Status(r.ctx)
		if err != nil || st.EvseState != step.wantState || st.ActualCurrent != step.wantAmps {
			t.Errorf("after %v W: state %v, %v A (%v); want %v, %v A", step.push, st.EvseState, st.ActualCurrent, err, step.wantState, step.wantAmps)
		}
	}
}

func TestPowerFromAnotherAddressRefused(t *testing.T) {
	r := newRig(t)
	cfg := r.box.Config()
	cfg.Meter2Type, cfg.Meter2Ip, cfg.ControlStrategy = 7, "192.0.2.1", 1
	r.box.SetConfig(cfg)
	if _, err := r.c.SetPowerAvailable(r.ctx, 4600); !errors.Is(err, pspbox.ErrRefused) || !strings.Contains(err.Error(), "192.0.2.1") {
		t.Fatalf("err %v", err)
	}
	if _, ok := r.box.PowerAvailable(); ok {
		t.Error("the box took the power")
	}
}

// TestSupervisorOverIPv6 sets the supervisor up over ::1: Meter2Ip is the
// bare address the box sees, without brackets or zone.
func TestSupervisorOverIPv6(t *testing.T) {
	box, err := fakebox.StartAt("[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer box.Close()
	c, err := pspbox.New(pspbox.Options{URL: box.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local, err := c.LocalAddr(t.Context())
	if err != nil || local != netip.MustParseAddr("::1") {
		t.Fatalf("LocalAddr = %v, %v", local, err)
	}
	if _, err := c.SetSupervisor(t.Context(), local); err != nil {
		t.Fatal(err)
	}
	if got := box.Config().Meter2Ip; got != "::1" {
		t.Errorf("Meter2Ip %q", got)
	}
	if w, err := c.SetPowerAvailable(t.Context(), 7400); err != nil || w != 7400 {
		t.Errorf("SetPowerAvailable = %v, %v", w, err)
	}
}
