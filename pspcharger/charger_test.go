package pspcharger_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
	"github.com/evse-mqtt/evse-mqtt/pspcharger"
)

// The status mirrors the box: state, flags, currents, power, energy,
// duration, from the box's own documents.
func TestStatusMirrorsTheBox(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	st := r.until("connected", time.Second, func(st charger.Status) bool { return st.VehicleConnected })
	if st.State != controller.StateConnected && st.State != controller.StateCharge {
		t.Errorf("state %v", st.State)
	}
	if !st.StartStopAllowed || !st.AutoStartAllowed {
		t.Errorf("flags %+v", st)
	}
	r.box.Plug(false)
	r.until("idle", time.Second, func(st charger.Status) bool { return st.State == controller.StateIdle && !st.VehicleConnected })
	if cfg := r.ch.Settings(); cfg.ChargeCurrent != 16 || cfg.Meter1Type != 1 {
		t.Errorf("settings %+v", cfg)
	}
	if id := r.ch.Identity(); id.MAC == "" || id.ProductType == "" || id.SystemVersion == "" {
		t.Errorf("identity %+v", id)
	}
}

// ON twice sends one toggle; OFF then sends one more; every answer is the
// state read back from the box.
func TestOnTwiceOneToggle(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	r.box.SetCharging(false)
	r.until("stopped", time.Second, func(st charger.Status) bool { return st.VehicleConnected && !st.ChargerStarted })
	for i := 0; i < 2; i++ {
		if err := r.ch.SetCharging(true); err != nil {
			t.Fatalf("ON #%d: %v", i+1, err)
		}
	}
	if n := r.box.Toggles("ChargeStartToggle"); n != 1 {
		t.Fatalf("ON twice: %d toggles, want 1", n)
	}
	if started, _ := r.box.Charging(); !started {
		t.Fatal("box not started")
	}
	r.until("started in the status", time.Second, func(st charger.Status) bool { return st.ChargerStarted })
	if on, err := r.ch.ToggleCharging(); err != nil || on {
		t.Fatalf("toggle: %v %v", on, err)
	}
	if n := r.box.Toggles("ChargeStartToggle"); n != 2 {
		t.Fatalf("%d toggles after a toggle, want 2", n)
	}
	if err := r.ch.SetBoost(true); err != nil {
		// Boost needs the session; the box refuses and says why.
		if !errors.Is(err, pspbox.ErrRefused) {
			t.Fatalf("boost: %v", err)
		}
	}
}

// A toggle whose answer is lost before the box applied it is reported
// unconfirmed and never sent again, neither by the command nor later.
func TestLostToggleNotRepeated(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	r.box.SetCharging(false)
	r.until("stopped", time.Second, func(st charger.Status) bool { return st.VehicleConnected && !st.ChargerStarted })
	r.box.DropToggles(1, false)
	err := r.ch.SetCharging(true)
	if !errors.Is(err, pspbox.ErrUnconfirmed) {
		t.Fatalf("lost toggle: %v, want unconfirmed", err)
	}
	// Ten poll periods later still one toggle sent and none applied.
	deadline := time.Now().Add(10 * poll)
	r.untilTrue("ten poll periods", time.Second, func() bool { return !time.Now().Before(deadline) })
	if n := len(r.box.Posts("EvseCtrl")); n != 1 {
		t.Fatalf("%d toggles sent, want 1 (never replayed)", n)
	}
	if started, _ := r.box.Charging(); started {
		t.Fatal("box started by a replayed toggle")
	}
	// Applied but the answer lost: the read back confirms it, no second.
	r.box.DropToggles(1, true)
	if err := r.ch.SetCharging(true); err != nil {
		t.Fatalf("applied toggle, answer lost: %v", err)
	}
	if n := len(r.box.Posts("EvseCtrl")); n != 2 {
		t.Fatalf("%d toggles sent, want 2", n)
	}
}

// A config write is validated by our rules, only changed fields are
// posted, and the box's read back is what the answer reports.
func TestConfigWriteConfirmed(t *testing.T) {
	r := newRig(t)
	req := map[string]json.RawMessage{"ChargeCurrent": json.RawMessage("10"), "ChargeAutoStart": json.RawMessage("true")}
	changes, next, bad, err := r.ch.UpdateSettings(req)
	if err != nil || bad != nil {
		t.Fatalf("write: %v %v", bad, err)
	}
	if next.ChargeCurrent != 10 || r.box.Config().ChargeCurrent != 10 || len(changes) != 2 {
		t.Fatalf("next %+v box %+v changes %v", next, r.box.Config(), changes)
	}
	if posts := r.box.Posts("SystemConfig"); len(posts) != 1 || posts[0] != `{"ChargeCurrent":10}` {
		t.Fatalf("posted %q, want only the changed field", posts)
	}
	if r.ch.Settings().ChargeCurrent != 10 {
		t.Fatal("settings not updated")
	}
	_, _, bad, err = r.ch.UpdateSettings(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage("40")})
	if err != nil || !strings.Contains(bad["ChargeCurrent"], "6…32") {
		t.Fatalf("bad write: %v %v", bad, err)
	}
	if n := len(r.box.Posts("SystemConfig")); n != 1 {
		t.Fatalf("a rejected write was sent (%d posts)", n)
	}
}

