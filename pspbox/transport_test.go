package pspbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
)

func TestUnreachableAndBack(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	if _, err := r.c.Status(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.box.Down()
	start := time.Now()
	if _, err := r.c.Status(r.ctx); !errors.Is(err, pspbox.ErrUnreachable) {
		t.Fatalf("Status with the box down: %v", err)
	}
	if _, err := r.c.SetCharging(r.ctx, true); !errors.Is(err, pspbox.ErrUnreachable) {
		t.Fatalf("SetCharging with the box down: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a refused connection took %v to report", el)
	}
	if err := r.box.Up(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Status(r.ctx); err != nil {
		t.Fatalf("Status after the box came back: %v", err)
	}
	if on, err := r.c.SetCharging(r.ctx, true); err != nil || !on {
		t.Fatalf("SetCharging after the box came back: %t %v", on, err)
	}
	if n := r.box.Toggles("ChargeStartToggle"); n != 1 {
		t.Errorf("%d toggles: a command from while it was down was replayed", n)
	}
}

func TestQuirks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		q       fakebox.Quirks
		wantErr error
		check   func(pspbox.Status) bool
	}{
		{"old firmware", fakebox.Quirks{OldFirmware: true}, nil,
			func(s pspbox.Status) bool { return s.Duration == 3774*time.Second }},
		{"float numbers", fakebox.Quirks{Floats: true}, nil,
			func(s pspbox.Status) bool {
				return s.EvseState == pspbox.StateConnected && s.Duration == 3774*time.Second
			}},
		{"garbage", fakebox.Quirks{Garbage: true}, pspbox.ErrBadAnswer, nil},
		{"huge", fakebox.Quirks{Huge: 10 << 20}, pspbox.ErrBadAnswer, nil},
		{"just under the limit", fakebox.Quirks{Huge: pspbox.MaxBody}, nil,
			func(s pspbox.Status) bool { return s.EvseState == pspbox.StateConnected }},
		{"slow", fakebox.Quirks{Slow: time.Minute}, pspbox.ErrUnreachable, nil},
		{"hang up", fakebox.Quirks{Hangup: true}, pspbox.ErrUnreachable, nil},
		{"quirk on another document", fakebox.Quirks{Garbage: true, Doc: "SystemInfo"}, nil,
			func(s pspbox.Status) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(o *pspbox.Options) { o.Timeout = 500 * time.Millisecond })
			r.box.Plug(true)
			r.box.SetQuirks(tc.q)
			start := time.Now()
			st, err := r.c.Status(r.ctx)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil && len(err.Error()) > 512 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if tc.check != nil && !tc.check(st) {
				t.Errorf("%+v", st)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %v", el)
			}
			// Every document goes through the same transport and limits.
			if tc.wantErr != nil {
				if _, err := r.c.SystemConfig(r.ctx); !errors.Is(err, tc.wantErr) {
					t.Errorf("SystemConfig: %v", err)
				}
				if _, err := r.c.Meter(r.ctx, 1); !errors.Is(err, tc.wantErr) {
					t.Errorf("Meter1: %v", err)
				}
			}
		})
	}
}

func TestHugeAnswerNamesTheLimit(t *testing.T) {
	r := newRig(t)
	r.box.SetQuirks(fakebox.Quirks{Huge: 1 << 20})
	_, err := r.c.SystemInfo(r.ctx)
	if err == nil || !strings.Contains(err.Error(), "larger than 65536 bytes") {
		t.Fatalf("err %v", err)
	}
}
