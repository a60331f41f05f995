package command

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestMQTTStrictPayloads: every MQTT command topic decodes as strictly
// as the WebAPI (issue 9, items 10–12), and a refused command changes
// neither the settings, the file nor the session.
func TestMQTTStrictPayloads(t *testing.T) {
	var resets, factory int
	r := newRig(t, func(s *settings.Settings) { s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7" }, Services{
		Reset:          func() error { resets++; return nil },
		FactoryDefault: func() error { factory++; return nil },
	})
	for _, c := range []struct{ sub, payload, key, reason string }{
		{"system/set", `{"SCode":"Reset","SCode":"FactoryDefault"}`, "error", `object "SCode" given twice`},
		{"system/set", `{"SCode":"Reset"} {"SCode":"FactoryDefault"}`, "error", "data after the object"},
		{"system/set", `{"SCode":"Reset"}x`, "error", "malformed JSON"},
		{"system/set", `{"SCode":null}`, "SCode", "must be a string, got null"},
		{"set", `{"ChargeCurrent":10,"ChargeCurrent":12}`, "error", "given twice"},
		{"set", `{"ChargeAutoStart":null}`, "ChargeAutoStart", "got null"},
		{"set", `{"Charge3Phase":null}`, "Charge3Phase", "got null"},
		{"set", `{"Meter1Ip":null}`, "Meter1Ip", "got null"},
		{"set", `{"ControlLimit":1e-400}`, "ControlLimit", "whole number"},
		{"set", `{"ChargeCurrent":6.5}`, "ChargeCurrent", "whole number"},
		{"set", `{"Charging":null}`, "Charging", "true or false"},
		{"set", `{"ChargeCurrent":10,"transaction":1,"Transaction":2}`, "error", "transaction given twice"},
		{"set", `{"ChargeCurrent":10,"transaction":"` + strings.Repeat("t", 200) + `"}`, "error", "at most 128 bytes"},
		{"set", `{"ChargeCurrent":10,"transaction":{"a":1}}`, "error", "string or number"},
		{"system/set", `{"SCode":"Reset","transaction":null}`, "error", "string or number"},
		{"set", `null`, "error", "must be a JSON object"},
		{"set", ``, "error", "must be a JSON object"},
		{"config/ChargeAutoStart/set", `null`, "ChargeAutoStart", "got null"},
		{"config/Charge3Phase/set", `null`, "Charge3Phase", "got null"},
		{"config/Meter2Ip/set", `null`, "Meter2Ip", "got null"},
		{"config/ControlLimit/set", `1e-400`, "ControlLimit", "whole number"},
		{"config/ChargeCurrent/set", `16 A`, "ChargeCurrent", "must be a number"},
		{"power_available/set", `5000 W`, "EVSEPowerAvailable", "number of watts"},
		{"power_available/set", `1e-400`, "EVSEPowerAvailable", "number of watts"},
		{"power_available/set", `null`, "EVSEPowerAvailable", "number of watts"},
		{"power_available/set", `5000 5000`, "EVSEPowerAvailable", "number of watts"},
		{"charging/set", `ON OFF`, "error", "ON or OFF"},
	} {
		file, set, st := fileOf(t, r.store), r.ctl.Settings(), r.ctl.Status()
		res := r.table.MQTT(c.sub, []byte(c.payload), mqtt)
		if got, _ := res.Reply.Get(c.key); res.Reply.Applied() || !strings.Contains(got, c.reason) {
			t.Errorf("%s %s: %d %s, want %s: …%s…", c.sub, c.payload, res.Reply.Status, body(t, res.Reply), c.key, c.reason)
		}
		if fileOf(t, r.store) != file || r.ctl.Settings() != set || r.ctl.Status() != st {
			t.Errorf("%s %s changed state", c.sub, c.payload)
		}
	}
	if resets != 0 || factory != 0 {
		t.Fatalf("a refused payload ran a service code: %d resets, %d factory defaults", resets, factory)
	}
	// The good forms still work, and name their command as before.
	for _, c := range []struct{ sub, payload, cmd, key, answer string }{
		{"set", `{"ChargeCurrent":10,"transaction":"t-1"}`, "set", "ChargeCurrent", "Set=>10"},
		{"set", `{"ChargeCurrent":10,"transaction":42}`, "set", "ChargeCurrent", "Set=>10"},
		{"config/Meter1Ip/set", `192.168.0.30`, "config/Meter1Ip", "Meter1Ip", "Set=>192.168.0.30"},
		{"config/ChargeCurrent/set", ` 12 `, "config/ChargeCurrent", "ChargeCurrent", "Set=>12"},
		{"power_available/set", `5000`, "power_available", "EVSEPowerAvailable", "Set=>5000"},
		{"charging/set", `OFF`, "charging", "Charging", "Set=>False"},
		{"system/set", `{"SCode":"Reset"}`, "system", "Reset", "Performing"},
	} {
		res := r.table.MQTT(c.sub, []byte(c.payload), mqtt)
		if got, _ := res.Reply.Get(c.key); res.Command != c.cmd || got != c.answer {
			t.Errorf("%s %s: command %q, %s", c.sub, c.payload, res.Command, body(t, res.Reply))
		}
	}
	if resets != 1 {
		t.Fatalf("Reset ran %d times", resets)
	}
}

