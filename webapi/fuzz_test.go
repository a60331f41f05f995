package webapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// fuzzPost feeds arbitrary bodies to a POST endpoint of one long-lived
// rig. Invariants: no panic, the answer is one JSON object with string
// values, the status is one the contract allows, and a refused request
// changes neither the settings file nor the settings.
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
			if _, ok := v.(string); !ok {
				t.Fatalf("answer %s is %T: %s", k, v, x.body)
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
		r.step()
	})
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
	})
}

func FuzzSystemInfo(f *testing.F) {
	fuzzPost(f, "/webapi/v1/SystemInfo", []string{
		`{"Scode": "Reset", "SCodeData": ""}`, `{"SCode":"FactoryDefault"}`, `{"SCode":"WiFiSetToAP"}`,
		`{"UpdateCheckToggle":true,"UpdateRunToggle":false}`, `{"SCode":"reset\u0000"}`, `{"SCode":""}`,
	})
}
