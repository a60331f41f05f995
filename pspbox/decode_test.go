package pspbox

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGuideExamples(t *testing.T) {
	st, err := DecodeStatus(readFile(t, "testdata/guide_status.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{
		Uptime: 179760 * time.Millisecond, SystemVersion: "0.9.1", WiFiInfo: "559EVSE:60%",
		EvseState: StateConnected, ThreePhaseCharging: true, ActualCurrent: 16, PPCodedCurrent: 20,
		ActualPower: 11040, ActualPowerAvailable: 22080, PowerAvailableSent: true,
		// The guide's example disagrees with itself (00h:00m:00s vs
		// 3774 s): the v1.1 figure wins.
		Duration:         3774 * time.Second,
		StartStopAllowed: true, BoostAllowed: true, ChargerStarted: true,
	}
	if st != want {
		t.Errorf("Status\n got %+v\nwant %+v", st, want)
	}

	c, err := DecodeSystemConfig(readFile(t, "testdata/guide_systemconfig.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ChargeCurrent != 6 || c.ChargeCurrentBoost != 32 || c.Meter2Type != 2 || c.Meter2Ip != "192.168.0.30" ||
		c.ControlStrategy != 1 || !c.Charge3Phase || c.SystemVersion != "0.5.0" || c.Uptime != 1661687*time.Millisecond {
		t.Errorf("SystemConfig %+v", c)
	}

	si, err := DecodeSystemInfo(readFile(t, "testdata/guide_systeminfo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if si.MAC != "E0:E2:E6:52:AA:D4" || si.ProductType != "01100200" || si.SystemVersion != "0.9.2" || !si.OTACheckAllowed {
		t.Errorf("SystemInfo %+v", si)
	}

	m, err := DecodeMeter(readFile(t, "testdata/guide_meter1.json"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Registers) != 9 || m.Registers[0] != (Register{"0x04_0x0034", 4, 0x34, "TotalSystemPower[W]", 475.2041931152344, 0, DataValid}) ||
		m.Registers[2].Key != "0x04_0x004a" || m.Registers[8].Address != 0x502 {
		t.Errorf("Meter1 %+v", m)
	}
	if _, err := DecodeMeter(readFile(t, "testdata/guide_meter1.json"), 2); err == nil {
		t.Error("a Meter1 document was taken as Meter2")
	}

	ans := readFile(t, "testdata/guide_evsectrl_answer.json")
	if on, err := DecodeToggleAnswer(ans, "ChargeStartToggle"); err != nil || on {
		t.Errorf("toggle answer: %v %v", on, err)
	}
	if _, err := DecodePowerAnswer(ans); !errors.Is(err, ErrSupervisorNotSet) {
		t.Errorf("power answer: %v", err)
	}
	if _, err := DecodeToggleAnswer(ans, "ChargeBoostToggle"); !errors.Is(err, ErrRefused) {
		t.Errorf("'no action' is not a new state: %v", err)
	}
	if got, err := DecodeServiceAnswer(readFile(t, "testdata/guide_systeminfo_answer.json"), "Reset"); err != nil || got != "Performing" {
		t.Errorf("service answer %q %v", got, err)
	}
}

// status builds a Status document from the guide's example with fields
// replaced (value "" removes the field).
func status(repl map[string]string) string {
	fields := [][2]string{
		{"TimeStamp", "179760"}, {"SystemVersion", `"0.9.1"`}, {"WiFiInfo", `"559EVSE:60%"`},
		{"EvseState", "5"}, {"ThreePhaseCharging", "true"}, {"ActualCurrent", "16"},
		{"PPCodedCurrent", "20"}, {"ActualPower", "11040"}, {"ActualPowerAvailable", "22080"},
		{"ActualEnergy", "1000"}, {"ActualDuration", `"01h:02m:54s"`}, {"ActualDurationTotalSeconds", "3774"},
		{"AutoStartAllowed", "false"}, {"StartStopAllowed", "true"}, {"BoostAllowed", "true"},
		{"ChargerStarted", "true"}, {"ChargeBoosted", "false"}, {"Meter1Status", "0"}, {"Meter2Status", "0"},
	}
	var parts []string
	for _, f := range fields {
		v := f[1]
		if r, ok := repl[f[0]]; ok {
			v = r
		}
		if v != "" {
			parts = append(parts, `"`+f[0]+`":`+v)
		}
	}
	if extra, ok := repl["+"]; ok {
		parts = append(parts, extra)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestDecodeStatusTolerates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		repl  map[string]string
		check func(Status) bool
	}{
		{"old firmware: duration from ActualDuration", map[string]string{"ActualDurationTotalSeconds": ""},
			func(s Status) bool { return s.Duration == time.Hour+2*time.Minute+54*time.Second }},
		{"hh:mm:ss as the guide's table writes it", map[string]string{"ActualDurationTotalSeconds": "", "ActualDuration": `"101:00:05"`},
			func(s Status) bool { return s.Duration == 101*time.Hour+5*time.Second }},
		{"floats everywhere", map[string]string{"EvseState": "5.0", "ActualCurrent": "15.96", "ActualPower": "11012.5", "Meter2Status": "1.0", "TimeStamp": "179760.0", "ActualDurationTotalSeconds": "3774.9"},
			func(s Status) bool {
				return s.EvseState == StateCharging && s.ActualCurrent == 15.96 && s.ActualPower == 11012.5 && s.Meter2Status == 1 && s.Duration == 3774*time.Second
			}},
		{"exponent form", map[string]string{"ActualEnergy": "1.5e3"}, func(s Status) bool { return s.ActualEnergy == units.WattSeconds(1500) }},
		{"unknown fields ignored", map[string]string{"+": `"NewThing":{"a":[1,2,{"b":null}]},"Other":"x"`}, func(s Status) bool { return s.ChargerStarted }},
		{"keys in another case", map[string]string{"ChargerStarted": "", "+": `"chargerstarted":false`}, func(s Status) bool { return !s.ChargerStarted }},
		{"no ActualPowerAvailable while the algorithm is off", map[string]string{"ActualPowerAvailable": ""},
			func(s Status) bool { return !s.PowerAvailableSent && s.ActualPowerAvailable == 0 }},
		{"no PPCodedCurrent (Case C), no gauges, no version", map[string]string{"PPCodedCurrent": "", "Meter1Status": "", "Meter2Status": "", "SystemVersion": "", "TimeStamp": "", "WiFiInfo": ""},
			func(s Status) bool { return s.PPCodedCurrent == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := DecodeStatus([]byte(status(tc.repl)))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(st) {
				t.Errorf("%+v", st)
			}
		})
	}
}

func TestDecodeStatusRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", "", "empty answer"},
		{"not an object", "[1,2]", "not a JSON object"},
		{"html", "<html><body>404</body></html>", "malformed JSON"},
		{"truncated", status(nil)[:100], "malformed JSON"},
		{"trailing data", status(nil) + "{}", "data after"},
		{"duplicate key", status(map[string]string{"+": `"ChargerStarted":false`}), "given twice"},
		{"duplicate key in another case", status(map[string]string{"+": `"chargerStarted":false`}), "given twice"},
		{"state out of range", status(map[string]string{"EvseState": "12"}), "EvseState: must be 0…11"},
		{"negative state", status(map[string]string{"EvseState": "-1"}), "EvseState"},
		{"fractional state", status(map[string]string{"EvseState": "4.5"}), "whole number"},
		{"number as string", status(map[string]string{"ActualCurrent": `"16"`}), "must be a number"},
		{"huge current", status(map[string]string{"ActualCurrent": "1e300"}), "ActualCurrent"},
		{"overflowing number", status(map[string]string{"ActualPower": "1e999"}), "finite"},
		{"bool as number", status(map[string]string{"ChargerStarted": "1"}), "true or false"},
		{"null flag", status(map[string]string{"ChargerStarted": "null"}), "true or false"},
		{"missing ChargerStarted", status(map[string]string{"ChargerStarted": ""}), "ChargerStarted: missing"},
		{"no duration at all", status(map[string]string{"ActualDuration": "", "ActualDurationTotalSeconds": ""}), "ActualDuration: missing"},
		{"bad duration", status(map[string]string{"ActualDurationTotalSeconds": "", "ActualDuration": `"1h:99m:00s"`}), "≥ 60"},
		{"control character", status(map[string]string{"WiFiInfo": `"a\u0000b"`}), "control"},
		{"long string", status(map[string]string{"SystemVersion": `"` + strings.Repeat("9", 5000) + `"`}), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeStatus([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if !errors.Is(err, ErrBadAnswer) {
				t.Errorf("%v is not ErrBadAnswer", err)
			}
			if len(err.Error()) > 512 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestDecodeSystemConfig(t *testing.T) {
	good := string(readFile(t, "testdata/guide_systemconfig.json"))
	floats := strings.NewReplacer(`"ChargeCurrent": 6`, `"ChargeCurrent": 6.0`, `"ControlLimit": 0`, `"ControlLimit": 0.0`).Replace(good)
	c, err := DecodeSystemConfig([]byte(floats))
	if err != nil || c.ChargeCurrent != 6 {
		t.Fatalf("floats: %+v %v", c, err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"fractional current", strings.Replace(good, `"ChargeCurrent": 6`, `"ChargeCurrent": 6.5`, 1), "whole number"},
		{"meter type 8", strings.Replace(good, `"Meter2Type": 2`, `"Meter2Type": 8`, 1), "Meter2Type"},
		{"meter 1 cannot be a supervisor", strings.Replace(good, `"Meter1Type": 1`, `"Meter1Type": 7`, 1), "Meter1Type"},
		{"missing field", strings.Replace(good, `"Charge3Phase": true`, `"X": 1`, 1), "Charge3Phase: missing"},
		{"ip not a string", strings.Replace(good, `"Meter1Ip": "192.168.0.30"`, `"Meter1Ip": 3`, 1), "must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSystemConfig([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("err = %v, want ErrBadAnswer mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDecodeSystemInfoMAC(t *testing.T) {
	good := string(readFile(t, "testdata/guide_systeminfo.json"))
	si, err := DecodeSystemInfo([]byte(strings.Replace(good, "E0:E2:E6:52:AA:D4", "e0-e2-e6-52-aa-d4", 1)))
	if err != nil || si.MAC != "E0:E2:E6:52:AA:D4" {
		t.Fatalf("%q %v", si.MAC, err)
	}
	for _, bad := range []string{"E0:E2:E6:52:AA", "00:00:5e:00:53:01:00:00", "not a mac"} {
		if _, err := DecodeSystemInfo([]byte(strings.Replace(good, "E0:E2:E6:52:AA:D4", bad, 1))); err == nil {
			t.Errorf("MAC %q accepted", bad)
		}
	}
}

func TestDecodeMeterRefuses(t *testing.T) {
	reg := `{"Desc":"TotalSystemPower[W]","ErrCounter":0,"Value":1.5,"DataStatus":"Valid"}`
	doc := func(key, r string) string { return `{"Meter2":{"TimeStamp":5,"ModbusData":{"` + key + `":` + r + `}}}` }
	if m, err := DecodeMeter([]byte(doc("0x04_0x0A0B", reg)), 2); err != nil || m.Registers[0].Key != "0x04_0x0a0b" || m.Registers[0].Address != 0x0a0b {
		t.Fatalf("upper-case hex: %+v %v", m, err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"bad key", doc("power", reg), "register key"},
		{"short key", doc("0x4_0x34", reg), "register key"},
		{"signed key", doc("0x+4_0x0034", reg), "register key"},
		{"unknown DataStatus", doc("0x04_0x0034", strings.Replace(reg, "Valid", "Stale", 1)), "DataStatus"},
		{"value as string", doc("0x04_0x0034", strings.Replace(reg, "1.5", `"1.5"`, 1)), "must be a number"},
		{"negative ErrCounter", doc("0x04_0x0034", strings.Replace(reg, `"ErrCounter":0`, `"ErrCounter":-1`, 1)), "ErrCounter"},
		{"register not an object", doc("0x04_0x0034", "3"), "not a JSON object"},
		{"missing Value", doc("0x04_0x0034", `{"Desc":"x","ErrCounter":0,"DataStatus":"Valid"}`), "Value missing"},
		{"no ModbusData", `{"Meter2":{"TimeStamp":5}}`, "ModbusData: missing"},
		{"no Meter2", `{"Meter1":{"TimeStamp":5,"ModbusData":{}}}`, "no Meter2 object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMeter([]byte(tc.doc), 2)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("err = %v, want ErrBadAnswer mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAnswers(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		key  string
		on   bool
		want error
	}{
		{`{"ChargeStartToggle":"Set=>True"}`, "ChargeStartToggle", true, nil},
		{`{"chargestarttoggle":"set=>false"}`, "ChargeStartToggle", false, nil},
		{`{"ChargeStartToggle":"refused: no vehicle"}`, "ChargeStartToggle", false, ErrRefused},
		{`{"ChargeStartToggle":"Set=>Maybe"}`, "ChargeStartToggle", false, ErrBadAnswer},
		{`{"ChargeBoostToggle":"Set=>True"}`, "ChargeStartToggle", false, ErrBadAnswer},
		{`{"ChargeStartToggle":true}`, "ChargeStartToggle", false, ErrBadAnswer},
		{`{"error":"malformed JSON: unexpected EOF"}`, "ChargeStartToggle", false, ErrBadAnswer},
	} {
		on, err := DecodeToggleAnswer([]byte(tc.doc), tc.key)
		if !errors.Is(err, tc.want) || (err == nil && on != tc.on) {
			t.Errorf("%s: %v %v, want %v %v", tc.doc, on, err, tc.on, tc.want)
		}
	}
	for _, tc := range []struct {
		doc  string
		w    units.Watts
		want error
	}{
		{`{"EVSEPowerAvailable":"Set=>4600"}`, 4600, nil},
		{`{"EVSEPowerAvailable":"Set=>4600.5"}`, 4600.5, nil},
		{`{"EVSEPowerAvailable":"supervisor IP not set"}`, 0, ErrSupervisorNotSet},
		{`{"EVSEPowerAvailable":"refused: request from 10.0.0.2, supervisor is 10.0.0.1 (Meter2Ip)"}`, 0, ErrRefused},
		{`{"EVSEPowerAvailable":"Set=>-5"}`, 0, ErrBadAnswer},
		{`{"EVSEPowerAvailable":"Set=>NaN"}`, 0, ErrBadAnswer},
		{`{"EVSEPowerAvailable":"Set=>1e7"}`, 0, ErrBadAnswer},
		{`{"EVSEPowerAvailable":"Set=>0x1p4"}`, 0, ErrBadAnswer},
		{`{"EVSEPowerAvailable":"Set=>46 00"}`, 0, ErrBadAnswer},
	} {
		w, err := DecodePowerAnswer([]byte(tc.doc))
		if !errors.Is(err, tc.want) || w != tc.w {
			t.Errorf("%s: %v %v, want %v %v", tc.doc, w, err, tc.w, tc.want)
		}
	}
	ca, err := DecodeConfigAnswer([]byte(`{"ChargeCurrent":"Set=>16","meter1ip":"Set=>192.168.0.30","ChargeCurrentBoost":"must be 6…32 A (hardware maximum), got 40"}`))
	if err != nil || ca.Set["ChargeCurrent"] != "16" || ca.Set["Meter1Ip"] != "192.168.0.30" || !strings.Contains(ca.Refused["ChargeCurrentBoost"], "6…32") {
		t.Errorf("config answer %+v %v", ca, err)
	}
	if _, err := DecodeConfigAnswer([]byte(`{"Bogus":"Set=>1"}`)); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("a set non-field: %v", err)
	}
	if _, err := DecodeServiceAnswer([]byte(`{"Reset":"not supported"}`), "Reset"); !errors.Is(err, ErrRefused) {
		t.Errorf("service refusal: %v", err)
	}
	if _, err := DecodeServiceAnswer([]byte(`{"FactoryDefault":"Performing"}`), "Reset"); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("answer for another code: %v", err)
	}
	if _, err := DecodeAnswer([]byte(`{` + strings.Repeat(`"a":"b",`, 40) + `"z":"y"}`)); err == nil {
		t.Error("duplicate/oversized answer accepted")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00h:00m:00s": 0, "01h:02m:54s": time.Hour + 174*time.Second, "12:34:56": 12*time.Hour + 34*time.Minute + 56*time.Second,
		"123456h:59m:59s": 123456*time.Hour + 3599*time.Second,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1:2:3", "00h:00m", "-1h:00m:00s", "00h:60m:00s", "1234567h:00m:00s", "00h:00m:0xs", "+1:00:00"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
