package pspbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// The fuzz targets check every decoder of the box's answers: an accepted
// document has every field in range and survives a round trip through
// JSON; a refused one is an error of the right kind with a bounded
// message. Their seeds (the guide's examples, the daemon's goldens, and
// testdata/fuzz) run in the normal suite.

// seeds adds every file matching the patterns.
func seeds(f *testing.F, add func([]byte), patterns ...string) {
	f.Helper()
	n := 0
	for _, p := range patterns {
		names, _ := filepath.Glob(p)
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			if strings.HasSuffix(name, ".golden") {
				_, b, _ = bytes.Cut(b, []byte("\n"))
			}
			add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files for %v", patterns)
	}
	for _, s := range []string{"", "{", "null", "[]", "{}", `{"a":1}`, "<html>", strings.Repeat("[", 5000)} {
		add([]byte(s))
	}
}

// checkRefusal asserts the shape of an error from a decoder.
func checkRefusal(t *testing.T, err error, kinds ...error) {
	t.Helper()
	ok := false
	for _, k := range kinds {
		ok = ok || errors.Is(err, k)
	}
	if !ok {
		t.Fatalf("error %v is none of %v", err, kinds)
	}
	if len(err.Error()) > 512 {
		t.Fatalf("error message of %d bytes", len(err.Error()))
	}
}

func checkText(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max {
		t.Fatalf("%s: %d bytes", what, len(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			t.Fatalf("%s holds %U", what, r)
		}
	}
}

func checkNum(t *testing.T, what string, v, lo, hi float64) {
	t.Helper()
	if math.IsNaN(v) || v < lo || v > hi {
		t.Fatalf("%s = %v, not in %v…%v", what, v, lo, hi)
	}
}

// jnum writes a float as JSON.
func jnum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func jstr(s string) string { b, _ := json.Marshal(s); return string(b) }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func encodeStatus(s Status) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"TimeStamp":%s,"SystemVersion":%s,"WiFiInfo":%s,"EvseState":%d,"ThreePhaseCharging":%t,`,
		ms(s.Uptime), jstr(s.SystemVersion), jstr(s.WiFiInfo), s.EvseState, s.ThreePhaseCharging)
	fmt.Fprintf(&b, `"ActualCurrent":%s,"PPCodedCurrent":%s,"ActualPower":%s,`,
		jnum(float64(s.ActualCurrent)), jnum(float64(s.PPCodedCurrent)), jnum(float64(s.ActualPower)))
	if s.PowerAvailableSent {
		fmt.Fprintf(&b, `"ActualPowerAvailable":%s,`, jnum(float64(s.ActualPowerAvailable)))
	}
	fmt.Fprintf(&b, `"ActualEnergy":%s,"ActualDurationTotalSeconds":%d,"AutoStartAllowed":%t,"StartStopAllowed":%t,`,
		jnum(float64(s.ActualEnergy)), int64(s.Duration/time.Second), s.AutoStartAllowed, s.StartStopAllowed)
	fmt.Fprintf(&b, `"BoostAllowed":%t,"ChargerStarted":%t,"ChargeBoosted":%t,"Meter1Status":%d,"Meter2Status":%d}`,
		s.BoostAllowed, s.ChargerStarted, s.ChargeBoosted, s.Meter1Status, s.Meter2Status)
	return []byte(b.String())
}

func FuzzDecodeStatus(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "testdata/guide_status.json", "../webapi/testdata/status_*.golden", "testdata/status_*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeStatus(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		if st.EvseState < 0 || st.EvseState > maxState || strings.HasPrefix(st.EvseState.String(), "EvseState(") {
			t.Fatalf("EvseState %d", st.EvseState)
		}
		checkNum(t, "ActualCurrent", float64(st.ActualCurrent), 0, maxAmps)
		checkNum(t, "PPCodedCurrent", float64(st.PPCodedCurrent), 0, maxAmps)
		checkNum(t, "ActualPower", float64(st.ActualPower), -maxWatts, maxWatts)
		checkNum(t, "ActualPowerAvailable", float64(st.ActualPowerAvailable), 0, maxWatts)
		checkNum(t, "ActualEnergy", float64(st.ActualEnergy), 0, maxEnergyWs)
		if st.Duration < 0 || st.Duration%time.Second != 0 || st.Uptime < 0 || st.Uptime%time.Millisecond != 0 || st.Meter1Status < 0 || st.Meter2Status < 0 {
			t.Fatalf("durations or gauges out of range: %+v", st)
		}
		checkText(t, "SystemVersion", st.SystemVersion, 32)
		checkText(t, "WiFiInfo", st.WiFiInfo, 128)
		again, err := DecodeStatus(encodeStatus(st))
		if err != nil || again != st {
			t.Fatalf("round trip:\n%+v\n%+v %v", st, again, err)
		}
	})
}

func encodeConfig(c SystemConfig) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"TimeStamp":%s,"SystemVersion":%s`, ms(c.Uptime), jstr(c.SystemVersion))
	for _, fd := range settings.Fields {
		v, _ := json.Marshal(fd.Value(&c.Settings))
		fmt.Fprintf(&b, `,%s:%s`, jstr(fd.Name), v)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func FuzzDecodeSystemConfig(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "testdata/guide_systemconfig.json", "../webapi/testdata/systemconfig.golden", "testdata/systemconfig_*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeSystemConfig(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		for name, bound := range configBounds {
			fd, _ := settings.LookupField(name)
			v := fd.Value(&c.Settings).(int)
			if int64(v) < bound[0] || int64(v) > bound[1] {
				t.Fatalf("%s = %d", name, v)
			}
		}
		checkText(t, "Meter1Ip", c.Meter1Ip, 259)
		checkText(t, "Meter2Ip", c.Meter2Ip, 259)
		again, err := DecodeSystemConfig(encodeConfig(c))
		if err != nil || again != c {
			t.Fatalf("round trip:\n%+v\n%+v %v", c, again, err)
		}
	})
}

