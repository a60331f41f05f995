package webapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// fuzzPost feeds arbitrary bodies to a POST endpoint of one long-lived
// rig. Invariants: no panic; the answer is one JSON object of short
// string values; the status is one the contract allows; a refused request
// changes neither the settings file nor the settings; and an accepted
// SystemConfig write was one strict JSON object whose every field is now
// in force with exactly the value sent, sent as the field's JSON type
// (GET SystemConfig shows it, and the file holds it).
func fuzzPost(f *testing.F, path string, seeds []string) {
	for _, s := range seeds {
		f.Add(s)
	}
	for _, r := range rejections {
		if "/webapi/v1/"+r.path == path && len(r.body) < 1024 {
			f.Add(r.body)
		}
	}
	r := newRig(f, rigOpt{settings: func(s *settings.Settings) {
		s.Meter2Type, s.Meter2Ip = 7, "127.0.0.1"
	}})
	f.Fuzz(func(t *testing.T, body string) {
		before := r.snap()
		x := r.do(http.MethodPost, path, body, "127.0.0.1:9")
		var m map[string]any
		if err := json.Unmarshal(x.body, &m); err != nil {
			t.Fatalf("answer not a JSON object: %v: %q", err, x.body)
		}
		for k, v := range m {
			if s, ok := v.(string); !ok || len(k) > command.MaxName || len(s) > 300 {
				t.Fatalf("answer %.60s is %T of %d bytes: %.300s", k, v, len(fmt.Sprint(v)), x.body)
			}
		}
		switch x.code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", x.code, body, x.body)
		}
		if x.code != http.StatusOK {
			after := r.snap()
			if string(before.file) != string(after.file) || before.set != after.set {
				t.Fatalf("refused request %q changed settings", body)
			}
			if strings.Contains(string(x.body), "Set=>") {
				t.Fatalf("refused request answered Set=>: %s", x.body)
			}
		}
		if x.code == http.StatusOK && strings.HasSuffix(path, "/SystemConfig") {
			checkInForce(t, r, body)
		}
		r.step()
	})
}

// checkInForce asserts that every field of an accepted SystemConfig body
// is in force (GET SystemConfig) and persisted with exactly the value and
// JSON type sent, judged from the body's own bytes.
func checkInForce(t *testing.T, r *rig, body string) {
	t.Helper()
	sent, err := jsonstrict.ObjectBytes([]byte(body))
	if err != nil {
		t.Fatalf("accepted %q, not one strict JSON object: %v", body, err)
	}
	cfg := r.get("/webapi/v1/SystemConfig").obj(t)
	saved, err := r.store.Load(settings.Settings{})
	if err != nil || saved != r.ctl.Settings() {
		t.Fatalf("file %+v (%v) is not what is in force %+v", saved, err, r.ctl.Settings())
	}
	for k, raw := range sent {
		f, ok := settings.LookupField(k)
		if !ok {
			t.Fatalf("accepted unknown object %q", k)
		}
		raw = json.RawMessage(strings.TrimSpace(string(raw)))
		got := cfg[f.Name]
		var ok2 bool
		switch f.Kind {
		case settings.KindBool:
			ok2 = (string(raw) == "true" || string(raw) == "false") && got == (string(raw) == "true")
		case settings.KindString:
			var s string
			ok2 = len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && got == strings.TrimSpace(s)
		case settings.KindInt:
			n, isNum := got.(float64)
			want, err := jsonstrict.Int(raw) // exactness is jsonstrict's own fuzz target; here: the type and the value in force
			ok2 = isNum && err == nil && float64(want) == n && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
		}
		if !ok2 {
			t.Fatalf("%s: sent %s, in force %v (%T)", f.Name, raw, got, got)
		}
	}
}

func FuzzEvseCtrl(f *testing.F) {
	fuzzPost(f, "/webapi/v1/EvseCtrl", []string{
		`{"ChargeStartToggle": true, "ChargeBoostToggle": false, "EVSEPowerAvailable": 0}`,
		`{"EVSEPowerAvailable": 4140.5}`, `{"EVSEPowerAvailable": 1e308}`, `{"EVSEPowerAvailable": -0}`,
		`{"chargeboosttoggle":true}`, `{"ChargeStartToggle":true,"ChargeStartToggle":false}`,
		`{`, `{}`, `[]`, "\x00", `{"a":{"b":[1,2,{"c":null}]}}`,
	})
}

func FuzzSystemConfig(f *testing.F) {
	fuzzPost(f, "/webapi/v1/SystemConfig", []string{
		`{"ChargeCurrent":16}`, `{"ChargeCurrent":6,"ChargeCurrentBoost":32}`,
		`{"Meter1Type":4,"Meter1Ip":"192.168.0.30"}`, `{"Meter2Type":7,"Meter2Ip":"127.0.0.1"}`,
		`{"Meter1Type":5,"Meter1Ip":"[fd00::5]:1502"}`, `{"ControlLimit":0,"ControlStrategy":1}`,
		`{"ChargeCurrent":1e400}`, `{"ChargeCurrent":-0.0}`, `{"Charge3Phase":"true"}`,
		`{"ChargeAutoStart":null}`, `{"Meter1Ip":null}`, `{"ControlLimit":1e-400}`, `{"ControlLimit":2.5e3}`,
		`{"Charge3Phase":false,"ChargeAutoStart":true,"ChargeCurrent":10.0}`, `{"ChargeCurrent":10,"ChargeCurrent":10}`,
	})
}

func FuzzSystemInfo(f *testing.F) {
	fuzzPost(f, "/webapi/v1/SystemInfo", []string{
		`{"SCode":"Reset","SCode":"FactoryDefault"}`, `{"Scode": "Reset", "SCodeData": ""}`, `{"SCode":"FactoryDefault"}`, `{"SCode":"WiFiSetToAP"}`,
		`{"UpdateCheckToggle":true,"UpdateRunToggle":false}`, `{"SCode":"reset\u0000"}`, `{"SCode":""}`,
	})
}
