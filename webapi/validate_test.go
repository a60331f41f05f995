package webapi

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// rejection is a request that must be refused with nothing changed.
type rejection struct {
	name, path, body string
	code             int
	key, reason      string // the answer under key must contain reason
	notApplied       []string
}

var rejections = []rejection{
	// SystemConfig: every rule of settings.Patch, seen through HTTP.
	{"unknown object", "SystemConfig", `{"ChargeCurrent":10,"Colour":"red"}`, 400, "Colour", "unknown object", []string{"ChargeCurrent"}},
	{"string for number", "SystemConfig", `{"ChargeCurrent":"16"}`, 400, "ChargeCurrent", "must be a number", nil},
	{"fraction", "SystemConfig", `{"ChargeCurrent":16.5}`, 400, "ChargeCurrent", "whole number", nil},
	{"number for bool", "SystemConfig", `{"ChargeAutoStart":1}`, 400, "ChargeAutoStart", "true or false", nil},
	{"number for string", "SystemConfig", `{"Meter1Ip":5}`, 400, "Meter1Ip", "must be a string", nil},
	{"null", "SystemConfig", `{"ChargeCurrent":null}`, 400, "ChargeCurrent", "got null", nil},
	// null is a wrong type, never false or "" (issue 9, item 11).
	{"null for bool", "SystemConfig", `{"ChargeAutoStart":null}`, 400, "ChargeAutoStart", "got null", nil},
	{"null for bool (3 phase)", "SystemConfig", `{"Charge3Phase":null,"ChargeCurrent":10}`, 400, "Charge3Phase", "got null", []string{"ChargeCurrent"}},
	{"null for string", "SystemConfig", `{"Meter1Ip":null}`, 400, "Meter1Ip", "got null", nil},
	{"null for string (meter 2)", "SystemConfig", `{"Meter2Ip":null}`, 400, "Meter2Ip", "got null", nil},
	// A number is exactly representable in the field's type (item 12).
	{"underflow to 0", "SystemConfig", `{"ControlLimit":1e-400}`, 400, "ControlLimit", "whole number", nil},
	{"underflow to 0 (lock)", "SystemConfig", `{"LockMethod":1e-400}`, 400, "LockMethod", "whole number", nil},
	{"current below 6 A", "SystemConfig", `{"ChargeCurrent":5}`, 400, "ChargeCurrent", "6…32 A", nil},
	{"current above hardware", "SystemConfig", `{"ChargeCurrent":33,"ChargeCurrentBoost":33}`, 400, "ChargeCurrent", "6…32 A", []string{}},
	{"boost below current", "SystemConfig", `{"ChargeCurrent":20,"ChargeCurrentBoost":16}`, 400, "ChargeCurrentBoost", "at least ChargeCurrent", []string{"ChargeCurrent"}},
	{"boost below current (partner)", "SystemConfig", `{"ChargeCurrent":20}`, 400, "ChargeCurrent", "at least ChargeCurrent", nil},
	{"charger mode", "SystemConfig", `{"ChargerMode":2}`, 400, "ChargerMode", "must be 0", nil},
	{"lock method", "SystemConfig", `{"LockMethod":-1}`, 400, "LockMethod", "must be 0", nil},
	{"meter1 type", "SystemConfig", `{"Meter1Type":7,"Meter1Ip":"192.168.0.30"}`, 400, "Meter1Type", "0…6", nil},
	{"meter2 type", "SystemConfig", `{"Meter2Type":9}`, 400, "Meter2Type", "0…8", nil},
	{"control strategy", "SystemConfig", `{"ControlStrategy":2}`, 400, "ControlStrategy", "must be 0", nil},
	{"control limit negative", "SystemConfig", `{"ControlLimit":-1}`, 400, "ControlLimit", "0…1000000", nil},
	{"phase limit", "SystemConfig", `{"PhaseCurrentLimit":5}`, 400, "PhaseCurrentLimit", "6…1000", nil},
	{"IP meter without address", "SystemConfig", `{"Meter1Type":4}`, 400, "Meter1Type", "needs a valid Meter1Ip in the same request", nil},
	{"supervisor without address", "SystemConfig", `{"Meter2Type":7}`, 400, "Meter2Type", "needs a valid Meter2Ip", nil},
	{"bad address", "SystemConfig", `{"Meter1Type":4,"Meter1Ip":"not an ip!"}`, 400, "Meter1Ip", "not an IP address", []string{"Meter1Type"}},
	{"supervisor with port", "SystemConfig", `{"Meter2Type":7,"Meter2Ip":"192.168.1.5:80"}`, 400, "Meter2Ip", "not an IPv4 or IPv6", []string{"Meter2Type"}},
	{"twice, other case", "SystemConfig", `{"ChargeCurrent":10,"chargecurrent":12}`, 400, "chargecurrent", "given twice", nil},
	{"control object on SystemConfig", "SystemConfig", `{"ChargeStartToggle":true}`, 400, "ChargeStartToggle", "unknown object", nil},
	{"empty object", "SystemConfig", `{}`, 400, "error", "no objects", nil},

	// EvseCtrl.
	{"toggle as string", "EvseCtrl", `{"ChargeStartToggle":"yes"}`, 400, "ChargeStartToggle", "true or false", nil},
	{"toggle null", "EvseCtrl", `{"ChargeBoostToggle":null}`, 400, "ChargeBoostToggle", "true or false", nil},
	{"negative power", "EvseCtrl", `{"EVSEPowerAvailable":-1}`, 400, "EVSEPowerAvailable", "0…1000000 W", nil},
	{"huge power", "EvseCtrl", `{"EVSEPowerAvailable":2e6}`, 400, "EVSEPowerAvailable", "0…1000000 W", nil},
	{"power underflow", "EvseCtrl", `{"EVSEPowerAvailable":1e-400}`, 400, "EVSEPowerAvailable", "number of watts", nil},
	{"power overflow", "EvseCtrl", `{"EVSEPowerAvailable":1e400}`, 400, "EVSEPowerAvailable", "number of watts", nil},
	{"power null", "EvseCtrl", `{"EVSEPowerAvailable":null}`, 400, "EVSEPowerAvailable", "number of watts", nil},
	{"power as string", "EvseCtrl", `{"EVSEPowerAvailable":"100"}`, 400, "EVSEPowerAvailable", "number of watts", nil},
	{"good toggle, bad power", "EvseCtrl", `{"ChargeStartToggle":true,"EVSEPowerAvailable":true}`, 400, "EVSEPowerAvailable", "number of watts", []string{"ChargeStartToggle"}},
	{"settings field on EvseCtrl", "EvseCtrl", `{"ChargeStartToggle":true,"ChargeCurrent":10}`, 400, "ChargeCurrent", "unknown object", []string{"ChargeStartToggle"}},
	{"explicit form on EvseCtrl", "EvseCtrl", `{"Charging":false}`, 400, "Charging", "unknown object", nil},

	// SystemInfo.
	{"unknown service code", "SystemInfo", `{"SCode":"Explode"}`, 400, "SCode", "unknown service code", nil},
	{"code as number", "SystemInfo", `{"SCode":5}`, 400, "SCode", "must be a string", nil},
	{"toggle as string", "SystemInfo", `{"UpdateRunToggle":"x","SCode":"Reset"}`, 400, "UpdateRunToggle", "true or false", []string{"SCode"}},
	{"data without code", "SystemInfo", `{"SCodeData":"x"}`, 400, "SCodeData", "needs an SCode", nil},
	{"unknown object", "SystemInfo", `{"SCode":"Reset","Reboot":true}`, 400, "Reboot", "unknown object", []string{"SCode"}},

	// Transport: never reaches the table.
	{"malformed", "SystemConfig", `{"ChargeCurrent":`, 400, "error", "malformed JSON", nil},
	{"array", "SystemConfig", `[{"ChargeCurrent":10}]`, 400, "error", "must be a JSON object", nil},
	{"null body", "EvseCtrl", `null`, 400, "error", "must be a JSON object", nil},
	{"string body", "SystemInfo", `"Reset"`, 400, "error", "must be a JSON object", nil},
	{"trailing data", "SystemConfig", `{"ChargeCurrent":10} {"ChargeCurrent":11}`, 400, "error", "malformed JSON", nil},
	{"duplicate key", "SystemConfig", `{"ChargeCurrent":10,"ChargeCurrent":11}`, 400, "error", "given twice", nil},
	{"duplicate service code", "SystemInfo", `{"SCode":"Reset","SCode":"FactoryDefault"}`, 400, "error", "given twice", nil},
	{"duplicate toggle", "EvseCtrl", `{"ChargeStartToggle":false,"ChargeStartToggle":true}`, 400, "error", "given twice", nil},
	{"empty body", "EvseCtrl", ``, 400, "error", "empty request body", nil},
	{"too large", "SystemConfig", `{"ControlLimit":1` + strings.Repeat(" ", MaxBody) + `}`, 413, "error", "larger than 65536", nil},
}

