package discovery

import (
	"encoding/json"
	"testing"
)

// A bridged box's entities are available only while both the bridge
// (its last will) and the box (its own topic) are online, and the device
// names the box's model, product type and firmware, with our version as
// the origin's.
func TestBuildBridgedBox(t *testing.T) {
	d := testDevice()
	d.Model, d.ModelID, d.SWVersion, d.OriginVersion = "PSP EVSE v1.0", "01100200", "0.9.2", "1.2.3"
	d.DeviceAvailability = "device/availability"
	base := d.Base
	if base == "" {
		base = "evse/" + d.ID
	}
	msgs, err := Build(d, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatal("no messages")
	}
	for _, m := range msgs {
		var p struct {
			Availability []struct {
				Topic string `json:"topic"`
			} `json:"availability"`
			Mode   string         `json:"availability_mode"`
			Dev    map[string]any `json:"device"`
			Origin map[string]any `json:"origin"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		topics := map[string]bool{}
		for _, a := range p.Availability {
			topics[a.Topic] = true
		}
		if !topics[base+"/availability"] || !topics[base+"/device/availability"] || p.Mode != "all" {
			t.Errorf("%s: availability %v mode %q", m.Topic, p.Availability, p.Mode)
		}
		if p.Dev["model"] != "PSP EVSE v1.0" || p.Dev["model_id"] != "01100200" || p.Dev["sw_version"] != "0.9.2" || p.Origin["sw_version"] != "1.2.3" {
			t.Errorf("%s: device %v origin %v", m.Topic, p.Dev, p.Origin)
		}
	}
}
