package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

type phaseSim struct {
	PilotDuty    float64
	Contactor    bool
	EvCurrent    float64
	SupplyPhases int
}

// TestMQTTPhaseSwitch: on the built daemon with hardware.phase_switch, a
// phases/set 1 while charging runs the whole sequence, visible through
// /sim/v1/State: duty 100 → contactor open → F for ≥ 5 s → SupplyPhases 1
// → contactor closed with the current on one phase (meter 1 verifies it).
func TestMQTTPhaseSwitch(t *testing.T) {
	b := mqtttest.Start(t)
	d := start(t, t.TempDir(), newPorts(t), "device_id: e2e\npublish: {min_interval: 100ms}\nhardware: {phase_switch: true}\n", "EVSE_MQTT_URL="+b.URL())
	o := mqtttest.NewObserver(t, b.URL())
	waitOnline(t, o)
	results := o.Subscribe(base + "/result")
	sim := func() phaseSim {
		var s phaseSim
		d.get("/sim/v1/State", &s)
		return s
	}
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 20*time.Second, func() string {
		if s := sim(); !s.Contactor || s.EvCurrent != 16 || s.SupplyPhases != 3 {
			return fmt.Sprintf("not charging on 3p: %+v", s)
		}
		return ""
	})
	if r := command(t, o, results, base+"/phases/set", "1"); !r.OK || r.Result["Phases"] != "Set=>1" {
		t.Fatalf("phases/set 1: %+v", r)
	}
	// Watch the sequence, one step after the other.
	steps := []struct {
		what string
		ok   func(phaseSim) bool
	}{
		{"PWM withdrawn (duty 100 %)", func(s phaseSim) bool { return s.PilotDuty == 100 }},
		{"contactor open", func(s phaseSim) bool { return !s.Contactor && s.EvCurrent == 0 }},
		{"F (duty 0)", func(s phaseSim) bool { return s.PilotDuty == 0 }},
		{"SupplyPhases 1", func(s phaseSim) bool { return s.SupplyPhases == 1 }},
		{"contactor closed, charging", func(s phaseSim) bool { return s.Contactor && s.EvCurrent > 0 }},
	}
	var fAt, switchedAt time.Time
	for _, st := range steps {
		eventually(t, 15*time.Second, func() string {
			s := sim()
			if s.SupplyPhases == 1 && fAt.IsZero() {
				t.Fatalf("SupplyPhases 1 before F: %+v", s)
			}
			if s.SupplyPhases == 3 && s.PilotDuty != 0 && !fAt.IsZero() && st.what == "SupplyPhases 1" {
				return fmt.Sprintf("F left before C2 moved: %+v", s)
			}
			if !st.ok(s) {
				return fmt.Sprintf("waiting for %s: %+v", st.what, s)
			}
			return ""
		})
		switch st.what {
		case "F (duty 0)":
			fAt = time.Now()
		case "SupplyPhases 1":
			switchedAt = time.Now()
		}
		t.Logf("%s", st.what)
	}
	if f := switchedAt.Sub(fAt); f < 4900*time.Millisecond {
		t.Fatalf("C2 moved %v after F began; want ≥ 5 s", f)
	}
	var m meterDoc
	eventually(t, 30*time.Second, func() string {
		var e struct {
			PhasesActive int    `json:"phases_active"`
			PhaseSwitch  string `json:"phase_switch"`
			PhaseReason  string `json:"phase_reason"`
		}
		d.get("/api/v1/status", &e)
		d.get("/webapi/v1/Meter1", &m)
		l1, l2 := m["Meter1"].ModbusData["0x04_0x0006"].Value, m["Meter1"].ModbusData["0x04_0x0008"].Value
		if e.PhasesActive != 1 || e.PhaseSwitch != "idle" || l1 < 6 || l2 != 0 {
			return fmt.Sprintf("%+v, meter 1 L1 %v A L2 %v A; want 1p verified", e, l1, l2)
		}
		return ""
	})
	t.Logf("F held %v before C2 moved", switchedAt.Sub(fAt).Round(10*time.Millisecond))
}
