package ship

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/internal/proctest"
)

// TestComposeDaemonUnderTheACL runs the built daemon with the example's
// evse-mqtt/config.yaml (broker address, HTTP and simulated meter ports
// moved to free loopback ones) against the example's broker: everything
// the daemon publishes is allowed by the ACL (no "Denied PUBLISH" for it),
// Home Assistant sees the state and the discovery, and the energy
// manager's power_available reaches the daemon, which answers.
func TestComposeDaemonUnderTheACL(t *testing.T) {
	url, brokerLog := composeBrokerLogs(t, "log_type all\n")
	bin := filepath.Join(t.TempDir(), "evse-mqtt")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/evse-mqtt").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(composeDir, "evse-mqtt", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, m1, m2 := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	cfg := string(b)
	for old, repl := range map[string]string{
		"url: tcp://mosquitto:1883": "url: " + url,
		`listen: ":8080"`:           fmt.Sprintf("listen: %q", httpAddr),
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("config.yaml no longer has %q", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	cfg += fmt.Sprintf("sim:\n  meter1_listen: %q\n  meter2_listen: %q\nsettings:\n  Meter1Ip: %q\n  Meter2Ip: %q\n", m1, m2, m1, m2)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	ha := mqtttest.NewObserverWith(t, url, login("homeassistant"))
	state := ha.Subscribe("evse/garage/#")
	disc := ha.Subscribe("homeassistant/+/evse_garage/+/config")

	logs := &proctest.LogBuffer{}
	cmd := exec.Command(bin, "--config", path, "--state-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("daemon log:\n%s", tail(logs.String(), 3000))
		}
	})

	seen := map[string]bool{}
	mqtttest.Wait(t, state, 15*time.Second, "online, status, config, info from the daemon", func(m mqtttest.Message) bool {
		seen[strings.TrimPrefix(m.Topic, "evse/garage/")] = true
		return seen["availability"] && seen["status"] && seen["config"] && seen["info"]
	})
	mqtttest.Next(t, disc, 10*time.Second, "Home Assistant discovery")

	em := mqtttest.NewObserverWith(t, url, login("energy-manager"))
	results := em.Subscribe("evse/garage/result")
	em.Publish("evse/garage/power_available/set", "4000", false)
	res := mqtttest.Next(t, results, 10*time.Second, "the daemon's answer to power_available")
	var doc struct{ Command string }
	if err := json.Unmarshal([]byte(res.Payload), &doc); err != nil || doc.Command != "power_available" {
		t.Fatalf("result %q", res.Payload)
	}

	// Everything the daemon published so far went through: mosquitto logs
	// each publish it drops.
	sc := bufio.NewScanner(strings.NewReader(brokerLog.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Denied PUBLISH") {
			t.Errorf("the ACL dropped a message: %s", sc.Text())
		}
	}
}