// TestRejectionsChangeNothing: each bad request gets its reason, every
// other object is answered "not applied", and neither the settings file
// nor the status moved. The vehicle is plugged and charging so a toggle
// that slipped through would show.
func TestRejectionsChangeNothing(t *testing.T) {
	r := newRig(t, rigOpt{})
	if x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":10,"ChargeCurrentBoost":16}`); x.code != 200 {
		t.Fatalf("setup: %d %s", x.code, x.body) // the settings file exists from here on
	}
	r.plug(true)
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })
	for _, c := range rejections {
		t.Run(c.path+"/"+c.name, func(t *testing.T) {
			before := r.snap()
			x := r.post("/webapi/v1/"+c.path, c.body)
			if x.code != c.code {
				t.Fatalf("status %d, want %d: %s", x.code, c.code, x.body)
			}
			m := x.obj(t)
			if got, _ := m[c.key].(string); !strings.Contains(got, c.reason) {
				t.Errorf("answer for %s = %q, want it to contain %q (body %s)", c.key, got, c.reason, x.body)
			}
			for _, k := range c.notApplied {
				if m[k] != command.NotApplied {
					t.Errorf("good object %s answered %v, want %q", k, m[k], command.NotApplied)
				}
			}
			r.unchanged(before, c.name)
			r.step() // and the loop still runs
		})
	}
}

