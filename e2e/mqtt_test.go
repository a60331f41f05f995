package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

const base = "evse/e2e"

// result is a <base>/result answer.
type result struct {
	Command     string
	OK          bool
	Status      int
	Result      map[string]string
	Transaction json.RawMessage
}

// mqttDaemon starts mosquitto and the daemon connected to it.
func mqttDaemon(t *testing.T) (*daemon, *mqtttest.Broker, *mqtttest.Observer) {
	t.Helper()
	b := mqtttest.Start(t)
	d := start(t, t.TempDir(), newPorts(t), "device_id: e2e\npublish: {min_interval: 100ms}\n", "EVSE_MQTT_URL="+b.URL())
	o := mqtttest.NewObserver(t, b.URL())
	waitOnline(t, o)
	return d, b, o
}

// waitOnline waits until the daemon has connected and subscribed: it
// publishes "online" only after its subscriptions are in place, and the
// daemon's "running" log line comes before that.
func waitOnline(t testing.TB, o *mqtttest.Observer) {
	t.Helper()
	mqtttest.Wait(t, o.Subscribe(base+"/availability"), 5*time.Second, "daemon online", func(m mqtttest.Message) bool { return m.Payload == "online" })
}

func TestMQTTRetainedStateAndDiscovery(t *testing.T) {
	_, b, o := mqttDaemon(t)
	// Wait for the daemon's discovery to reach the broker, then look with
	// a fresh client: everything must come back retained.
	first := o.Subscribe("homeassistant/#")
	seen := map[string]bool{}
	mqtttest.Wait(t, first, 5*time.Second, "40 discovery configs", func(m mqtttest.Message) bool {
		seen[m.Topic] = true
		return len(seen) >= 40
	})
	o2 := mqtttest.NewObserver(t, b.URL())
	msgs := o2.Subscribe(base + "/#")
	disc := o2.Subscribe("homeassistant/#")
	want := map[string]bool{base + "/availability": false, base + "/status": false, base + "/config": false,
		base + "/meter1": false, base + "/meter2": false, base + "/info": false}
	configs := map[string]string{}
	payloads := map[string]string{}
	deadline := time.After(5 * time.Second)
	for missing := len(want); missing > 0 || len(configs) < 40; {
		select {
		case m := <-msgs:
			if seen, ok := want[m.Topic]; ok && !seen {
				if !m.Retained {
					t.Fatalf("%s not retained", m.Topic)
				}
				want[m.Topic] = true
				payloads[m.Topic] = m.Payload
				missing--
			}
		case m := <-disc:
			if strings.HasSuffix(m.Topic, "/config") && m.Retained {
				configs[m.Topic] = m.Payload
			}
		case <-deadline:
			var names []string
			for k := range configs {
				names = append(names, k)
			}
			t.Fatalf("retained topics seen %v, %d discovery configs: %v", want, len(configs), names)
		}
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(payloads[base+"/status"]), &status); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TimeStamp", "EvseState", "ChargerStarted", "ActualEnergy", "Meter2Status", "State", "Reason", "VehicleConnected"} {
		if _, ok := status[k]; !ok {
			t.Errorf("status lacks %s: %s", k, payloads[base+"/status"])
		}
	}
	if payloads[base+"/availability"] != "online" {
		t.Fatalf("availability %q", payloads[base+"/availability"])
	}
	pageLinked := false
	for topic, p := range configs {
		var c map[string]any
		if err := json.Unmarshal([]byte(p), &c); err != nil || c["unique_id"] == nil {
			t.Fatalf("%s: not a discovery config: %s", topic, p)
		}
		// Home Assistant's device page links to the charger's own page.
		if dev, ok := c["device"].(map[string]any); ok && dev["configuration_url"] != nil {
			u, _ := dev["configuration_url"].(string)
			if !strings.HasPrefix(u, "http://") || !strings.HasSuffix(u, "/") || strings.Contains(u, "/webapi/") {
				t.Errorf("%s: configuration_url %q, want the page at /", topic, u)
			}
			pageLinked = true
		}
	}
	if !pageLinked {
		t.Error("no discovery config names the device's configuration_url")
	}
}

// command publishes payload on topic and returns the answer on <base>/result.
func command(t *testing.T, o *mqtttest.Observer, results <-chan mqtttest.Message, topic, payload string) result {
	t.Helper()
	o.Publish(topic, payload, false)
	m := mqtttest.Wait(t, results, 3*time.Second, "result of "+topic, func(mqtttest.Message) bool { return true })
	var r result
	if err := json.Unmarshal([]byte(m.Payload), &r); err != nil {
		t.Fatalf("result %q: %v", m.Payload, err)
	}
	return r
}

