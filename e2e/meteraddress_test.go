package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// TestMQTTMeterAddressText: the built daemon announces Home Assistant
// texts for Meter1Ip/Meter2Ip (config, disabled by default), and what such
// a text publishes — the address as typed — is applied, retained on
// <base>/config, or refused with nothing changed.
func TestMQTTMeterAddressText(t *testing.T) {
	d, b, o := mqttDaemon(t)
	for _, n := range []string{"1", "2"} {
		var c map[string]any
		p := mqtttest.RetainedPayload(t, b.URL(), "homeassistant/text/evse_e2e/ip_meter"+n+"/config")
		if err := json.Unmarshal([]byte(p), &c); err != nil || c["command_topic"] != base+"/config/Meter"+n+"Ip/set" ||
			c["enabled_by_default"] != false || c["entity_category"] != "config" || c["value_template"] != "{{ value_json.Meter"+n+"Ip }}" {
			t.Fatalf("meter %s address text: %v %s", n, err, p)
		}
	}
	results := o.Subscribe(base + "/result")
	if r := command(t, o, results, base+"/config/Meter1Ip/set", "meter.local:502"); !r.OK || r.Result["Meter1Ip"] != "Set=>meter.local:502" {
		t.Fatalf("Meter1Ip meter.local:502: %+v", r)
	}
	if r := command(t, o, results, base+"/config/Meter1Ip/set", "not an address!"); r.OK {
		t.Fatalf("Meter1Ip 'not an address!' applied: %+v", r)
	}
	eventually(t, 5*time.Second, func() string {
		var cfg struct{ Meter1Ip string }
		if err := json.Unmarshal([]byte(mqtttest.RetainedPayload(t, b.URL(), base+"/config")), &cfg); err != nil {
			t.Fatal(err)
		}
		var web struct{ Meter1Ip string }
		d.get("/webapi/v1/SystemConfig", &web)
		if cfg.Meter1Ip != "meter.local:502" || web.Meter1Ip != "meter.local:502" {
			return fmt.Sprintf("retained Meter1Ip %q, WebAPI %q; want meter.local:502", cfg.Meter1Ip, web.Meter1Ip)
		}
		return ""
	})
}
