package controller

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// A settings write is checked, persisted, then applied on the loop. What
// happens between the persist and the apply (a car connects, the loop
// stops) must leave on disk what is in force and tell the caller so.

// racedOwnerRig is an ownerRig whose first persist runs between(o) after
// saving: the window between the check and the apply.
func racedOwnerRig(t *testing.T, between func(o *ownerRig)) *ownerRig {
	o := newOwnerRig(t)
	first := true
	o.c.persist = func(s settings.Settings) error {
		err := o.persist(s)
		if first {
			first = false
			between(o)
		}
		return err
	}
	o.run(time.Second)
	return o
}

func plugIn(o *ownerRig) {
	v := o.sim.Vehicle()
	v.Plugged = true
	o.sim.SetVehicle(v)
	o.run(time.Second)
}

// rolledBack checks that the last write restored the settings in force
// (ChargerMode still Case C) after the refused one was saved.
func rolledBack(t *testing.T, o *ownerRig) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.saved) != 2 || o.saved[0].ChargerMode != settings.ModeCaseB || o.saved[1].ChargerMode != settings.ModeCaseC {
		t.Fatalf("saved %d sets (%+v), want the new one then the old one back", len(o.saved), o.saved)
	}
}

func TestUpdateSettingsCarConnectsBeforeTheApply(t *testing.T) {
	o := racedOwnerRig(t, plugIn)
	_, _, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargerMode": json.RawMessage(`1`)})
	if err != nil || bad["ChargerMode"] == "" {
		t.Fatalf("bad %v err %v, want a ChargerMode refusal", bad, err)
	}
	if o.c.Settings().ChargerMode != settings.ModeCaseC {
		t.Fatal("ChargerMode applied under a connected car")
	}
	rolledBack(t, o)
}

func TestReplaceSettingsCarConnectsBeforeTheApply(t *testing.T) {
	o := racedOwnerRig(t, plugIn)
	s := o.c.Settings()
	s.ChargerMode = settings.ModeCaseB
	if err := o.c.ReplaceSettings(s); err == nil {
		t.Fatal("ReplaceSettings answered success with a car connected before the apply")
	}
	if o.c.Settings().ChargerMode != settings.ModeCaseC {
		t.Fatal("ChargerMode applied under a connected car")
	}
	rolledBack(t, o)
}

func TestSettingsWriteLoopStopsBeforeTheApply(t *testing.T) {
	t.Run("UpdateSettings", func(t *testing.T) {
		o := racedOwnerRig(t, func(o *ownerRig) { o.stop() })
		_, _, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargerMode": json.RawMessage(`1`)})
		if !errors.Is(err, ErrStopped) || bad != nil {
			t.Fatalf("bad %v err %v, want ErrStopped", bad, err)
		}
		rolledBack(t, o)
	})
	t.Run("ReplaceSettings", func(t *testing.T) {
		o := racedOwnerRig(t, func(o *ownerRig) { o.stop() })
		s := o.c.Settings()
		s.ChargerMode = settings.ModeCaseB
		if err := o.c.ReplaceSettings(s); !errors.Is(err, ErrStopped) {
			t.Fatalf("err %v, want ErrStopped", err)
		}
		rolledBack(t, o)
	})
}

// A ReplaceSettings refused up front (a car is connected) writes nothing.
func TestReplaceSettingsRefusedWritesNothing(t *testing.T) {
	o := newOwnerRig(t)
	plugIn(o)
	s := o.c.Settings()
	s.ChargerMode = settings.ModeCaseB
	if err := o.c.ReplaceSettings(s); err == nil {
		t.Fatal("accepted with a car connected")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.saved) != 0 {
		t.Fatalf("saved %d sets, want none", len(o.saved))
	}
}