func TestMethodsAndPaths(t *testing.T) {
	r := newRig(t, rigOpt{})
	for _, c := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/webapi/v1/EvseCtrl", 405, "POST"},
		{"POST", "/webapi/v1/Status", 405, "GET, HEAD"},
		{"POST", "/webapi/v1/Meter1", 405, "GET, HEAD"},
		{"DELETE", "/webapi/v1/SystemConfig", 405, "GET, HEAD, POST"},
		{"PUT", "/webapi/v1/SystemInfo", 405, "GET, HEAD, POST"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/webapi/v1/status", 404, ""}, // paths are exact, as on the device
		{"GET", "/webapi/v2/Status", 404, ""},
		{"GET", "/", 404, ""},
		{"HEAD", "/webapi/v1/Status", 200, ""},
	} {
		before := r.snap()
		x := r.do(c.method, c.path, "", lan)
		if x.code != c.code || x.hdr.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow=%q, want %d %q", c.method, c.path, x.code, x.hdr.Get("Allow"), c.code, c.allow)
		}
		if c.code != 200 {
			if _, ok := x.obj(t)["error"].(string); !ok {
				t.Errorf("%s %s: no JSON error: %s", c.method, c.path, x.body)
			}
		}
		r.unchanged(before, c.method+" "+c.path)
	}
	x := r.do("POST", "/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`, local, "Content-Type", "multipart/form-data; boundary=x")
	if x.code != http.StatusUnsupportedMediaType {
		t.Errorf("multipart: %d %s", x.code, x.body)
	}
	// curl -d sends a form type; the vendor's clients rely on it working.
	x = r.do("POST", "/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`, local, "Content-Type", "application/x-www-form-urlencoded")
	if x.code != http.StatusOK {
		t.Errorf("curl -d: %d %s", x.code, x.body)
	}
}

// TestAcceptedSurvivesRestart: an accepted change is in the file before
// the answer, in force, and loaded by a new controller on the same store.
func TestAcceptedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, rigOpt{dir: dir})
	x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":10,"ChargeCurrentBoost":32,"Meter2Type":7,"Meter2Ip":"fd00::50","ChargeAutoStart":false,"Charge3Phase":false}`)
	if x.code != 200 {
		t.Fatalf("%d %s", x.code, x.body)
	}
	want := `{"ChargeCurrent":"Set=>10","ChargeCurrentBoost":"Set=>32","Meter2Type":"Set=>7","Meter2Ip":"Set=>fd00::50","ChargeAutoStart":"Set=>false","Charge3Phase":"Set=>false"}`
	if string(x.body) != want {
		t.Errorf("answer\n got %s\nwant %s", x.body, want)
	}
	saved, err := r.store.Load(settings.Settings{})
	if err != nil || saved.ChargeCurrent != 10 || saved.Meter2Ip != "fd00::50" || saved.Charge3Phase {
		t.Fatalf("persisted: %+v %v", saved, err)
	}
	m := r.get("/webapi/v1/Status").obj(t)
	// BoostAllowed stays false: no session is started (boost is per session).
	if m["ThreePhaseCharging"] != false || m["AutoStartAllowed"] != false || m["BoostAllowed"] != false {
		t.Errorf("not in force: %v", m)
	}

	r2 := newRig(t, rigOpt{dir: dir})
	cfg := r2.get("/webapi/v1/SystemConfig").obj(t)
	for k, v := range map[string]any{"ChargeCurrent": 10.0, "ChargeCurrentBoost": 32.0, "Meter2Type": 7.0, "Meter2Ip": "fd00::50", "ChargeAutoStart": false, "Charge3Phase": false} {
		if cfg[k] != v {
			t.Errorf("after restart %s = %v, want %v", k, cfg[k], v)
		}
	}
}