func FuzzDecodeSystemInfo(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "testdata/guide_systeminfo.json", "../webapi/testdata/systeminfo_w*.golden")
	f.Fuzz(func(t *testing.T, b []byte) {
		si, err := DecodeSystemInfo(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		if len(si.MAC) != 17 || si.MAC != strings.ToUpper(si.MAC) {
			t.Fatalf("MAC %q", si.MAC)
		}
		for what, s := range map[string]string{"ProductType": si.ProductType, "GeneralInfo": si.GeneralInfo, "OTAMsg": si.OTAMsg, "HeapInfo": si.HeapInfo} {
			checkText(t, what, s, maxString)
		}
		doc, _ := json.Marshal(map[string]any{
			"TimeStamp": si.Uptime.Milliseconds(), "SystemVersion": si.SystemVersion, "ProductType": si.ProductType,
			"MAC": si.MAC, "WiFiInfo": si.WiFiInfo, "HeapInfo": si.HeapInfo, "GeneralInfo": si.GeneralInfo,
			"OTAMsg": si.OTAMsg, "OTACheckAllowed": si.OTACheckAllowed, "OTAUpdateAllowed": si.OTAUpdateAllowed,
		})
		again, err := DecodeSystemInfo(doc)
		if err != nil || again != si {
			t.Fatalf("round trip:\n%+v\n%+v %v", si, again, err)
		}
	})
}

