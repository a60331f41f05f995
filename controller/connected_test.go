package controller

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Issue 9 item 2: a ChargerMode or LockMethod change while a vehicle is
// connected is refused with a reason, and nothing is applied. Before the
// fix, Case B → C under a 13 A cable advertised 32 A with the contactor
// closed, and C → B faulted the session ("lock lost under load").

func TestChargerModeRefusedWhileConnected(t *testing.T) {
	t.Run("Case B to C keeps the cable limit", func(t *testing.T) {
		r := newRig(t, func(p *Params, s *settings.Settings) { caseB(0)(p, s); s.ChargeCurrent = 32 })
		r.guard = &safety{}
		r.vehicle(func(v *sim.Vehicle) { v.Plugged, v.RequestCharge, v.CableRating = true, true, 13 })
		r.until(10*time.Second, "charging", func() bool { return r.st.ContactorFeedback })
		s := r.m.Settings()
		s.ChargerMode = settings.ModeCaseC
		bad := r.c.applySettings(s)
		if !strings.Contains(bad["ChargerMode"], "no vehicle connected") {
			t.Fatalf("refusal %v, want a ChargerMode reason", bad)
		}
		r.run(20 * time.Second)
		if r.m.Settings().ChargerMode != settings.ModeCaseB || oracleAmps(r.st.DutyPermille) > 13 || !r.st.ContactorFeedback {
			t.Fatalf("mode %d duty %d‰ contactor %v; want Case B, ≤ 13 A, still charging", r.m.Settings().ChargerMode, r.st.DutyPermille, r.st.ContactorFeedback)
		}
		unplug(r)
		r.run(time.Second)
		if bad := r.c.applySettings(s); bad != nil {
			t.Fatalf("refused with no vehicle: %v", bad)
		}
	})
	t.Run("Case C to B does not fault the session", func(t *testing.T) {
		r := newRig(t, nil)
		r.guard = &safety{}
		r.plugAndCharge()
		s := r.m.Settings()
		s.ChargerMode, s.LockMethod = settings.ModeCaseB, 1
		bad := r.c.applySettings(s)
		if bad["ChargerMode"] == "" || bad["LockMethod"] == "" {
			t.Fatalf("refusal %v, want ChargerMode and LockMethod reasons", bad)
		}
		r.run(10 * time.Second)
		if r.st.Fault != FaultNone || !r.st.ContactorFeedback {
			t.Fatalf("fault %q contactor %v; want still charging", r.st.Fault, r.st.ContactorFeedback)
		}
	})
}

// TestUpdateSettingsRefusedWhileConnected: through the Controller, the
// answer names the key and nothing is persisted or applied; other keys of
// the same request are not applied either (a request is all or nothing).
func TestUpdateSettingsRefusedWhileConnected(t *testing.T) {
	o := newOwnerRig(t)
	v := o.sim.Vehicle()
	v.Plugged = true
	o.sim.SetVehicle(v)
	o.run(time.Second)
	_, _, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{
		"ChargerMode": json.RawMessage(`1`), "ChargeCurrent": json.RawMessage(`10`),
	})
	if err != nil || bad["ChargerMode"] != "ChargerMode can change only with no vehicle connected" {
		t.Fatalf("bad %v err %v", bad, err)
	}
	if s := o.c.Settings(); s.ChargerMode != settings.ModeCaseC || s.ChargeCurrent != 16 || len(o.saved) != 0 {
		t.Fatalf("applied %+v, saved %d; want nothing", s, len(o.saved))
	}
	s := o.c.Settings()
	s.LockMethod = 1
	if err := o.c.ReplaceSettings(s); err == nil || !strings.Contains(err.Error(), "LockMethod can change only with no vehicle connected") {
		t.Fatalf("ReplaceSettings while connected: %v", err)
	}
	v.Plugged = false
	o.sim.SetVehicle(v)
	o.run(time.Second)
	if _, _, bad, err := o.c.UpdateSettings(map[string]json.RawMessage{"ChargerMode": json.RawMessage(`1`)}); bad != nil || err != nil {
		t.Fatalf("with no vehicle: bad %v err %v", bad, err)
	}
}

// TestPPReadSincePlugInBoundsTheOffer: the lowest PP rating read since the
// plug-in caps the offer until the unplug, also when the PP reads higher
// later and when it was read while a fault hid the car (property test
// invariant 18; before, the machine used whatever the PP read now).
func TestPPReadSincePlugInBoundsTheOffer(t *testing.T) {
	cable := func(a float64) func(*rig) {
		return func(r *rig) { r.vehicle(func(v *sim.Vehicle) { v.CableRating = unitsA(a) }) }
	}
	mode := func(p *Params, s *settings.Settings) { caseB(0)(p, s); s.ChargeCurrent = 32 }
	t.Run("PP reads higher while charging", func(t *testing.T) {
		r := newRig(t, mode)
		series(t, r, []tstep{
			{"13 A cable", plug(13, true), 3 * time.Second, want{state: StateCharge, duty: 216, closed: yes}},
			{"PP now reads 32 A: still 13 A", cable(32), 20 * time.Second, want{state: StateCharge, duty: 216, closed: yes}},
			{"unplug, replug: 32 A", both(unplug), time.Second, want{state: StateIdle, duty: DutySteady, closed: no}},
			{"32 A cable", plug(32, true), 8 * time.Second, want{state: StateCharge, duty: 533, closed: yes}},
		})
	})
	t.Run("PP read behind a shorted pilot", func(t *testing.T) {
		r := newRig(t, mode)
		series(t, r, []tstep{
			{"pilot shorted, car with a 13 A cable", both(fault(sim.FaultCPShort), plug(13, true)), time.Second, want{state: StateErrE,
				duty: DutySteady, closed: no}},
			{"PP now reads 32 A", cable(32), time.Second, want{state: StateErrE, duty: DutySteady, closed: no}},
			{"short gone: 13 A", fault(sim.FaultNone), 5 * time.Second, want{state: StateCharge, duty: 216, closed: yes}},
		})
	})
}