// Unreachable within three poll periods, commands failing at once with
// "charger unreachable", and back in step within two poll periods.
func TestUnreachableAndBack(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	r.until("connected", time.Second, func(st charger.Status) bool { return st.VehicleConnected })
	down := time.Now()
	r.box.Down()
	st := r.until("unreachable", 3*poll+slack, func(st charger.Status) bool { return st.Unreachable != "" })
	if !strings.HasPrefix(st.Unreachable, "charger unreachable") {
		t.Errorf("reason %q", st.Unreachable)
	}
	t.Logf("unreachable after %v", time.Since(down))
	err := r.ch.SetCharging(false)
	if !errors.Is(err, charger.ErrUnreachable) || !strings.HasPrefix(err.Error(), "charger unreachable") {
		t.Fatalf("command while down: %v", err)
	}
	// At once: the answer is the status' reason, not a request's failure.
	if err.Error() != r.ch.Status().Unreachable {
		t.Errorf("command answered %q, status says %q: it tried the box", err, r.ch.Status().Unreachable)
	}
	r.box.SetConfig(func() fakebox.Config { c := fakebox.DefaultConfig(); c.ChargeCurrent = 12; return c }())
	if err := r.box.Up(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	r.until("reachable", 2*poll+slack, func(st charger.Status) bool { return st.Unreachable == "" })
	r.untilTrue("settings resynchronised", 2*poll+slack, func() bool { return r.ch.Settings().ChargeCurrent == 12 })
	t.Logf("back in step after %v", time.Since(up))
}

// The box is untrusted input: garbage is an unreachable box with the
// reason, never stale data as live; old firmware and float numbers read.
func TestQuirks(t *testing.T) {
	r := newRig(t)
	r.box.SetQuirks(fakebox.Quirks{Garbage: true, Doc: "Status"})
	st := r.until("garbage", time.Second, func(st charger.Status) bool { return st.Unreachable != "" })
	if !strings.Contains(st.Unreachable, "bad answer") && !strings.Contains(st.Unreachable, "JSON") {
		t.Errorf("reason %q", st.Unreachable)
	}
	r.box.SetQuirks(fakebox.Quirks{OldFirmware: true, Floats: true})
	r.box.Plug(true)
	r.until("old firmware, floats", time.Second, func(st charger.Status) bool { return st.Unreachable == "" && st.VehicleConnected })
	r.box.SetQuirks(fakebox.Quirks{Slow: time.Second, Doc: "Status"})
	r.until("slow", 3*poll+slack, func(st charger.Status) bool { return st.Unreachable != "" })
}

// SystemInfo service codes pass through to the box, once each.
func TestServiceCodesPassThrough(t *testing.T) {
	r := newRig(t)
	for _, code := range []string{pspbox.SCodeFactoryDefault, pspbox.SCodeWiFiSetToAP} {
		if err := r.ch.Service(code); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
	}
	posts := r.box.Posts("SystemInfo")
	if len(posts) != 2 || !strings.Contains(posts[0], pspbox.SCodeFactoryDefault) || !strings.Contains(posts[1], pspbox.SCodeWiFiSetToAP) {
		t.Fatalf("posted %q", posts)
	}
}

// A box that stops answering in the middle of a round (its Status still
// answers, its settings read hangs) is reported within three poll
// periods, naming what did not answer, not after the client's timeout.
func TestHangMidRound(t *testing.T) {
	r := newRig(t, func(o *pspcharger.Options) { o.InfoEvery = poll })
	start := time.Now()
	r.box.SetQuirks(fakebox.Quirks{Slow: 2 * time.Second, Doc: "SystemConfig"})
	st := r.until("unreachable", 3*poll+slack, func(st charger.Status) bool { return st.Unreachable != "" })
	if !strings.Contains(st.Unreachable, "no answer") {
		t.Errorf("reason %q", st.Unreachable)
	}
	t.Logf("reported after %v: %s", time.Since(start), st.Unreachable)
	r.box.SetQuirks(fakebox.Quirks{})
	r.until("back", 2*poll+slack, func(st charger.Status) bool { return st.Unreachable == "" })
}