func TestMQTTCommands(t *testing.T) {
	d, _, o := mqttDaemon(t)
	results := o.Subscribe(base + "/result")
	configs := o.Subscribe(base + "/config")
	d.post("/sim/v1/State", `{"EvPlugged": true}`, nil)
	eventually(t, 3*time.Second, func() string { // the controller, not just the car, must see B
		var st map[string]any
		if d.get("/webapi/v1/Status", &st); st["EvseState"] != float64(4) {
			return fmt.Sprintf("EvseState %v, want 4 (connected)", st["EvseState"])
		}
		return ""
	})

	steps := []struct {
		topic, payload string
		ok             bool
		key, answer    string
	}{
		{base + "/charging/set", "OFF", true, "Charging", "Set=>False"},
		{base + "/charging/set", "OFF", true, "Charging", "Set=>False"}, // idempotent
		{base + "/charging/set", "ON", true, "Charging", "Set=>True"},
		{base + "/charging/set", "maybe", false, "", ""},
		{base + "/config/ChargeCurrentBoost/set", "20", true, "ChargeCurrentBoost", "Set=>20"},
		{base + "/boost/set", "ON", true, "Boost", "Set=>True"},
		{base + "/config/ChargeCurrent/set", "10", true, "ChargeCurrent", "Set=>10"},
		{base + "/config/ChargeCurrent/set", "abc", false, "ChargeCurrent", ""},
		{base + "/config/ChargeCurrent/set", "99", false, "ChargeCurrent", ""},
		{base + "/config/NoSuchField/set", "1", false, "NoSuchField", ""},
		{base + "/power_available/set", "5000", false, "EVSEPowerAvailable", ""},
		{base + "/set", `{"ChargeCurrent": 12, "Charge3Phase": false}`, true, "ChargeCurrent", "Set=>12"},
		{base + "/set", `{"ChargeCurrent": 13, "Bogus": 1}`, false, "Bogus", ""},
		{base + "/set", `not json`, false, "", ""},
		{base + "/system/set", `{"SCode": "Bogus"}`, false, "", ""},
		{base + "/system/set", `{"SCode": "WiFiSetToAP"}`, false, "WiFiSetToAP", "not supported"},
	}
	for _, s := range steps {
		r := command(t, o, results, s.topic, s.payload)
		if r.OK != s.ok {
			t.Fatalf("%s %q: ok=%v want %v: %+v", s.topic, s.payload, r.OK, s.ok, r)
		}
		if s.key != "" {
			got, has := r.Result[s.key]
			if !has || (s.answer != "" && got != s.answer) {
				t.Fatalf("%s %q: result %v, want %s=%q", s.topic, s.payload, r.Result, s.key, s.answer)
			}
		}
	}
	// The rejected ChargeCurrent values changed nothing: the retained config says 12.
	cfg := mqtttest.Wait(t, configs, 3*time.Second, "config with ChargeCurrent 12", func(m mqtttest.Message) bool {
		return strings.Contains(m.Payload, `"ChargeCurrent":12`) && strings.Contains(m.Payload, `"Charge3Phase":false`)
	})
	_ = cfg
	var sc map[string]any
	d.get("/webapi/v1/SystemConfig", &sc)
	if sc["ChargeCurrent"] != float64(12) || sc["ChargeCurrentBoost"] != float64(20) {
		t.Fatalf("WebAPI disagrees with MQTT: %v", sc)
	}
	// A transaction id is echoed.
	r := command(t, o, results, base+"/set", `{"ChargeCurrent": 99, "transaction": "t-42"}`)
	if r.OK || string(r.Transaction) != `"t-42"` {
		t.Fatalf("transaction: %+v", r)
	}
}

// TestMQTTRetainedCommandNotReplayed: a retained command left on the
// broker is not applied when the daemon connects.
func TestMQTTRetainedCommandNotReplayed(t *testing.T) {
	b := mqtttest.Start(t)
	o := mqtttest.NewObserver(t, b.URL())
	o.Publish(base+"/config/ChargeCurrent/set", "7", true)
	d := start(t, t.TempDir(), newPorts(t), "device_id: e2e\n", "EVSE_MQTT_URL="+b.URL())
	mqtttest.Wait(t, o.Subscribe(base+"/config"), 3*time.Second, "config", func(m mqtttest.Message) bool { return true })
	var sc map[string]any
	d.get("/webapi/v1/SystemConfig", &sc)
	if sc["ChargeCurrent"] != float64(16) {
		t.Fatalf("retained command was applied: ChargeCurrent %v", sc["ChargeCurrent"])
	}
}

