package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestPowerLimitEndToEnd: with ControlStrategy 1 and the simulated control
// meter read over Modbus, more house load makes the charger cut its duty
// until the site is back under ControlLimit.
func TestPowerLimitEndToEnd(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	if code := d.post("/webapi/v1/SystemConfig", `{"ControlStrategy": 1, "ControlLimit": 15000}`, nil); code != 200 {
		t.Fatalf("SystemConfig: %d", code)
	}
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true, "HousePower": 2000}`, nil)
	eventually(t, 15*time.Second, func() string {
		if s := d.sim(); s.EvCurrent != 16 || s.PilotDuty != 26.6 {
			return fmt.Sprintf("not charging at 16 A: %+v", s)
		}
		return ""
	})
	site := func() float64 {
		var m meterDoc
		d.get("/webapi/v1/Meter2", &m)
		return m["Meter2"].ModbusData["0x04_0x0034"].Value
	}
	// 8 kW of house load: 8000 + 11040 W > 15000 W.
	d.post("/sim/v1/State", `{"HousePower": 8000}`, nil)
	raised := time.Now()
	eventually(t, 5*time.Second, func() string {
		if p := site(); p <= 15000 {
			return fmt.Sprintf("site at %v W, the load step has not reached the meter yet", p)
		}
		return ""
	})
	eventually(t, 15*time.Second, func() string {
		s := d.sim()
		if s.PilotDuty >= 26.6 || s.PilotDuty < 10 {
			return fmt.Sprintf("duty %v %%, want cut below 26.6 %% but still charging", s.PilotDuty)
		}
		if p := site(); p > 15000 {
			return fmt.Sprintf("duty %v %%, site %v W still above the 15000 W limit", s.PilotDuty, p)
		}
		return ""
	})
	t.Logf("site back under the limit %v after the load step", time.Since(raised).Round(100*time.Millisecond))
	var ext map[string]any
	d.get("/api/v1/status", &ext)
	if ext["limit_source"] != "limiter" {
		t.Fatalf("limit source %v, want limiter: %v", ext["limit_source"], ext)
	}
}

// TestPowerLimitResumeHolds: after a pause for lack of power the charger
// resumes once power is back — and keeps charging. (The meters are polled
// at different periods, so during the car's ramp the statistics meter can
// lag the control meter; that lag must not read as new house load.)
func TestPowerLimitResumeHolds(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "limiter: {min_pause: 3s, max_pause: 3s}\n")
	d.post("/webapi/v1/SystemConfig", `{"ControlStrategy": 1, "ControlLimit": 15000}`, nil)
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true, "HousePower": 2000}`, nil)
	charging := func() string {
		if s := d.sim(); !s.Contactor || s.EvCurrent < 6 {
			return fmt.Sprintf("not charging: %+v", s)
		}
		return ""
	}
	eventually(t, 15*time.Second, charging)
	d.post("/sim/v1/State", `{"HousePower": 14500}`, nil) // 500 W left: pause
	eventually(t, 15*time.Second, func() string {
		if s := d.sim(); s.Contactor || s.PilotDuty != 100 {
			return fmt.Sprintf("not paused: %+v", s)
		}
		return ""
	})
	d.post("/sim/v1/State", `{"HousePower": 2000}`, nil)
	eventually(t, 15*time.Second, charging)
	// Watch 12 s of charging after the resume: no second pause.
	deadline := time.Now().Add(12 * time.Second)
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for time.Now().Before(deadline) {
		if s := d.sim(); s.PilotDuty == 100 || !s.Contactor && s.EvCurrent == 0 && s.PilotDuty == 100 {
			var ext map[string]any
			d.get("/api/v1/status", &ext)
			t.Fatalf("paused again after resuming with 13 kW of headroom: %+v, %v", s, ext["reason"])
		}
		<-tk.C
	}
}
