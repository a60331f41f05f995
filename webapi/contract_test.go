package webapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// The vendor guide's examples (../shared/spec/webapi-v1.md), verbatim.
const (
	specStatus = `{
  "TimeStamp": 179760, "SystemVersion": "0.9.1", "WiFiInfo": "559EVSE:60%",
  "EvseState": 4, "ThreePhaseCharging": true, "ActualCurrent": 16, "PPCodedCurrent": 20,
  "ActualPower": 11040, "ActualPowerAvailable": 22080, "ActualEnergy": 0,
  "ActualDuration": "00h:00m:00s", "ActualDurationTotalSeconds": 3774,
  "AutoStartAllowed": false, "StartStopAllowed": true, "BoostAllowed": true,
  "ChargerStarted": true, "ChargeBoosted": false, "Meter1Status": 0, "Meter2Status": 0
}`
	specSystemConfig = `{"TimeStamp": 1661687, "SystemVersion": "0.5.0", "ChargerMode": 0, "LockMethod": 0,
 "ChargeCurrent": 6, "ChargeCurrentBoost": 32, "Meter1Type": 1, "Meter1Ip": "192.168.0.30",
 "Meter2Type": 2, "Meter2Ip": "192.168.0.30", "PhaseCurrentLimit": 25, "ControlStrategy": 1,
 "ControlLimit": 0, "ChargeAutoStart": true, "Charge3Phase": true}`
	specSystemInfo = `{"TimeStamp": 520144, "SystemVersion": "0.9.2", "ProductType": "01100200",
 "MAC": "E0:E2:E6:52:AA:D4", "WiFiInfo": "559EVSE,RSSI:-49dB/68%",
 "HeapInfo": "0x022DF0/0x02D230", "GeneralInfo": "System: Failure free",
 "OTAMsg": "Operation not allowed in WiFi AP mode!", "OTACheckAllowed": true,
 "OTAUpdateAllowed": false}`
)

// TestReadShapesMatchSpec: every GET document has exactly the guide's
// keys, in its order, with its JSON types.
func TestReadShapesMatchSpec(t *testing.T) {
	r := newRig(t, rigOpt{})
	for _, c := range []struct{ path, spec string }{
		{"/webapi/v1/Status", specStatus},
		{"/webapi/v1/SystemConfig", specSystemConfig},
		{"/webapi/v1/SystemInfo", specSystemInfo},
	} {
		x := r.get(c.path)
		if x.code != http.StatusOK || x.hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %q", c.path, x.code, x.hdr.Get("Content-Type"))
		}
		if got, want := shape(t, x.body), shape(t, []byte(c.spec)); !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s shape:\n got %v\nwant %v", c.path, got, want)
		}
	}
	for _, n := range []string{"1", "2"} {
		x := r.get("/webapi/v1/Meter" + n)
		if got, want := shape(t, x.body), []field{{"Meter" + n, "object"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Meter%s: %v", n, got)
		}
		inner := x.obj(t)["Meter"+n].(map[string]any)
		b, _ := json.Marshal(inner)
		if got := shape(t, b); !reflect.DeepEqual(got, []field{{"ModbusData", "object"}, {"TimeStamp", "number"}}) &&
			!reflect.DeepEqual(got, []field{{"TimeStamp", "number"}, {"ModbusData", "object"}}) {
			t.Errorf("Meter%s inner shape %v", n, got)
		}
		if len(inner["ModbusData"].(map[string]any)) != 0 {
			t.Errorf("Meter%s of type 0 must have empty ModbusData, got %s", n, x.body)
		}
	}
}

// TestGolden pins every endpoint's full answer on a deterministic rig.
func TestGolden(t *testing.T) {
	r := newRig(t, rigOpt{})
	golden(t, "status_idle", r.get("/webapi/v1/Status"))
	golden(t, "systemconfig", r.get("/webapi/v1/SystemConfig"))
	golden(t, "systeminfo_wired", r.get("/webapi/v1/SystemInfo"))
	r.host.wifi = true
	golden(t, "systeminfo_wifi", r.get("/webapi/v1/SystemInfo"))
	golden(t, "status_wifi", r.get("/webapi/v1/Status"))
	r.host.wifi = false
	golden(t, "meter1_none", r.get("/webapi/v1/Meter1"))
	golden(t, "meter2_none", r.get("/webapi/v1/Meter2"))
	golden(t, "healthz", r.get("/healthz"))
	golden(t, "extended_idle", r.get("/api/v1/status"))

	r.plug(true) // auto start is on by default
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })
	r.run(3774 * time.Millisecond)
	golden(t, "status_charging", r.get("/webapi/v1/Status"))
	golden(t, "extended_charging", r.get("/api/v1/status"))

	// Errors are JSON too.
	golden(t, "err_404", r.get("/webapi/v1/Nope"))
	golden(t, "err_405", r.get("/webapi/v1/EvseCtrl"))
	golden(t, "err_malformed", r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":`))
}

