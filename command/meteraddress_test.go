package command

import (
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestMQTTMeterAddressText: what Home Assistant's Meter 1/2 address texts
// publish on config/Meter<n>Ip/set — the text as typed, no JSON quotes —
// is taken as a string and judged by the settings' address rules; a bad
// one is refused with a short reason and changes nothing.
func TestMQTTMeterAddressText(t *testing.T) {
	r := newRig(t, func(s *settings.Settings) {
		s.Meter1Type, s.Meter1Ip = settings.MeterIPSDM72D, "192.168.0.30"
	}, Services{})
	for _, c := range []struct {
		sub, payload string
		want         string // the address afterwards; "" with ok false = unchanged
		ok           bool
	}{
		{"config/Meter1Ip/set", "192.168.0.31", "192.168.0.31", true},
		{"config/Meter1Ip/set", "meter.local", "meter.local", true},
		{"config/Meter1Ip/set", "meter.local:502", "meter.local:502", true},
		{"config/Meter1Ip/set", "fd00::5", "fd00::5", true},
		{"config/Meter1Ip/set", "[fd00::5]:1502", "[fd00::5]:1502", true},
		{"config/Meter1Ip/set", ` "10.0.0.9" `, "10.0.0.9", true},
		{"config/Meter1Ip/set", "not an address!", "", false},
		{"config/Meter1Ip/set", "meter.local:70000", "", false},
		{"config/Meter1Ip/set", "-bad-.local", "", false},
		{"config/Meter1Ip/set", strings.Repeat("a", 300), "", false},
		{"config/Meter1Ip/set", "", "", false}, // an IP meter needs an address
		{"config/Meter2Ip/set", "", "", true},  // meter 2 none: clearing is fine
		{"config/Meter2Ip/set", "10.0.0.8", "10.0.0.8", true},
	} {
		before := r.ctl.Settings()
		res := r.table.MQTT(c.sub, []byte(c.payload), mqtt)
		field := strings.TrimSuffix(strings.TrimPrefix(c.sub, "config/"), "/set")
		after := r.ctl.Settings()
		got := map[string]string{"Meter1Ip": after.Meter1Ip, "Meter2Ip": after.Meter2Ip}[field]
		switch {
		case res.Reply.Applied() != c.ok:
			t.Errorf("%s %.40q: applied %v (%s), want %v", c.sub, c.payload, res.Reply.Applied(), res.Reply.JSON(), c.ok)
		case c.ok && got != c.want:
			t.Errorf("%s %.40q: %s is %q, want %q", c.sub, c.payload, field, got, c.want)
		case !c.ok && after != before:
			t.Errorf("%s %.40q: refused but the settings changed", c.sub, c.payload)
		case !c.ok && len(res.Reply.JSON()) > 400:
			t.Errorf("%s %.40q: %d-byte refusal", c.sub, c.payload, len(res.Reply.JSON()))
		}
	}
	// Meter 2 as the remote supervisor takes an IP address only.
	if res := r.table.MQTT("set", []byte(`{"Meter2Type": 7, "Meter2Ip": "10.0.0.7"}`), mqtt); !res.Reply.Applied() {
		t.Fatalf("supervisor at 10.0.0.7: %s", res.Reply.JSON())
	}
	if res := r.table.MQTT("config/Meter2Ip/set", []byte("supervisor.local"), mqtt); res.Reply.Applied() || r.ctl.Settings().Meter2Ip != "10.0.0.7" {
		t.Errorf("a host name for the supervisor: %s, Meter2Ip %q", res.Reply.JSON(), r.ctl.Settings().Meter2Ip)
	}
}