func encodeMeter(m Meter) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"Meter%d":{"TimeStamp":%s,"ModbusData":{`, m.N, ms(m.Uptime))
	for i, r := range m.Registers {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `%s:{"Desc":%s,"ErrCounter":%d,"Value":%s,"DataStatus":%s}`, jstr(r.Key), jstr(r.Desc), r.ErrCounter, jnum(r.Value), jstr(r.DataStatus))
	}
	b.WriteString("}}}")
	return []byte(b.String())
}

func FuzzDecodeMeter(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b, 1); f.Add(b, 2) }, "testdata/guide_meter1.json", "../webapi/testdata/meter*.golden", "../meter/testdata/webapi_*.json")
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		m, err := DecodeMeter(b, n)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		if m.N != n || len(m.Registers) > maxRegisters {
			t.Fatalf("meter %d with %d registers", m.N, len(m.Registers))
		}
		seen := map[string]bool{}
		for _, r := range m.Registers {
			if r.Key != fmt.Sprintf("0x%02x_0x%04x", r.Function, r.Address) || seen[r.Key] {
				t.Fatalf("register key %q (%d, %d), seen %t", r.Key, r.Function, r.Address, seen[r.Key])
			}
			seen[r.Key] = true
			if r.DataStatus != DataValid && r.DataStatus != DataNotAvailable || r.ErrCounter < 0 {
				t.Fatalf("register %+v", r)
			}
			checkNum(t, "Value", r.Value, -1e15, 1e15)
			checkText(t, "Desc", r.Desc, 64)
		}
		again, err := DecodeMeter(encodeMeter(m), n)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip:\n%+v\n%+v %v", m, again, err)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "testdata/guide_*_answer.json", "../webapi/testdata/evsectrl_guide.golden",
		"../webapi/testdata/systemconfig_set.golden", "../webapi/testdata/systeminfo_reset.golden")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnswer(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		if len(a) > maxAnswerItems {
			t.Fatalf("%d items", len(a))
		}
		var doc strings.Builder
		doc.WriteString("{")
		for i, it := range a {
			checkText(t, "key", it.Key, 64)
			checkText(t, "text", it.Text, maxString)
			if i > 0 {
				doc.WriteString(",")
			}
			doc.WriteString(jstr(it.Key) + ":" + jstr(it.Text))
		}
		doc.WriteString("}")
		again, err := DecodeAnswer([]byte(doc.String()))
		if err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip:\n%+v\n%+v %v", a, again, err)
		}
	})
}

func FuzzDecodeToggleAnswer(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b, "ChargeStartToggle"); f.Add(b, "ChargeBoostToggle") },
		"testdata/guide_evsectrl_answer.json", "../webapi/testdata/evsectrl_guide.golden")
	f.Add([]byte(`{"ChargeBoostToggle":"Set=>True"}`), "ChargeBoostToggle")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		on, err := DecodeToggleAnswer(b, key)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer, ErrRefused)
			return
		}
		a, _ := DecodeAnswer(b)
		txt, _ := a.Get(key)
		if want := map[bool]string{true: "set=>true", false: "set=>false"}[on]; strings.ToLower(txt) != want {
			t.Fatalf("%q read as %t", txt, on)
		}
		again, err := DecodeToggleAnswer([]byte(`{`+jstr(key)+`:"Set=>`+map[bool]string{true: "True", false: "False"}[on]+`"}`), key)
		if err != nil || again != on {
			t.Fatalf("round trip %t → %t %v", on, again, err)
		}
	})
}

func FuzzDecodePowerAnswer(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "testdata/guide_evsectrl_answer.json")
	f.Add([]byte(`{"EVSEPowerAvailable":"Set=>4600"}`))
	f.Add([]byte(`{"EVSEPowerAvailable":"refused: request from 10.0.0.2, supervisor is 10.0.0.1 (Meter2Ip)"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := DecodePowerAnswer(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer, ErrRefused, ErrSupervisorNotSet)
			return
		}
		checkNum(t, "power", float64(w), 0, float64(MaxPower))
		again, err := DecodePowerAnswer([]byte(`{"EVSEPowerAvailable":"Set=>` + jnum(float64(w)) + `"}`))
		if err != nil || again != w {
			t.Fatalf("round trip %v → %v %v", w, again, err)
		}
	})
}

func FuzzDecodeConfigAnswer(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b) }, "../webapi/testdata/systemconfig_set.golden", "testdata/configanswer_*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		ca, err := DecodeConfigAnswer(b)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer)
			return
		}
		if len(ca.Set)+len(ca.Refused) > maxAnswerItems {
			t.Fatalf("%d answers", len(ca.Set)+len(ca.Refused))
		}
		for k := range ca.Set {
			if fd, ok := settings.LookupField(k); !ok || fd.Name != k {
				t.Fatalf("set %q is not a canonical field", k)
			}
		}
		var doc []string
		for k, r := range ca.Refused {
			if _, set := SetValue(r); set {
				t.Fatalf("refusal %q: %q reads as set", k, r)
			}
			doc = append(doc, jstr(k)+":"+jstr(r))
		}
		for k, v := range ca.Set {
			doc = append(doc, jstr(k)+":"+jstr("Set=>"+v))
		}
		again, err := DecodeConfigAnswer([]byte("{" + strings.Join(doc, ",") + "}"))
		if err != nil || !reflect.DeepEqual(again, ca) {
			t.Fatalf("round trip:\n%+v\n%+v %v", ca, again, err)
		}
	})
}

func FuzzDecodeServiceAnswer(f *testing.F) {
	seeds(f, func(b []byte) { f.Add(b, "Reset"); f.Add(b, "FactoryDefault") }, "testdata/guide_systeminfo_answer.json", "../webapi/testdata/systeminfo_reset.golden")
	f.Fuzz(func(t *testing.T, b []byte, code string) {
		got, err := DecodeServiceAnswer(b, code)
		if err != nil {
			checkRefusal(t, err, ErrBadAnswer, ErrRefused)
			return
		}
		if got != AnswerPerforming {
			t.Fatalf("accepted %q", got)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"00h:00m:00s", "01h:02m:54s", "12:34:56", "999999h:59m:59s", "1:2:3", "", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if len(err.Error()) > 512 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
			return
		}
		if d < 0 || d%time.Second != 0 || d > 1_000_000*time.Hour {
			t.Fatalf("%q → %v", s, d)
		}
		sec := int64(d / time.Second)
		again, err := ParseDuration(fmt.Sprintf("%02dh:%02dm:%02ds", sec/3600, sec/60%60, sec%60))
		if err != nil || again != d {
			t.Fatalf("round trip %q → %v → %v %v", s, d, again, err)
		}
	})
}
