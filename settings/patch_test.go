package settings

import (
	"encoding/json"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

const hwMax = 32

func req(t testing.TB, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("test body %s: %v", body, err)
	}
	return m
}

func keys(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestPatchAccepts(t *testing.T) {
	cur := Defaults()
	for _, c := range []struct {
		body    string
		changed string
		check   func(s Settings) bool
	}{
		{`{"ChargeCurrent": 10}`, "ChargeCurrent", func(s Settings) bool { return s.ChargeCurrent == 10 && s.ChargeCurrentBoost == 16 }},
		{`{"chargecurrent": 20, "ChargeCurrentBoost": 32}`, "ChargeCurrent,ChargeCurrentBoost", func(s Settings) bool { return s.ChargeCurrent == 20 && s.ChargeCurrentBoost == 32 }},
		{`{"ChargeCurrent": 6.0}`, "ChargeCurrent", func(s Settings) bool { return s.ChargeCurrent == 6 }},
		{`{"Meter1Type": 4, "Meter1Ip": " 192.168.0.30:502 "}`, "Meter1Type,Meter1Ip", func(s Settings) bool { return s.Meter1Ip == "192.168.0.30:502" }},
		{`{"Meter2Type": 7, "Meter2Ip": "fd00::5"}`, "Meter2Type,Meter2Ip", func(s Settings) bool { return s.Meter2Type == 7 }},
		{`{"Meter1Type": 1}`, "Meter1Type", func(s Settings) bool { return s.Meter1Type == 1 }},
		{`{"ChargeAutoStart": false, "Charge3Phase": false, "ChargerMode": 1, "LockMethod": 1}`, "ChargerMode,LockMethod,ChargeAutoStart,Charge3Phase",
			func(s Settings) bool {
				return !s.ChargeAutoStart && !s.Charge3Phase && s.ChargerMode == 1 && s.LockMethod == 1
			}},
		{`{"ControlStrategy": 1, "ControlLimit": 0, "PhaseCurrentLimit": 1000}`, "PhaseCurrentLimit,ControlStrategy,ControlLimit",
			func(s Settings) bool { return s.ControlStrategy == 1 && s.PhaseCurrentLimit == 1000 }},
		{`{}`, "", func(s Settings) bool { return s == Defaults() }},
	} {
		next, changes, bad := Patch(cur, req(t, c.body), hwMax)
		if bad != nil {
			t.Errorf("%s refused: %v", c.body, bad)
			continue
		}
		var names []string
		for _, ch := range changes {
			names = append(names, ch.Field.Name)
		}
		if strings.Join(names, ",") != c.changed || !c.check(next) {
			t.Errorf("%s: changes %v (want %s), result %+v", c.body, names, c.changed, next)
		}
		if es := next.Validate("", hwMax); len(es) > 0 {
			t.Errorf("%s: accepted settings are invalid: %v", c.body, es)
		}
	}
	// The answer uses the client's spelling.
	_, changes, _ := Patch(cur, req(t, `{"chargeCURRENT": 8}`), hwMax)
	if len(changes) != 1 || changes[0].Key != "chargeCURRENT" || changes[0].Field.Name != "ChargeCurrent" {
		t.Errorf("change key: %+v", changes)
	}
}

// TestPatchRefuses checks every rule and that a refused request changes
// nothing, with the problem on the offending key.
func TestPatchRefuses(t *testing.T) {
	cur := Defaults()
	cur.Meter1Type, cur.Meter1Ip = MeterIPSDM120, "meter.local"
	for _, c := range []struct{ body, badKeys string }{
		{`{"Bogus": 1}`, "Bogus"},
		{`{"ChargeCurrent": 10, "chargecurrent": 11}`, "chargecurrent"},
		{`{"ChargeCurrent": "10"}`, "ChargeCurrent"},
		{`{"ChargeCurrent": 10.5}`, "ChargeCurrent"},
		{`{"ChargeCurrent": 1e12}`, "ChargeCurrent"},
		{`{"ChargeCurrent": null}`, "ChargeCurrent"},
		// null is a wrong type, not false, "" or 0 (issue 9, item 11).
		{`{"ChargeAutoStart": null}`, "ChargeAutoStart"},
		{`{"Charge3Phase": null}`, "Charge3Phase"},
		{`{"Meter2Ip": null}`, "Meter2Ip"},
		{`{"Meter1Ip": null, "Meter1Type": 0}`, "Meter1Ip"},
		// A number must be exactly a whole number, not rounded (item 12).
		{`{"ControlLimit": 1e-400}`, "ControlLimit"},
		{`{"LockMethod": 1e-400}`, "LockMethod"},
		{`{"ControlLimit": 0.0000001}`, "ControlLimit"},
		{`{"ChargerMode": -1e-400}`, "ChargerMode"},
		{`{"ChargeCurrent": 5}`, "ChargeCurrent"},
		{`{"ChargeCurrent": 33}`, "ChargeCurrent"},
		{`{"ChargeCurrent": 20}`, "ChargeCurrent"},           // above the boost (16): on the requested partner
		{`{"ChargeCurrentBoost": 10}`, "ChargeCurrentBoost"}, // below ChargeCurrent
		{`{"ChargeCurrentBoost": 33}`, "ChargeCurrentBoost"},
		{`{"ChargerMode": 2}`, "ChargerMode"},
		{`{"LockMethod": -1}`, "LockMethod"},
		{`{"Meter1Type": 7}`, "Meter1Type"},
		{`{"Meter2Type": 9}`, "Meter2Type"},
		{`{"Meter2Type": 4}`, "Meter2Type"},                          // IP type without an address in the request
		{`{"Meter2Type": 7, "Meter2Ip": "10.0.0.1:80"}`, "Meter2Ip"}, // supervisor: bare IP only
		{`{"Meter1Type": 5}`, "Meter1Type"},                          // address must come with the type, even if one is stored
		{`{"Meter1Ip": "not a host!"}`, "Meter1Ip"},
		{`{"Meter1Ip": "host:0"}`, "Meter1Ip"},
		{`{"Meter1Ip": ""}`, "Meter1Ip"}, // the IP meter needs one
		{`{"Meter1Ip": 5}`, "Meter1Ip"},
		{`{"PhaseCurrentLimit": 5}`, "PhaseCurrentLimit"},
		{`{"ControlStrategy": 2}`, "ControlStrategy"},
		{`{"ControlLimit": -1}`, "ControlLimit"},
		{`{"ChargeAutoStart": 1}`, "ChargeAutoStart"},
		{`{"Charge3Phase": "true"}`, "Charge3Phase"},
		{`{"ChargeCurrent": 10, "ChargerMode": 5, "Bogus": true}`, "Bogus"}, // unknown keys first: decoding problems reported together
		{`{"ChargeCurrent": 10, "ChargerMode": 5, "LockMethod": 3}`, "ChargerMode,LockMethod"},
	} {
		next, changes, bad := Patch(cur, req(t, c.body), hwMax)
		if keys(bad) != c.badKeys {
			t.Errorf("%s: problems %v, want on %s", c.body, bad, c.badKeys)
		}
		if next != cur || changes != nil {
			t.Errorf("%s: refused request still changed %+v / %v", c.body, next, changes)
		}
		for k, reason := range bad {
			if reason == "" {
				t.Errorf("%s: empty reason for %s", c.body, k)
			}
		}
	}
}

func TestValidateFieldPaths(t *testing.T) {
	s := Settings{ChargerMode: 3, LockMethod: 2, ChargeCurrent: 2, ChargeCurrentBoost: 90, Meter1Type: 9, Meter2Type: -1,
		Meter1Ip: "bad host", Meter2Ip: "x y", PhaseCurrentLimit: 0, ControlStrategy: 4, ControlLimit: -5}
	es := s.Validate("settings.", hwMax)
	var got []string
	for _, e := range es {
		got = append(got, e.Field)
		if !strings.HasPrefix(e.Error(), e.Field+": ") || e.Reason == "" {
			t.Errorf("error text %q", e.Error())
		}
	}
	want := []string{"settings.ChargerMode", "settings.LockMethod", "settings.ChargeCurrent", "settings.ChargeCurrentBoost",
		"settings.Meter1Type", "settings.Meter2Type", "settings.Meter1Ip", "settings.Meter2Ip", "settings.PhaseCurrentLimit",
		"settings.ControlStrategy", "settings.ControlLimit"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %v\nwant   %v", got, want)
	}
	if !strings.Contains(es.Error(), "; ") {
		t.Errorf("Errors.Error joins: %q", es.Error())
	}
	if es := Defaults().Validate("", 16); len(es) != 0 {
		t.Fatalf("defaults invalid at 16 A: %v", es)
	}
	if es := Defaults().Validate("", 10); len(es) != 2 {
		t.Fatalf("defaults at a 10 A installation: %v, want ChargeCurrent and ChargeCurrentBoost", es)
	}
}

func TestCheckHostPort(t *testing.T) {
	for a, ok := range map[string]bool{
		"192.168.0.30": true, "meter.local:502": true, "[fd00::5]:1502": true, "fd00::5": true, "m-1.example": true,
		"": false, "host:": false, "host:70000": false, "-bad.example": false, "a..b": false, "under_score": false,
		strings.Repeat("a", 64) + ".x": false,
	} {
		if got := CheckHostPort(a) == ""; got != ok {
			t.Errorf("CheckHostPort(%q) ok = %v, want %v (%s)", a, got, ok, CheckHostPort(a))
		}
	}
}

// FuzzPatch: whatever the request, Patch either refuses it with nothing
// changed, or returns valid settings in which every requested field holds
// exactly the value sent, sent as the field's own JSON type (no null read
// as false or "", no 1e-400 read as 0), and that survive the JSON round
// trip of the store.
func FuzzPatch(f *testing.F) {
	for _, seed := range []string{
		`{"ChargeCurrent": 10}`, `{"Meter2Type": 7, "Meter2Ip": "10.0.0.1"}`, `{"chargecurrent": 1e400}`,
		`{"ChargeCurrentBoost": -0, "ChargeCurrent": 6}`, `{"Meter1Ip": "[::1]:502", "Meter1Type": 6}`, `{"ChargeAutoStart": null}`,
		`{"ControlLimit": 1000000.0000000001}`, `{"Bogus": {}}`, `{"ControlLimit": 1e-400}`, `{"Meter1Ip": null}`,
		`{"Charge3Phase": false, "ChargeAutoStart": true}`, `{"ControlLimit": 2.5e3}`, `{"Meter1Ip": " m.local "}`, `{"ControlLimit":1E000000}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := jsonstrict.ObjectBytes(body)
		if err != nil {
			return // the transports refuse it before Patch
		}
		cur := Defaults()
		next, changes, bad := Patch(cur, m, hwMax)
		if bad != nil {
			if next != cur || changes != nil {
				t.Fatalf("refused but changed: %+v", next)
			}
			for k, reason := range bad {
				if _, inReq := m[k]; !inReq && k != "" {
					t.Fatalf("problem on %q, not a request key", k)
				}
				if len(reason) > 200 {
					t.Fatalf("%d-byte reason for %q", len(reason), k)
				}
			}
			return
		}
		if es := next.Validate("", hwMax); len(es) > 0 {
			t.Fatalf("accepted invalid settings %+v: %v", next, es)
		}
		if len(changes) != len(m) {
			t.Fatalf("%d changes from %d keys", len(changes), len(m))
		}
		for _, c := range changes {
			checkDecoded(t, c.Field, m[c.Key], c.Field.Value(&next))
		}
		data, _ := json.Marshal(next)
		var back Settings
		if err := json.Unmarshal(data, &back); err != nil || back != next {
			t.Fatalf("accepted settings do not round-trip: %s → %+v", data, back)
		}
	})
}

// checkDecoded asserts that got is what raw says for a field of f's kind,
// judged from the raw bytes rather than by the decoder under test.
func checkDecoded(t *testing.T, f Field, raw json.RawMessage, got any) {
	t.Helper()
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	switch f.Kind {
	case KindBool:
		if string(raw) != "true" && string(raw) != "false" || got != (string(raw) == "true") {
			t.Fatalf("%s: accepted %s as %v", f.Name, raw, got)
		}
	case KindString:
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil || got != strings.TrimSpace(s) {
			t.Fatalf("%s: accepted %s as %q", f.Name, raw, got)
		}
	case KindInt:
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') || !json.Valid(raw) {
			t.Fatalf("%s: accepted %s as %v", f.Name, raw, got)
		}
		mant, exp, hasExp := strings.Cut(strings.ToLower(string(raw)), "e")
		if e, err := strconv.Atoi(strings.TrimPrefix(exp, "+")); hasExp && (err != nil || e > 10000 || e < -10000) {
			// big.Rat refuses huge exponents: only a zero mantissa may pass.
			if strings.Trim(mant, "-0.") != "" || got != 0 {
				t.Fatalf("%s: accepted %s as %v", f.Name, raw, got)
			}
			return
		}
		r, ok := new(big.Rat).SetString(string(raw))
		if !ok || !r.IsInt() || r.Cmp(new(big.Rat).SetInt64(int64(got.(int)))) != 0 {
			t.Fatalf("%s: accepted %s as %v", f.Name, raw, got)
		}
	}
}

// TestGridFeedNeedsNoAddress: Meter2Type 8 (our grid feed) is accepted on
// its own, like the vendor's "none", and only for Meter2.
func TestGridFeedNeedsNoAddress(t *testing.T) {
	next, _, bad := Patch(Defaults(), map[string]json.RawMessage{"Meter2Type": json.RawMessage("8")}, 32)
	if bad != nil || next.Meter2Type != MeterGridFeed || !IsControlMeter(next.Meter2Type) || IsModbusMeter(next.Meter2Type) {
		t.Fatalf("bad %v type %d", bad, next.Meter2Type)
	}
	if _, _, bad := Patch(Defaults(), map[string]json.RawMessage{"Meter1Type": json.RawMessage("8")}, 32); bad["Meter1Type"] == "" {
		t.Fatal("Meter1Type 8 accepted")
	}
}