// TestPersistFailureAppliesNothing: if the store cannot write, the
// answer is an error and the settings in force stay.
func TestPersistFailureAppliesNothing(t *testing.T) {
	r := newRig(t, rigOpt{})
	r.store.Path = t.TempDir() + "/missing-dir/settings.json"
	before := r.ctl.Settings()
	x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`)
	if x.code != http.StatusInternalServerError || !strings.Contains(x.obj(t)["ChargeCurrent"].(string), "persist settings") {
		t.Fatalf("%d %s", x.code, x.body)
	}
	if r.ctl.Settings() != before {
		t.Error("settings applied although persisting failed")
	}
}

// TestAcceptedAnswers: accepted requests answer Set=>value per object as
// JSON writes the value, and GET SystemConfig shows it.
func TestAcceptedAnswers(t *testing.T) {
	r := newRig(t, rigOpt{})
	for _, c := range []struct{ body, want string }{
		{`{"Meter1Type":5,"Meter1Ip":"[fd00::5]:1502"}`, `{"Meter1Type":"Set=>5","Meter1Ip":"Set=>[fd00::5]:1502"}`},
		{`{"Meter2Type":4,"Meter2Ip":"meter.local:502"}`, `{"Meter2Type":"Set=>4","Meter2Ip":"Set=>meter.local:502"}`},
		{`{"ControlStrategy":1,"ControlLimit":0,"PhaseCurrentLimit":25}`, `{"PhaseCurrentLimit":"Set=>25","ControlStrategy":"Set=>1","ControlLimit":"Set=>0"}`},
		{`{"ChargerMode":1,"LockMethod":1}`, `{"ChargerMode":"Set=>1","LockMethod":"Set=>1"}`},
		{`{"chargecurrent":6.0}`, `{"chargecurrent":"Set=>6"}`},
		{`{"ChargeCurrent":32,"ChargeCurrentBoost":32}`, `{"ChargeCurrent":"Set=>32","ChargeCurrentBoost":"Set=>32"}`},
	} {
		x := r.post("/webapi/v1/SystemConfig", c.body)
		if x.code != 200 || string(x.body) != c.want {
			t.Errorf("%s: %d %s, want %s", c.body, x.code, x.body, c.want)
		}
	}
	cfg := r.get("/webapi/v1/SystemConfig").obj(t)
	for k, v := range map[string]any{"Meter1Ip": "[fd00::5]:1502", "Meter2Ip": "meter.local:502", "ChargerMode": 1.0, "LockMethod": 1.0, "ChargeCurrent": 32.0, "ControlLimit": 0.0} {
		if cfg[k] != v {
			t.Errorf("SystemConfig %s = %v, want %v", k, cfg[k], v)
		}
	}
}

// TestLongValuesAreShortened: a rejected value, name or header of tens of
// KiB is quoted short in the answer, never echoed whole (issue 9, item 14).
func TestLongValuesAreShortened(t *testing.T) {
	r := newRig(t, rigOpt{})
	long := strings.Repeat("x", 30<<10) // two fit in MaxBody
	for _, c := range []struct{ path, body string }{
		{"SystemConfig", `{"Meter1Ip":"` + long + `"}`},
		{"SystemConfig", `{"Meter2Type":7,"Meter2Ip":"` + long + `"}`},
		{"SystemConfig", `{"ChargeCurrent":"` + long + `"}`},
		{"SystemConfig", `{"` + long + `":1}`},
		{"SystemConfig", `{"` + long + `":1,"` + long + `":2}`},
		{"SystemInfo", `{"SCode":"` + long + `"}`},
		{"SystemInfo", `{"` + long + `":true}`},
		{"EvseCtrl", `{"EVSEPowerAvailable":"` + long + `"}`},
		{"EvseCtrl", `{"ChargeStartToggle":"` + long + `"}`},
	} {
		before := r.snap()
		x := r.post("/webapi/v1/"+c.path, c.body)
		if x.code != http.StatusBadRequest || len(x.body) > 400 {
			t.Errorf("%s %.60s…: %d, %d-byte answer %.200s", c.path, c.body, x.code, len(x.body), x.body)
		}
		r.unchanged(before, "long value")
	}
	x := r.do("POST", "/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`, "127.0.0.1:9", "Content-Type", "text/"+long) // loopback: a writer on every branch
	if x.code != http.StatusUnsupportedMediaType || len(x.body) > 400 {
		t.Errorf("long content type: %d, %d-byte answer", x.code, len(x.body))
	}
}

// TestIdenticalWriteTouchesNoDisk: repeating an accepted SystemConfig
// write answers as before and leaves the settings file alone (same inode:
// no temp file, fsync or rename), on the WebAPI's real store.
func TestIdenticalWriteTouchesNoDisk(t *testing.T) {
	r := newRig(t, rigOpt{})
	body := `{"ChargeCurrent":10,"ChargeAutoStart":false}`
	want := `{"ChargeCurrent":"Set=>10","ChargeAutoStart":"Set=>false"}`
	if x := r.post("/webapi/v1/SystemConfig", body); x.code != 200 || string(x.body) != want {
		t.Fatalf("%d %s", x.code, x.body)
	}
	fi, err := os.Stat(r.store.Path)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if x := r.post("/webapi/v1/SystemConfig", body); x.code != 200 || string(x.body) != want {
			t.Fatalf("repeat: %d %s", x.code, x.body)
		}
	}
	again, err := os.Stat(r.store.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, again) || !again.ModTime().Equal(fi.ModTime()) {
		t.Fatal("an identical write rewrote the settings file")
	}
}