// TestMQTTPayloadCap: a payload over MaxPayload is refused unread with a
// reason (item 13) and logged at most once a minute, with a count of the
// ones left out.
func TestMQTTPayloadCap(t *testing.T) {
	r := newRig(t, nil, Services{})
	var logs bytes.Buffer
	tb := New(r.ctl, Services{}, zerolog.New(&logs))
	now := epoch
	tb.now = func() time.Time { return now }
	big := []byte(`{"ChargeCurrent":10` + strings.Repeat(" ", MaxPayload) + `}`) // valid JSON, just too big
	fits := []byte(`{"ChargeCurrent":10` + strings.Repeat(" ", MaxPayload-len(`{"ChargeCurrent":10}`)) + `}`)
	file := fileOf(t, r.store)
	for i := range 5 {
		res := tb.MQTT("set", big, mqtt)
		if res.Reply.Status != http.StatusRequestEntityTooLarge || !strings.Contains(res.Reply.Values["error"], "at most 4096 bytes") {
			t.Fatalf("oversized payload %d: %d %s", i, res.Reply.Status, body(t, res.Reply))
		}
		now = now.Add(time.Second)
	}
	if r.ctl.Settings().ChargeCurrent != 16 || fileOf(t, r.store) != file {
		t.Fatal("an oversized payload was applied")
	}
	if n := strings.Count(logs.String(), "oversized command payload refused"); n != 1 {
		t.Fatalf("%d log lines for 5 oversized payloads in 5 s, want 1:\n%s", n, logs.String())
	}
	now = now.Add(oversizeEvery)
	tb.MQTT("config/ChargeCurrent/set", big, mqtt)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"more_since_last_log":4`) || !strings.Contains(lines[1], `"bytes":4116`) {
		t.Fatalf("second log line after a minute: %q", lines)
	}
	if res := tb.MQTT("set", fits, mqtt); res.Reply.Status != http.StatusOK {
		t.Fatalf("a payload of exactly %d bytes: %d %s", len(fits), res.Reply.Status, body(t, res.Reply))
	}
}

// TestMQTTEchoesAreShort: a rejected value just under the cap, or a topic
// level of any length, is quoted short in the answer and the log (item 14).
func TestMQTTEchoesAreShort(t *testing.T) {
	r := newRig(t, nil, Services{})
	var logs bytes.Buffer
	tb := New(r.ctl, Services{}, zerolog.New(&logs))
	long := strings.Repeat("y", MaxPayload-64)
	for _, c := range []struct{ sub, payload string }{
		{"set", `{"Meter1Ip":"` + long + `"}`},
		{"set", `{"` + long + `":1}`},
		{"set", `{"ChargeCurrent":"` + long + `"}`},
		{"system/set", `{"SCode":"` + long + `"}`},
		{"config/Meter1Ip/set", long},
		{"config/" + strings.Repeat("z", 70000) + "/set", "1"},
		{"power_available/set", long},
		{"charging/set", long},
	} {
		logs.Reset()
		res := tb.MQTT(c.sub, []byte(c.payload), mqtt)
		if res.Reply.Applied() {
			t.Fatalf("%.40s: applied", c.payload)
		}
		if b := res.Reply.JSON(); len(b) > 400 || len(res.Command) > 64 {
			t.Errorf("%.40s %.40s: %d-byte answer, %d-byte command: %.200s", c.sub, c.payload, len(b), len(res.Command), b)
		}
		if logs.Len() > 600 {
			t.Errorf("%.40s %.40s: %d-byte log: %.300s", c.sub, c.payload, logs.Len(), logs.String())
		}
	}
}

// FuzzMQTT feeds any payload to every MQTT command topic of one long-lived
// rig and checks what was decoded, not only that nothing panicked:
//   - every answer is short (no echo of a long value) and names the command;
//   - a refused command changed neither the settings, the file, the
//     session nor ran a service code, and answered no "Set=>";
//   - an accepted settings change holds exactly the values sent, each sent
//     as the field's own JSON type (null, "5", 1e-400 never pass), and the
//     result survives the store's JSON round trip;
//   - a service code ran only for a payload that names it once.
func FuzzMQTT(f *testing.F) {
	for _, s := range []struct {
		topic   uint8
		payload string
	}{
		{0, `{"Charging":true}`}, {0, `{"Boost":false,"ChargeCurrent":10}`}, {0, `{"EVSEPowerAvailable":0}`},
		{0, `{"ChargeCurrent":10,"ChargeCurrentBoost":8}`}, {0, `{"Meter1Type":4,"Meter1Ip":"h:1"}`}, {0, `{"x":1}`},
		{0, `{"ChargeAutoStart":null}`}, {0, `{"Charge3Phase":false,"transaction":"t"}`}, {0, `{"ControlLimit":1e-400}`},
		{0, `{"ChargeCurrent":10,"ChargeCurrent":11}`}, {0, `{"ChargeCurrent":12} {}`},
		{1, `ON`}, {1, `off`}, {2, `1`}, {3, `5000 W`}, {3, `4140.5`}, {3, `1e-400`},
		{4, `16`}, {4 + 6*11, `null`}, {4 + 6*5, `192.168.0.30`}, {4 + 6*7, `null`}, {4 + 6*10, `1e-400`},
		{5, `{"SCode":"Reset","SCode":"FactoryDefault"}`}, {5, `{"SCode":"reset"}`}, {5, `{"UpdateCheckToggle":true}`},
	} {
		f.Add(s.topic, []byte(s.payload))
	}
	var resets, factory int
	r := newRig(f, func(s *settings.Settings) { s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7" }, Services{
		Reset:          func() error { resets++; return nil },
		FactoryDefault: func() error { factory++; return nil },
	})
	f.Fuzz(func(t *testing.T, topic uint8, payload []byte) {
		sub := MQTTTopics[int(topic)%len(MQTTTopics)]
		field := ""
		if strings.Contains(sub, "+") {
			field = "NoSuchField"
			if i := int(topic) / len(MQTTTopics) % (len(settings.Fields) + 1); i < len(settings.Fields) {
				field = settings.Fields[i].Name
			}
			sub = strings.Replace(sub, "+", field, 1)
		}
		file, set, st := fileOf(t, r.store), r.ctl.Settings(), r.ctl.Status()
		resets0, factory0 := resets, factory
		res := r.table.MQTT(sub, payload, mqtt)
		rep := res.Reply
		var answers map[string]any
		if err := json.Unmarshal(rep.JSON(), &answers); err != nil || len(answers) != len(rep.Keys) {
			t.Fatalf("answer %s is not one object: %v", rep.JSON(), err)
		}
		for k, v := range rep.Values {
			if len(k) > MaxName || len(v) > 300 {
				t.Fatalf("long answer %.60q: %.60q (%d bytes)", k, v, len(v))
			}
		}
		if len(res.Transaction) > MaxTransaction {
			t.Fatalf("%d-byte transaction echoed", len(res.Transaction))
		}
		if res.Command == "" || len(res.Command) > 64 {
			t.Fatalf("command %q", res.Command)
		}
		if rep.Status != http.StatusOK {
			if fileOf(t, r.store) != file || r.ctl.Settings() != set || r.ctl.Status() != st || resets != resets0 || factory != factory0 {
				t.Fatalf("refused %s %q changed state: %s", sub, payload, rep.JSON())
			}
			for _, v := range rep.Values {
				if strings.HasPrefix(v, "Set=>") {
					t.Fatalf("refused %s %q answered %s", sub, payload, rep.JSON())
				}
			}
			r.step()
			return
		}
		// Accepted: what was sent, as the field's own type.
		sent := map[string]json.RawMessage{}
		switch {
		case field != "":
			sent[field] = scalar(payload)
		case sub == "set":
			var err error
			if sent, err = jsonstrict.ObjectBytes(payload); err != nil {
				t.Fatalf("set %q accepted although not one strict object: %v", payload, err)
			}
		}
		next := r.ctl.Settings()
		fields := 0
		for k, raw := range sent {
			f, ok := settings.LookupField(k)
			if !ok {
				continue
			}
			fields++
			v := reflectField(next, f.Name)
			if got, _ := rep.Get(k); got != "Set=>"+jsonText(v) {
				t.Fatalf("%s %q: %s answered %q, in force %v", sub, payload, k, got, v)
			}
			checkSent(t, f, raw, v)
		}
		if es := next.Validate("", 32); len(es) > 0 {
			t.Fatalf("accepted invalid settings: %v", es)
		}
		if ran := resets - resets0 + factory - factory0; ran > 0 {
			if sub != "system/set" || ran != 1 || bytes.Count(bytes.ToLower(payload), []byte("scode")) != 1 {
				t.Fatalf("service code ran %d times for %s %q", ran, sub, payload)
			}
		}
		var back settings.Settings
		if fields == 0 && next != set {
			t.Fatalf("%s %q changed settings without a settings field", sub, payload)
		}
		if fields == 0 {
			r.step()
			return
		}
		if err := json.Unmarshal([]byte(fileOf(t, r.store)), &back); err != nil || back != next {
			t.Fatalf("file %s does not hold the settings in force %+v", fileOf(t, r.store), next)
		}
		r.step()
	})
}

// reflectField reads a field by name through its JSON form, apart from
// the settings table the decoder uses.
func reflectField(s settings.Settings, name string) any {
	var m map[string]any
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &m)
	if f, ok := m[name].(float64); ok {
		return int(f)
	}
	return m[name]
}

// checkSent asserts v is exactly what raw says for a field of f's kind,
// judged from the raw bytes.
func checkSent(t *testing.T, f settings.Field, raw json.RawMessage, v any) {
	t.Helper()
	raw = bytes.TrimSpace(raw)
	ok := false
	switch f.Kind {
	case settings.KindBool:
		ok = (string(raw) == "true" || string(raw) == "false") && v == (string(raw) == "true")
	case settings.KindString:
		var s string
		ok = len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && v == strings.TrimSpace(s)
	case settings.KindInt:
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') || !json.Valid(raw) {
			break
		}
		mant, exp, hasExp := strings.Cut(strings.ToLower(string(raw)), "e")
		if e, err := strconv.Atoi(strings.TrimPrefix(exp, "+")); hasExp && (err != nil || e > 10000 || e < -10000) {
			ok = strings.Trim(mant, "-0.") == "" && v == 0 // only zero survives a huge exponent
			break
		}
		r, isNum := new(big.Rat).SetString(string(raw))
		ok = isNum && r.IsInt() && r.Cmp(big.NewRat(int64(v.(int)), 1)) == 0
	}
	if !ok {
		t.Fatalf("%s: accepted %s as %v", f.Name, raw, v)
	}
}
