package ship

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"gopkg.in/yaml.v3"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/internal/proctest"
)

const composeDir = "../examples/compose"

// The example's logins (mosquitto/passwd holds their hashes).
var composeUsers = map[string]string{
	"evse-mqtt":      "example-evse-mqtt-password",
	"homeassistant":  "example-homeassistant-password",
	"energy-manager": "example-energy-manager-password",
}

// TestComposeConfigValidates: docker-compose accepts the file, and what it
// resolves wires the config and both volumes in.
func TestComposeConfigValidates(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (apt-get install docker-compose); the Mosquitto half of the example is still tested")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", filepath.Join(composeDir, "docker-compose.yml"), "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	var doc struct {
		Services map[string]struct {
			Volumes []any
			Ports   []any
		}
		Volumes map[string]any
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}
	mounts := func(svc string) string {
		s, ok := doc.Services[svc]
		if !ok {
			t.Fatalf("no service %s:\n%s", svc, out)
		}
		b, _ := yaml.Marshal(s.Volumes)
		return string(b)
	}
	ev, mq := mounts("evse-mqtt"), mounts("mosquitto")
	for _, want := range []string{"/etc/evse-mqtt/config.yaml", "/data", "evse-state"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evse-mqtt lacks mount %s:\n%s", want, ev)
		}
	}
	for _, want := range []string{"/mosquitto/config/mosquitto.conf", "/mosquitto/config/passwd", "/mosquitto/config/acl", "/mosquitto/data", "mosquitto-data"} {
		if !strings.Contains(mq, want) {
			t.Errorf("mosquitto lacks mount %s:\n%s", want, mq)
		}
	}
	if _, ok := doc.Volumes["evse-state"]; !ok {
		t.Errorf("no evse-state volume")
	}
}

// composeBroker runs a real mosquitto with the example's mosquitto.conf,
// passwd and acl: the container paths rewritten to a temp dir and the
// listener moved to a free loopback port — nothing else changed.
func composeBroker(t *testing.T) string {
	t.Helper()
	url, _ := composeBrokerLogs(t, "")
	return url
}

// composeBrokerLogs is composeBroker with extra config lines appended and
// the broker's log returned.
func composeBrokerLogs(t *testing.T, extra string) (string, *proctest.LogBuffer) {
	t.Helper()
	dir := t.TempDir()
	conf, err := os.ReadFile(filepath.Join(composeDir, "mosquitto", "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"passwd", "acl"} {
		b, err := os.ReadFile(filepath.Join(composeDir, "mosquitto", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	port := proctest.FreePort(t)
	s := string(conf)
	for old, repl := range map[string]string{
		"listener 1883\n":       fmt.Sprintf("listener %d 127.0.0.1\n", port),
		"/mosquitto/config/":    dir + "/",
		"/mosquitto/data/":      dir + "/data/",
		"log_dest stdout\n":     "log_dest stderr\n",
		"allow_anonymous false": "allow_anonymous false",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("mosquitto.conf no longer has %q", old)
		}
		s = strings.ReplaceAll(s, old, repl)
	}
	// The temp dir is root's: keep mosquitto from switching to its own user.
	s += "user root\n" + extra
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mqtttest.Binary); err != nil {
		t.Fatalf("%s missing (apt-get install mosquitto): %v", mqtttest.Binary, err)
	}
	logs := &proctest.LogBuffer{}
	cmd := exec.Command(mqtttest.Binary, "-c", path)
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
			t.Logf("mosquitto log:\n%s", logs)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	proctest.WaitListening(t, "mosquitto", addr, 5*time.Second, exited, logs)
	return "tcp://" + addr, logs
}

func login(user string) func(*mqtt.ClientOptions) {
	return func(o *mqtt.ClientOptions) {
		o.SetUsername(user).SetPassword(composeUsers[user]).SetAutoReconnect(false).SetConnectRetry(false)
	}
}

// TestComposeMosquittoRefusesAnonymousAndForeignWrites: the example broker
// refuses anonymous clients and a wrong password, and drops a
// power_available, grid or mode write from anyone but the energy manager,
// while the energy manager's writes reach the daemon's login.
func TestComposeMosquittoRefusesAnonymousAndForeignWrites(t *testing.T) {
	url := composeBroker(t)

	for name, opts := range map[string]*mqtt.ClientOptions{
		"anonymous":      mqtt.NewClientOptions(),
		"wrong password": mqtt.NewClientOptions().SetUsername("energy-manager").SetPassword("guess"),
	} {
		opts.AddBroker(url).SetClientID("intruder").SetConnectRetry(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatalf("%s: no answer", name)
		}
		if tok.Error() == nil {
			c.Disconnect(0)
			t.Fatalf("%s client accepted", name)
		}
		t.Logf("%s refused: %v", name, tok.Error())
	}

	daemon := mqtttest.NewObserverWith(t, url, login("evse-mqtt"))
	ha := mqtttest.NewObserverWith(t, url, login("homeassistant"))
	em := mqtttest.NewObserverWith(t, url, login("energy-manager"))
	for _, cmd := range []string{"power_available", "grid", "mode"} {
		topic := "evse/garage/" + cmd + "/set"
		got := daemon.Subscribe(topic)
		// QoS 1: the broker has routed (or dropped) a message before it
		// acknowledges it, so these arrive in this order if at all.
		ha.Publish(topic, "ha-"+cmd, false)
		daemon.Publish(topic, "daemon-"+cmd, false)
		em.Publish(topic, "em-"+cmd, false)
		m := mqtttest.Next(t, got, 5*time.Second, "the energy manager's "+topic)
		if m.Payload != "em-"+cmd {
			t.Errorf("%s: the daemon's login received %q first; only the energy manager may write it", topic, m.Payload)
		}
	}

	// Home Assistant's own commands do reach the daemon.
	got := daemon.Subscribe("evse/garage/charging/set")
	ha.Publish("evse/garage/charging/set", "ON", false)
	if m := mqtttest.Next(t, got, 5*time.Second, "HA's charging/set"); m.Payload != "ON" {
		t.Errorf("charging/set: %q", m.Payload)
	}
}