// TestMQTTBrokerRestart: the broker dies and comes back without its
// retained messages; the daemon is back within 2 s, online, subscribed and
// with its state re-published.
func TestMQTTBrokerRestart(t *testing.T) {
	_, b, o := mqttDaemon(t)
	mqtttest.Wait(t, o.Subscribe(base+"/availability"), 3*time.Second, "online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	b.Kill()
	b.Restart()
	back := time.Now()
	o2 := mqtttest.NewObserver(t, b.URL())
	av := o2.Subscribe(base + "/availability")
	st := o2.Subscribe(base + "/status")
	on := mqtttest.Wait(t, av, 3*time.Second, "online after restart", func(m mqtttest.Message) bool { return m.Payload == "online" })
	if d := on.At.Sub(back); d > 2*time.Second {
		t.Fatalf("back online %v after the broker returned, want ≤ 2 s", d)
	}
	mqtttest.Wait(t, st, 3*time.Second, "status re-published", func(m mqtttest.Message) bool { return true })
	results := o2.Subscribe(base + "/result")
	if r := command(t, o2, results, base+"/charging/set", "OFF"); !r.OK {
		t.Fatalf("command after restart: %+v", r)
	}
	disc := o2.Subscribe("homeassistant/+/+/+/config")
	mqtttest.Wait(t, disc, 3*time.Second, "discovery re-published", func(m mqtttest.Message) bool { return m.Payload != "" })
}

// TestMQTTKilledDaemonGoesOffline: SIGKILL leaves no chance to say goodbye;
// the broker publishes the retained last will.
func TestMQTTKilledDaemonGoesOffline(t *testing.T) {
	d, _, o := mqttDaemon(t)
	av := o.Subscribe(base + "/availability")
	mqtttest.Wait(t, av, 3*time.Second, "online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	d.stop(syscall.SIGKILL)
	m := mqtttest.Wait(t, av, 5*time.Second, "offline will", func(m mqtttest.Message) bool { return m.Payload == "offline" })
	_ = m
}

// TestMQTTHomeAssistantBirth: HA's "online" makes the daemon re-announce.
func TestMQTTHomeAssistantBirth(t *testing.T) {
	_, _, o := mqttDaemon(t)
	disc := o.Subscribe("homeassistant/+/+/+/config")
	// drain the retained replay
	mqtttest.Wait(t, disc, 3*time.Second, "discovery", func(m mqtttest.Message) bool { return true })
	o.Publish("homeassistant/status", "online", false)
	mqtttest.Wait(t, disc, 5*time.Second, "re-announce after HA birth", func(m mqtttest.Message) bool { return !m.Retained })
}

// TestMQTTFinalStatusAfterSIGTERM: a clean stop while charging leaves a
// retained status that says what the hardware does — contactor open — and
// availability offline.
func TestMQTTFinalStatusAfterSIGTERM(t *testing.T) {
	d, b, _ := mqttDaemon(t)
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		if s := d.sim(); !s.Contactor {
			return fmt.Sprintf("not charging: %+v", s)
		}
		return ""
	})
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	st := mqtttest.RetainedPayload(t, b.URL(), base+"/status")
	var doc map[string]any
	if err := json.Unmarshal([]byte(st), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["Charging"] != false || doc["ChargerStarted"] != false || doc["ActualPower"] != float64(0) {
		t.Fatalf("final retained status still charging: %s", st)
	}
	if av := mqtttest.RetainedPayload(t, b.URL(), base+"/availability"); av != "offline" {
		t.Fatalf("availability %q after a clean stop", av)
	}
}

// TestMQTTPowerAvailableLease: with a remote supervisor configured, an
// accepted power_available/set limits charging and lapses after the lease
// TTL into the fallback.
func TestMQTTPowerAvailableLease(t *testing.T) {
	b := mqtttest.Start(t)
	d := start(t, t.TempDir(), newPorts(t), "device_id: e2e\npublish: {min_interval: 100ms}\nlimiter: {lease_ttl: 3s}\n", "EVSE_MQTT_URL="+b.URL())
	o := mqtttest.NewObserver(t, b.URL())
	waitOnline(t, o)
	results := o.Subscribe(base + "/result")
	if r := command(t, o, results, base+"/set", `{"Meter2Type": 7, "Meter2Ip": "127.0.0.1"}`); !r.OK {
		t.Fatalf("supervisor config: %+v", r)
	}
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	if r := command(t, o, results, base+"/power_available/set", "4830"); !r.OK || r.Result["EVSEPowerAvailable"] != "Set=>4830" {
		t.Fatalf("power_available: %+v", r)
	}
	type ext struct {
		LimitSource  string  `json:"limit_source"`
		CurrentLimit float64 `json:"current_limit_a"`
	}
	eventually(t, 2*time.Second, func() string { // 4830 W / (3 × 230 V) = 7 A
		var e ext
		if d.get("/api/v1/status", &e); e.LimitSource != "supervisor lease" || e.CurrentLimit != 7 {
			return fmt.Sprintf("%+v, want 7 A from the supervisor lease", e)
		}
		return ""
	})
	eventually(t, 5*time.Second, func() string { // the lease lapses: fallback 6 A
		var e ext
		if d.get("/api/v1/status", &e); e.LimitSource != "fallback" || e.CurrentLimit != 6 {
			return fmt.Sprintf("%+v, want the 6 A fallback after the lease", e)
		}
		return ""
	})
}

// TestMQTTStrictInput drives the built daemon through a real broker with
// what the audit sent (issue 9, items 10–14): every refused command is
// answered on <base>/result with a reason, changes nothing, and neither
// the answer nor the log repeats a long value.
func TestMQTTStrictInput(t *testing.T) {
	d, _, o := mqttDaemon(t)
	results := o.Subscribe(base + "/result")
	if r := command(t, o, results, base+"/set", `{"ChargeCurrent": 10, "Meter2Type": 7, "Meter2Ip": "127.0.0.1"}`); !r.OK {
		t.Fatalf("setup: %+v", r)
	}
	var before map[string]any
	d.get("/webapi/v1/SystemConfig", &before)
	long := strings.Repeat("x", 3000)
	steps := []struct {
		name, topic, payload string
		status               int
		key, reason          string
	}{
		{"duplicate service code", "/system/set", `{"SCode":"Reset","SCode":"FactoryDefault"}`, 400, "error", "given twice"},
		{"duplicate field", "/set", `{"ChargeCurrent": 11, "ChargeCurrent": 12}`, 400, "error", "given twice"},
		{"trailing bracket", "/set", `{"ChargeCurrent": 12}]`, 400, "error", "malformed JSON"},
		{"null bool", "/set", `{"Charge3Phase": null}`, 400, "Charge3Phase", "got null"},
		{"null bool topic", "/config/ChargeAutoStart/set", `null`, 400, "ChargeAutoStart", "got null"},
		{"null address", "/config/Meter1Ip/set", `null`, 400, "Meter1Ip", "got null"},
		{"underflow", "/config/ControlLimit/set", `1e-400`, 400, "ControlLimit", "whole number"},
		{"fraction", "/set", `{"ChargeCurrent": 6.5}`, 400, "ChargeCurrent", "whole number"},
		{"watts with a unit", "/power_available/set", `5000 W`, 400, "EVSEPowerAvailable", "number of watts"},
		{"oversized", "/set", `{"ChargeCurrent": 14` + strings.Repeat(" ", 1<<20) + `}`, 413, "error", "at most 4096 bytes"},
		{"oversized again", "/config/ChargeCurrent/set", strings.Repeat("1", 12<<20), 413, "error", "at most 4096 bytes"},
		{"long address", "/config/Meter1Ip/set", long, 400, "Meter1Ip", "not an IP address"},
		{"long name", "/set", `{"` + long + `": 1}`, 400, "error", "unknown object"},
		{"long code", "/system/set", `{"SCode":"` + long + `"}`, 400, "SCode", "unknown service code"},
	}
	for _, s := range steps {
		r := command(t, o, results, base+s.topic, s.payload)
		if r.OK || r.Status != s.status || !strings.Contains(r.Result[s.key], s.reason) {
			t.Errorf("%s: ok=%v status %d result %v, want %d and %s: …%s…", s.name, r.OK, r.Status, r.Result, s.status, s.key, s.reason)
		}
		if b, _ := json.Marshal(r); len(b) > 600 {
			t.Errorf("%s: %d-byte result %.200s", s.name, len(b), b)
		}
	}
	var after map[string]any
	d.get("/webapi/v1/SystemConfig", &after)
	delete(before, "TimeStamp")
	delete(after, "TimeStamp")
	if fmt.Sprint(after) != fmt.Sprint(before) || after["ChargeCurrent"] != float64(10) {
		t.Fatalf("refused commands changed the settings (FactoryDefault?):\n%v\n→\n%v", before, after)
	}
	var ext struct {
		LimitSource string `json:"limit_source"`
	}
	if d.get("/api/v1/status", &ext); ext.LimitSource == "supervisor lease" {
		t.Fatalf("5000 W was taken as a supervisor lease")
	}
	logs := d.log()
	if n := strings.Count(logs, "oversized command payload refused"); n != 1 {
		t.Errorf("%d log lines for two oversized payloads, want 1 (rate-limited)", n)
	}
	for _, line := range strings.Split(logs, "\n") {
		if len(line) > 1000 {
			t.Errorf("%d-byte log line: %.200s…", len(line), line)
		}
	}
}
