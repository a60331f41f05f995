package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// healthcheck runs `evse-mqtt --healthcheck` against d, as a container
// runtime does, and returns what it printed and its exit code.
func (d *daemon) healthcheck() (string, int) {
	d.t.Helper()
	cmd := exec.Command(binary, "--config", d.config, "--healthcheck")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		d.t.Fatalf("--healthcheck: %v", err)
	}
	return strings.TrimSpace(out.String()), cmd.ProcessState.ExitCode()
}

// TestMQTTRefusedCredentialsVisible: a broker that refuses the daemon's
// password. The daemon used to log only "connecting" and then "discovery
// announced", and /healthz stayed ok. Now the refusal is logged at warn
// with the broker's reason (once, not per attempt), /healthz, the status
// document and --healthcheck say "degraded" with the reason, nothing
// claims an announcement, and the daemon still stops with exit 0.
func TestMQTTRefusedCredentialsVisible(t *testing.T) {
	const password = "not-the-password-7c1e"
	b := mqtttest.StartWithPassword(t, "evse", "the-password")
	p := newPorts(t)
	p.MQTTExtra = "  username: evse\n  password: " + password + "\n"
	d := start(t, t.TempDir(), p, "device_id: e2e\n", "EVSE_MQTT_URL="+b.URL())

	var h struct{ Status, MQTT string }
	eventually(t, 10*time.Second, func() string {
		h.Status, h.MQTT = "", ""
		if code := d.get("/healthz", &h); code != 200 || h.Status != "degraded" || !strings.Contains(h.MQTT, "CONNACK 5") {
			return fmt.Sprintf("/healthz %d %+v", code, h)
		}
		return ""
	})
	var ext struct {
		MQTT *struct {
			Connected bool
			Error     string
			Since     time.Time
			URL       string
		} `json:"mqtt"`
	}
	d.get("/api/v1/status", &ext)
	if m := ext.MQTT; m == nil || m.Connected || !strings.Contains(m.Error, "not Authorized") || m.Since.IsZero() || m.URL != b.URL() {
		t.Fatalf("/api/v1/status mqtt = %+v", m)
	}
	out, code := d.healthcheck()
	if code != 0 || !strings.HasPrefix(out, "degraded: mqtt") || !strings.Contains(out, "CONNACK 5") {
		t.Fatalf("--healthcheck: exit %d, %q", code, out)
	}

	eventually(t, 5*time.Second, func() string {
		if !strings.Contains(d.log(), "MQTT broker not reachable") {
			return "no warning about the refusal in the log"
		}
		return ""
	})
	logs := d.log()
	warn := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "MQTT broker not reachable") {
			if warn != "" {
				t.Errorf("the same refusal logged twice within seconds:\n%s\n%s", warn, l)
			}
			warn = l
		}
	}
	if !strings.Contains(warn, `"level":"warn"`) || !strings.Contains(warn, "CONNACK 5") || !strings.Contains(warn, "mqtt.password") {
		t.Errorf("warning lacks level, reason or hint: %s", warn)
	}
	if strings.Contains(logs, "announced") {
		t.Errorf("the log claims an announcement that never reached the broker:\n%s", logs)
	}
	if strings.Contains(logs, password) {
		t.Errorf("the password appears in the log")
	}
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestEmbeddedPortTakenUsesRunningBroker: the user already runs Mosquitto
// on the embedded broker's port. The daemon used to run on without MQTT,
// never retry, and exit 1 at stop. Now it says so at start, with the flag
// that makes the choice explicit, connects to the broker that is there
// (Home Assistant's, typically), announces itself on it, and exits 0.
func TestEmbeddedPortTakenUsesRunningBroker(t *testing.T) {
	b := mqtttest.Start(t)
	obs := mqtttest.NewObserver(t, b.URL())
	avail := obs.Subscribe(base + "/availability")
	p := newPorts(t)
	p.MQTT = fmt.Sprintf("127.0.0.1:%d", b.Port) // taken by Mosquitto
	d := start(t, t.TempDir(), p, "device_id: e2e\n")

	want := "--mqtt-url tcp://" + p.MQTT
	if !strings.Contains(d.log(), want) || !strings.Contains(d.log(), "already taken") {
		t.Fatalf("no clear warning naming %q at start:\n%s", want, d.log())
	}
	mqtttest.Wait(t, avail, 5*time.Second, "daemon online on the running broker", func(m mqtttest.Message) bool { return m.Payload == "online" })
	eventually(t, 5*time.Second, func() string {
		var h struct{ Status, MQTT string }
		if code := d.get("/healthz", &h); code != 200 || h.Status != "ok" {
			return fmt.Sprintf("/healthz %d %+v", code, h)
		}
		if !strings.Contains(d.log(), "discovery announced") {
			return "discovery not announced on the running broker"
		}
		return ""
	})
	if out, code := d.healthcheck(); code != 0 || out != "ok" {
		t.Fatalf("--healthcheck: exit %d, %q", code, out)
	}
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestMQTTNotStartedStillExitsZero: when MQTT cannot start at all (here the
// embedded broker's address is not one of this host's), the charger runs
// on, /healthz and --healthcheck say why, and a clean stop exits 0 — the
// daemon used to return the MQTT start error as its exit status (1).
func TestMQTTNotStartedStillExitsZero(t *testing.T) {
	p := newPorts(t)
	p.MQTT = "192.0.2.1:1883" // TEST-NET-1: never a local address
	d := start(t, t.TempDir(), p, "device_id: e2e\n")
	var h struct{ Status, MQTT string }
	if code := d.get("/healthz", &h); code != 200 || h.Status != "degraded" || !strings.Contains(h.MQTT, "MQTT not started") ||
		!strings.Contains(h.MQTT, "mqtt.embedded_listen") {
		t.Fatalf("/healthz %d %+v", code, h)
	}
	if out, code := d.healthcheck(); code != 0 || !strings.Contains(out, "MQTT not started") {
		t.Fatalf("--healthcheck: exit %d, %q", code, out)
	}
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}
