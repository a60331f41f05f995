package discovery

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// The select's options are the words phases/set takes and the status
// reports, and the mode select's the modes: written out here so the
// package needs no controller, checked against it so they cannot drift.
func TestWordSelectsMatchTheController(t *testing.T) {
	if got, want := phaseRequestNames(), controller.PhaseRequestNames(); !slices.Equal(got, want) {
		t.Errorf("phase request options %v, controller takes %v", got, want)
	}
	if got, want := modeNames(), controller.ModeNames(); !slices.Equal(got, want) {
		t.Errorf("mode options %v, controller takes %v", got, want)
	}
	if got, want := stringEnums()["PhaseRequest"], controller.PhaseRequestNames(); !slices.Equal(got, want) {
		t.Errorf("the rules know PhaseRequest as %v, controller %v", got, want)
	}
}

// The phase request select comes with C2 only; the meter address texts
// always, disabled like the other installer settings.
func TestBuildPhaseSelectAndMeterAddresses(t *testing.T) {
	for _, c2 := range []bool{false, true} {
		d := testDevice()
		d.PhaseSwitch = c2
		msgs, err := Build(d, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if c2 {
			want = 1
		}
		if got := countTopics(msgs, "/select/evse_abc123/phase_request/"); got != want {
			t.Errorf("PhaseSwitch %v: %d phase request selects, want %d", c2, got, want)
		}
		texts := 0
		for _, m := range msgs {
			var p struct {
				Enabled *bool `json:"enabled_by_default"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatal(err)
			}
			switch m.Topic {
			case "homeassistant/text/evse_abc123/ip_meter1/config", "homeassistant/text/evse_abc123/ip_meter2/config":
				if p.Enabled == nil || *p.Enabled {
					t.Errorf("%s: enabled_by_default %v, want false", m.Topic, p.Enabled)
				}
				texts++
			}
		}
		if texts != 2 {
			t.Errorf("PhaseSwitch %v: %d meter address texts, want 2", c2, texts)
		}
		for _, err := range checkRules(msgs, envFor(d, testOptions())) {
			t.Error(err)
		}
	}
}