// TestGuideExamples: the guide's own requests give its documented answers.
func TestGuideExamples(t *testing.T) {
	r := newRig(t, rigOpt{})
	r.plug(true)
	r.until(5*time.Second, "session started", func(st controller.Status) bool { return st.ChargerStarted })

	x := r.post("/webapi/v1/EvseCtrl", `{"ChargeStartToggle": true, "ChargeBoostToggle": false, "EVSEPowerAvailable": 0}`)
	want := `{"ChargeStartToggle":"Set=>False","ChargeBoostToggle":"no action","EVSEPowerAvailable":"supervisor IP not set"}`
	if x.code != http.StatusOK || string(x.body) != want {
		t.Fatalf("EvseCtrl example: %d %s\nwant 200 %s", x.code, x.body, want)
	}
	golden(t, "evsectrl_guide", x)
	if r.ctl.Status().ChargerStarted {
		t.Error("session still started after Set=>False")
	}

	x = r.post("/webapi/v1/SystemInfo", `{"Scode": "Reset", "SCodeData": ""}`)
	if x.code != http.StatusOK || string(x.body) != `{"Reset":"Performing"}` {
		t.Fatalf("SystemInfo example: %d %s", x.code, x.body)
	}
	golden(t, "systeminfo_reset", x)

	// SystemConfig answers in the EvseCtrl style, values as JSON writes them.
	x = r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":16,"ChargeAutoStart":true,"Meter1Type":4,"Meter1Ip":"192.168.0.30"}`)
	want = `{"ChargeCurrent":"Set=>16","Meter1Type":"Set=>4","Meter1Ip":"Set=>192.168.0.30","ChargeAutoStart":"Set=>true"}`
	if x.code != http.StatusOK || string(x.body) != want {
		t.Fatalf("SystemConfig: %d %s\nwant 200 %s", x.code, x.body, want)
	}
	golden(t, "systemconfig_set", x)
}

// TestStatusValues checks the values behind the shape on the simulator.
func TestStatusValues(t *testing.T) {
	r := newRig(t, rigOpt{settings: func(s *settings.Settings) { s.ChargeCurrentBoost = 32 }})
	m := r.get("/webapi/v1/Status").obj(t)
	if m["EvseState"] != float64(controller.StateIdle) || m["ChargerStarted"] != false || m["WiFiInfo"] != Wired {
		t.Errorf("idle status: %v", m)
	}
	if m["TimeStamp"] != float64(179*1000+10) { // start is 179 s before epoch; one tick in
		t.Errorf("TimeStamp %v", m["TimeStamp"])
	}
	if m["Meter1Status"] != float64(0) || m["Meter2Status"] != float64(1) {
		t.Errorf("meter status from the daemon's func: %v %v", m["Meter1Status"], m["Meter2Status"])
	}
	r.plug(true)
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback && st.ActualCurrent > 0 })
	r.run(61 * time.Minute)
	m = r.get("/webapi/v1/Status").obj(t)
	if m["EvseState"] != float64(controller.StateCharge) || m["ChargerStarted"] != true || m["BoostAllowed"] != true {
		t.Errorf("charging status: %v", m)
	}
	d, secs := m["ActualDuration"].(string), m["ActualDurationTotalSeconds"].(float64)
	if !strings.HasPrefix(d, "01h:01m:") || secs < 3660 || secs > 3662 {
		t.Errorf("duration %q / %v s", d, secs)
	}
	if e := m["ActualEnergy"].(float64); e < 3600*1000 { // > 1 kWh in Ws after an hour
		t.Errorf("ActualEnergy %v Ws", e)
	}
	if m["ActualPowerAvailable"] != float64(0) {
		t.Errorf("ActualPowerAvailable without a limiter: %v", m["ActualPowerAvailable"])
	}
}

// TestMeterPassThrough: the daemon's meter document is served as is, with
// the request's TimeStamp.
func TestMeterPassThrough(t *testing.T) {
	r := newRig(t, rigOpt{})
	var asked []int64
	srv, err := New(Options{Controller: r.ctl, Commands: r.srv.o.Commands, Host: r.host, Started: r.start,
		Now: func() time.Time { return r.now },
		Meter: func(n int, ts int64) []byte {
			asked = append(asked, ts)
			if n == 2 {
				return nil // no data yet: the empty shape
			}
			return []byte(`{"Meter1":{"TimeStamp":` + strconv.FormatInt(ts, 10) + `,"ModbusData":{"0x04_0x0034":{"Desc":"TotalSystemPower[W]","ErrCounter":0,"Value":475.2,"DataStatus":"Valid"}}}}`)
		}})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	if x := r.get("/webapi/v1/Meter1"); !strings.Contains(string(x.body), `"0x04_0x0034":{"Desc":"TotalSystemPower[W]"`) {
		t.Errorf("Meter1: %s", x.body)
	}
	if x := r.get("/webapi/v1/Meter2"); string(x.body) != `{"Meter2":{"TimeStamp":179010,"ModbusData":{}}}` {
		t.Errorf("Meter2: %s", x.body)
	}
	if len(asked) != 2 || asked[0] != 179010 {
		t.Errorf("meter func asked with %v", asked)
	}
}
