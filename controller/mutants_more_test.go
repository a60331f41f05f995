package controller

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Tests that pin behaviour the mutation run found unpinned (see
// MUTANTS.md): the restart's settings hand-over, the boost across a
// restart, the refusal keys, and the loop's lost-step count.

// restartWith is SystemInfo Reset with the settings edit applied to the
// ones in force (as a Reset after a settings file change would load),
// stepped until the fresh machine is in force.
func (r *rig) restartWith(edit func(*settings.Settings)) {
	r.t.Helper()
	s := r.m.Settings()
	edit(&s)
	r.c.restartAt(r.now, r.m.p, func() settings.Settings { return s })
	r.restarted(10 * time.Second)
}

// A restart keeps ChargerMode and LockMethod while a car is connected,
// each on its own, and applies them when none is.
func TestRestartCableSettingsFollowTheCar(t *testing.T) {
	cases := []struct {
		name     string
		plugged  bool
		mode     int
		lock     int
		wantMode int
		wantLock int
	}{
		{"unplugged: mode applied", false, settings.ModeCaseB, 0, settings.ModeCaseB, 0},
		{"unplugged: lock applied", false, settings.ModeCaseC, 1, settings.ModeCaseC, 1},
		{"plugged: mode kept", true, settings.ModeCaseB, 0, settings.ModeCaseC, 0},
		{"plugged: lock kept", true, settings.ModeCaseC, 1, settings.ModeCaseC, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			if tc.plugged {
				r.vehicle(func(v *sim.Vehicle) { v.Plugged = true })
				r.until(time.Second, "connected", func() bool { return r.st.VehicleConnected })
			}
			r.restartWith(func(s *settings.Settings) { s.ChargerMode, s.LockMethod = tc.mode, tc.lock })
			got := r.m.Settings()
			if got.ChargerMode != tc.wantMode || got.LockMethod != tc.wantLock {
				t.Fatalf("after the restart ChargerMode %d LockMethod %d, want %d and %d",
					got.ChargerMode, got.LockMethod, tc.wantMode, tc.wantLock)
			}
		})
	}
}

// The boost survives a restart only if it was on and the fresh settings
// still make it a boost (ChargeCurrentBoost above ChargeCurrent).
func TestRestartBoostCarriedOnlyWhenStillABoost(t *testing.T) {
	boosted := func(t *testing.T, on bool, boost int) bool {
		r := newRig(t, func(_ *Params, s *settings.Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 16, 20 })
		r.plugAndCharge()
		if on {
			if err := r.m.SetBoost(true); err != nil {
				t.Fatal(err)
			}
			r.step()
			if !r.st.ChargeBoosted {
				t.Fatal("boost not on before the restart")
			}
		}
		r.restartWith(func(s *settings.Settings) { s.ChargeCurrentBoost = boost })
		r.step()
		return r.st.ChargeBoosted
	}
	if boosted(t, false, 20) {
		t.Error("no boost before the restart, boosted after it")
	}
	if !boosted(t, true, 20) {
		t.Error("boost on and still a boost: lost across the restart")
	}
	if boosted(t, true, 16) {
		t.Error("boost current now equal to the charge current: still boosted after the restart")
	}
}

// Refusal reasons come back under the keys the request used; with none
// of them matching, under the field names.
func TestByRequestKey(t *testing.T) {
	bad := map[string]string{"ChargerMode": "car connected"}
	got := byRequestKey(map[string]json.RawMessage{"chargermode": json.RawMessage("1")}, bad)
	if len(got) != 1 || got["chargermode"] != "car connected" {
		t.Errorf("by request key: %v, want chargermode → car connected", got)
	}
	got = byRequestKey(map[string]json.RawMessage{"ChargeCurrent": json.RawMessage("10")}, bad)
	if len(got) != 1 || got["ChargerMode"] != "car connected" {
		t.Errorf("no request key matches: %v, want the field names", got)
	}
	if byRequestKey(map[string]json.RawMessage{"chargermode": nil}, nil) != nil {
		t.Error("no refusal: want nil")
	}
}

// One lost step is counted (not only several).
func TestLoopStatsCountsOneLostStep(t *testing.T) {
	var s LoopStats
	s.record(0, 1)
	s.record(-time.Millisecond, 0) // early: counted as on time
	o := s.Snapshot()
	if o.Steps != 2 || o.Lost != 1 || o.Max != 0 {
		t.Fatalf("steps %d lost %d max %v, want 2, 1, 0", o.Steps, o.Lost, o.Max)
	}
}

// A new session on the same plug-in runs a new RCM self-test before the
// contactor closes (the test of the stopped session does not carry over).
func TestRCMNewSessionSamePlugInTestsAgain(t *testing.T) {
	r := newRCMRig(t, true)
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
	}
	if !r.st.ContactorFeedback || r.rcm.started != 1 {
		t.Fatalf("charging %v after %d tests, want charging after 1", r.st.ContactorFeedback, r.rcm.started)
	}
	if err := r.m.Stop(r.now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500 && r.st.ContactorFeedback; i++ {
		r.step()
	}
	if err := r.m.Start(r.now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
		if r.st.ContactorClosed && r.rcm.started < 2 {
			t.Fatal("contactor closed for the new session without a new self-test")
		}
	}
	if !r.st.ContactorFeedback || r.rcm.started != 2 {
		t.Fatalf("second session: charging %v after %d tests, want charging after 2", r.st.ContactorFeedback, r.rcm.started)
	}
}
