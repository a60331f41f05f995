package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// pspPoll is the bridge's poll period in these tests.
const pspPoll = 200 * time.Millisecond

// pspRig is the built binary bridging a second built binary — the
// project's simulator daemon, which serves the box's WebAPI — over real
// Mosquitto.
type pspRig struct {
	t        testing.TB
	box      *daemon
	boxPorts Ports
	boxState string
	boxCfg   string
	bridge   *daemon
	broker   *mqtttest.Broker
	o        *mqtttest.Observer
	base     string // the bridge's MQTT base topic
}

// bridgeStatus is the part of <base>/status these tests read.
type bridgeStatus struct {
	EvseState            int
	ChargerStarted       bool
	Reachable            bool
	UnreachableReason    string
	LimitSource          string
	LimiterStale         bool
	ActualPowerAvailable float64
}

func startPSPRig(t testing.TB, extra string) *pspRig {
	t.Helper()
	r := &pspRig{t: t, boxPorts: newPorts(t), boxState: t.TempDir(), broker: mqtttest.Start(t)}
	r.box = start(t, r.boxState, r.boxPorts, "device_id: box\n")
	r.boxCfg = r.box.config
	var info struct{ MAC string }
	r.box.get("/webapi/v1/SystemInfo", &info)
	r.base = "evse/psp-" + strings.ToLower(strings.ReplaceAll(info.MAC, ":", ""))

	r.o = mqtttest.NewObserver(t, r.broker.URL())
	cfg := fmt.Sprintf(`log:
  level: debug
  format: json
http:
  listen: %q
hardware:
  driver: psp
  psp:
    url: http://%s
    poll: %s
    timeout: 1s
%smqtt:
  url: %s
publish:
  min_interval: 0s
`, freePort(t), r.boxPorts.HTTP, pspPoll, extra, r.broker.URL())
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	online := r.o.Subscribe(r.base + "/availability")
	r.bridge = launch(t, t.TempDir(), path, "")
	mqtttest.Wait(t, online, 10*time.Second, "bridge online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	return r
}

// waitStatus waits for a <base>/status for which ok holds.
func (r *pspRig) waitStatus(ch <-chan mqtttest.Message, within time.Duration, what string, ok func(bridgeStatus) bool) (bridgeStatus, time.Time) {
	r.t.Helper()
	var st bridgeStatus
	m := mqtttest.Wait(r.t, ch, within, what, func(m mqtttest.Message) bool {
		var s bridgeStatus
		if json.Unmarshal([]byte(m.Payload), &s) != nil {
			return false
		}
		st = s
		return ok(s)
	})
	return st, m.At
}

// command publishes on <base>/<topic> and returns the result document.
func (r *pspRig) command(results <-chan mqtttest.Message, topic, payload string) result {
	r.t.Helper()
	r.o.Publish(r.base+"/"+topic, payload, false)
	m := mqtttest.Wait(r.t, results, 10*time.Second, topic+" result", func(mqtttest.Message) bool { return true })
	var res result
	if err := json.Unmarshal([]byte(m.Payload), &res); err != nil {
		r.t.Fatalf("result %s: %v", m.Payload, err)
	}
	return res
}

// boxStatus reads the box's own Status.
func (r *pspRig) boxStatus() bridgeStatus {
	var st bridgeStatus
	r.box.get("/webapi/v1/Status", &st)
	return st
}

// onBox checks cond on the box until it holds, failing after within: the
// box has no events to wait on, only its documents.
func onBox(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, within, func() string {
		if cond() {
			return ""
		}
		return what
	})
}

