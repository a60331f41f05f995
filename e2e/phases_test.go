package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
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
	// Home Assistant's select for the request, and the request in the
	// retained status: follow before any phases/set.
	var sel struct {
		Options       []string `json:"options"`
		CommandTopic  string   `json:"command_topic"`
		StateTopic    string   `json:"state_topic"`
		ValueTemplate string   `json:"value_template"`
	}
	cfg := mqtttest.RetainedPayload(t, b.URL(), "homeassistant/select/evse_e2e/phase_request/config")
	if err := json.Unmarshal([]byte(cfg), &sel); err != nil || !slices.Equal(sel.Options, []string{"follow", "1", "3", "auto"}) ||
		sel.CommandTopic != base+"/phases/set" || sel.StateTopic != base+"/status" || sel.ValueTemplate != "{{ value_json.PhaseRequest }}" {
		t.Fatalf("phase request select: %v %s", err, cfg)
	}
	waitPhaseRequest(t, b.URL(), "follow")
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
	waitPhaseRequest(t, b.URL(), "1")
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
			PhaseRequest string `json:"phase_request"`
		}
		d.get("/api/v1/status", &e)
		d.get("/webapi/v1/Meter1", &m)
		l1, l2 := m["Meter1"].ModbusData["0x04_0x0006"].Value, m["Meter1"].ModbusData["0x04_0x0008"].Value
		if e.PhasesActive != 1 || e.PhaseSwitch != "idle" || e.PhaseRequest != "1" || l1 < 6 || l2 != 0 {
			return fmt.Sprintf("%+v, meter 1 L1 %v A L2 %v A; want 1p verified", e, l1, l2)
		}
		return ""
	})
	t.Logf("F held %v before C2 moved", switchedAt.Sub(fAt).Round(10*time.Millisecond))
	// What the select sends to go back: follow (Charge3Phase, here 3p).
	if r := command(t, o, results, base+"/phases/set", "follow"); !r.OK || r.Result["Phases"] != "Set=>follow" {
		t.Fatalf("phases/set follow: %+v", r)
	}
	waitPhaseRequest(t, b.URL(), "follow")
}

// waitPhaseRequest waits until the retained <base>/status reports want
// as PhaseRequest (the status is published at most every 100 ms here).
func waitPhaseRequest(t *testing.T, url, want string) {
	t.Helper()
	eventually(t, 5*time.Second, func() string {
		var st map[string]any
		p := mqtttest.RetainedPayload(t, url, base+"/status")
		if err := json.Unmarshal([]byte(p), &st); err != nil {
			t.Fatalf("status: %v", err)
		}
		if got, ok := st["PhaseRequest"]; !ok || got != want {
			return fmt.Sprintf("retained status PhaseRequest %v (present %v), want %q", got, ok, want)
		}
		return ""
	})
}