// TestPSPBridge: the acceptance walk of issue 10 against the project's own
// simulator daemon as the box.
func TestPSPBridge(t *testing.T) {
	r := startPSPRig(t, "    supervise: true\nlimiter:\n  lease_ttl: 3s\n  fallback: fixed\n  fallback_current: 8\n")
	status := r.o.Subscribe(r.base + "/status")
	results := r.o.Subscribe(r.base + "/result")
	r.waitStatus(status, 5*time.Second, "idle, reachable", func(s bridgeStatus) bool { return s.Reachable && s.EvseState == 1 })

	// Identity: the device from the box's MAC, model and firmware.
	disc := mqtttest.Wait(t, r.o.Subscribe("homeassistant/sensor/+/state/config"), 5*time.Second, "state sensor config", func(mqtttest.Message) bool { return true })
	for _, want := range []string{`"model":"PSP EVSE v1.0"`, `"model_id":"EVSEMQTT"`, `"configuration_url":"http://` + r.boxPorts.HTTP, r.base + `/device/availability`} {
		if !strings.Contains(disc.Payload, want) {
			t.Errorf("discovery lacks %s: %s", want, disc.Payload)
		}
	}
	// The supervisor set-up on the box.
	var cfg struct {
		Meter2Type, ControlStrategy, ChargeCurrent int
		Meter2Ip                                   string
	}
	onBox(t, 5*time.Second, "box supervised", func() bool {
		r.box.get("/webapi/v1/SystemConfig", &cfg)
		return cfg.Meter2Type == 7 && cfg.Meter2Ip == "127.0.0.1" && cfg.ControlStrategy == 1
	})
	// No /sim/v1 on a bridge.
	if code := r.bridge.get("/sim/v1/State", nil); code != 404 {
		t.Errorf("bridge /sim/v1/State: %d, want 404", code)
	}

	// Plug a car on the box: 4 → 5 on the bridge's MQTT status.
	r.box.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true}`, nil)
	r.waitStatus(status, 5*time.Second, "EvseState 4", func(s bridgeStatus) bool { return s.EvseState == 4 })
	r.waitStatus(status, 10*time.Second, "EvseState 5", func(s bridgeStatus) bool { return s.EvseState == 5 && s.ChargerStarted })

	// OFF then ON stops and restarts the session on the box.
	if res := r.command(results, "charging/set", "OFF"); !res.OK {
		t.Fatalf("OFF: %+v", res)
	}
	if r.boxStatus().ChargerStarted {
		t.Fatal("OFF answered but the box still charges")
	}
	onBox(t, 5*time.Second, "contactor open", func() bool { return !r.box.sim().Contactor })
	if res := r.command(results, "charging/set", "ON"); !res.OK || res.Result["Charging"] != "Set=>True" {
		t.Fatalf("ON: %+v", res)
	}
	onBox(t, 15*time.Second, "contactor closed again", func() bool { return r.box.sim().Contactor })

	// A setting reaches the box's SystemConfig.
	if res := r.command(results, "config/ChargeCurrent/set", "10"); !res.OK {
		t.Fatalf("ChargeCurrent: %+v", res)
	}
	r.box.get("/webapi/v1/SystemConfig", &cfg)
	if cfg.ChargeCurrent != 10 {
		t.Fatalf("box ChargeCurrent %d, want 10", cfg.ChargeCurrent)
	}

	// A lease of 4600 W: 6 A on three phases on the box's pilot.
	if res := r.command(results, "power_available/set", "4600"); !res.OK {
		t.Fatalf("power: %+v", res)
	}
	var ext struct {
		CurrentLimit float64 `json:"current_limit_a"`
		LimitSource  string  `json:"limit_source"`
	}
	onBox(t, 5*time.Second, "box pilot at 6 A", func() bool {
		r.box.get("/api/v1/status", &ext)
		return ext.CurrentLimit == 6 && r.box.sim().PilotDuty == 10
	})
	// The lease lapses (3 s): the bridge pushes its fallback, 8 A.
	r.waitStatus(status, 10*time.Second, "lease lapsed", func(s bridgeStatus) bool { return s.LimiterStale })
	onBox(t, 15*time.Second, "box at the fallback's 8 A", func() bool {
		r.box.get("/api/v1/status", &ext)
		return ext.CurrentLimit == 8
	})

	// SIGKILL the box: unreachable within three poll periods.
	reach := r.o.Subscribe(r.base + "/device/availability")
	killed := time.Now()
	_ = r.box.cmd.Process.Signal(syscall.SIGKILL)
	<-r.box.exited
	st, at := r.waitStatus(status, 5*time.Second, "unreachable", func(s bridgeStatus) bool { return !s.Reachable })
	if d := at.Sub(killed); d > 3*pspPoll+300*time.Millisecond {
		t.Errorf("unreachable reported %v after the kill, want within 3 poll periods (%v)", d, 3*pspPoll)
	} else {
		t.Logf("unreachable reported %v after the kill (%s)", d, st.UnreachableReason)
	}
	if !strings.HasPrefix(st.UnreachableReason, "charger unreachable") {
		t.Errorf("reason %q", st.UnreachableReason)
	}
	mqtttest.Wait(t, reach, 2*time.Second, "device offline", func(m mqtttest.Message) bool { return m.Payload == "offline" })
	var e struct{ Error string }
	if code := r.bridge.get("/webapi/v1/Status", &e); code != 503 || !strings.HasPrefix(e.Error, "charger unreachable") {
		t.Errorf("bridge GET Status while the box is away: %d %q", code, e.Error)
	}
	if res := r.command(results, "charging/set", "OFF"); res.OK || !strings.Contains(res.Result["Charging"], "charger unreachable") {
		t.Errorf("command while away: %+v", res)
	}

	// Restart the box on the same ports and state dir: back in step.
	r.box = launch(t, r.boxState, r.boxCfg, r.boxPorts.MQTT)
	back := time.Now()
	_, at = r.waitStatus(status, 5*time.Second, "reachable again", func(s bridgeStatus) bool { return s.Reachable && s.EvseState == 1 })
	t.Logf("resynchronised %v after the box served again", at.Sub(back))
	if d := at.Sub(back); d > 2*pspPoll+300*time.Millisecond {
		t.Errorf("resynchronised %v after the box's return, want within 2 poll periods", d)
	}
	mqtttest.Wait(t, reach, 2*time.Second, "device online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	if code := r.bridge.get("/webapi/v1/Status", nil); code != 200 {
		t.Errorf("bridge GET Status after the return: %d", code)
	}
}
