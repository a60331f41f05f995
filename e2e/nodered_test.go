package e2e

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

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/scenario"
)

// nodeRedVersion is pinned: Node-RED 5 needs Node ≥ 22.9, the machine's
// Node is 20.
const nodeRedVersion = "4.1.8"

// nodeRed returns the node-red executable, installed from npm into the
// user's cache on first use. The test is skipped, saying so, only when
// npm cannot reach its registry.
func nodeRed(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "evse-mqtt", "node-red-"+nodeRedVersion)
	bin := filepath.Join(dir, "node_modules", ".bin", "node-red")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed: the Node-RED test needs it to install node-red@" + nodeRedVersion)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "view", "node-red@"+nodeRedVersion, "version").CombinedOutput(); err != nil {
		t.Skipf("npm cannot reach its registry (npm view node-red@%s: %v: %s); the Node-RED test is skipped", nodeRedVersion, err, clip(out))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "node-red@"+nodeRedVersion, "--no-audit", "--no-fund", "--loglevel=error").CombinedOutput()
	if err != nil {
		t.Fatalf("npm install node-red@%s: %v: %s", nodeRedVersion, err, clip(out))
	}
	return bin
}

func clip(b []byte) string {
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return strings.TrimSpace(string(b))
}

// startNodeRed runs the example flow, its topics pointed at base and the
// broker, in a real Node-RED until the test ends.
func startNodeRed(t *testing.T, bin string, brokerPort int) {
	t.Helper()
	flow, err := os.ReadFile("../examples/node-red/flow.json")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.ReplaceAll(string(flow), "evse/evse-abc123", base)
	f = strings.Replace(f, `"port": "1883"`, `"port": "`+strconv.Itoa(brokerPort)+`"`, 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flows.json"), []byte(f), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	_, p, _ := strings.Cut(port, ":")
	settings := fmt.Sprintf("module.exports = {uiHost: '127.0.0.1', uiPort: %s, flowFile: 'flows.json', credentialSecret: false, "+
		"httpAdminRoot: false, httpNodeRoot: false, editorTheme: {tours: false}, logging: {console: {level: 'warn'}}};\n", p)
	if err := os.WriteFile(filepath.Join(dir, "settings.js"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-u", dir, "-s", filepath.Join(dir, "settings.js"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("node-red output:\n%s", logs.String())
		}
	})
}

// playTrace plays 5 minutes of the day trace (from 12:00, passing clouds)
// at 10× speed: every 100 ms one second of the trace; the grid power
// (house − PV + the car) goes to topic. It returns the contactor closings.
func playTrace(t *testing.T, d *daemon, o *mqtttest.Observer, topic string) int {
	t.Helper()
	day := scenario.Day(scenario.DefaultDay(1))
	closings, was := 0, false
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for s := 0; s < 300; s++ {
		house, pv := day(12*time.Hour + time.Duration(s)*time.Second)
		st := d.sim()
		if st.Contactor && !was {
			closings++
		}
		was = st.Contactor
		grid := float64(house) - float64(pv) + 690*st.EvCurrent
		o.Publish(topic, strconv.FormatFloat(grid, 'f', 0, 64), false)
		<-tk.C
	}
	return closings
}

// TestNodeRedExampleFlow: the example flow in a real Node-RED, against a
// real Mosquitto and the built daemon, charges from 5 minutes of a PV
// trace (at 10× speed) with no more contactor cycles than the daemon gives
// with the same readings pushed to it directly: the flow leaves nothing to
// the user's arithmetic.
func TestNodeRedExampleFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real Node-RED for a minute")
	}
	bin := nodeRed(t)
	// The limiter's pauses and the solar mode's ride over dips scaled to
	// the trace's 10×.
	const cfg = "device_id: e2e\npublish: {min_interval: 100ms}\nlimiter: {min_pause: 6s, max_pause: 12s, short_run: 9s, solar_hold: 18s}\n"
	run := func(viaNodeRed bool) int {
		b := mqtttest.Start(t)
		d := start(t, t.TempDir(), newPorts(t), cfg, "EVSE_MQTT_URL="+b.URL())
		o := mqtttest.NewObserver(t, b.URL())
		waitOnline(t, o)
		results := o.Subscribe(base + "/result")
		if r := command(t, o, results, base+"/set", `{"Meter2Type": 8}`); !r.OK {
			t.Fatalf("Meter2Type 8: %+v", r)
		}
		topic := base + "/grid/set"
		if viaNodeRed {
			startNodeRed(t, bin, b.Port)
			topic = "home/grid/power_w"
		} else if r := command(t, o, results, base+"/mode/set", "solar"); !r.OK {
			t.Fatalf("mode solar: %+v", r)
		}
		eventually(t, 30*time.Second, func() string { // Node-RED's inject sets the mode once deployed
			var e struct{ Mode string }
			if d.get("/api/v1/status", &e); e.Mode != "solar" {
				return fmt.Sprintf("mode %q, want solar", e.Mode)
			}
			return ""
		})
		d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
		n := playTrace(t, d, o, topic)
		var e struct {
			LimitSource string `json:"limit_source"`
		}
		if d.get("/api/v1/status", &e); e.LimitSource == "fallback" {
			t.Errorf("the grid readings went stale (via Node-RED %v)", viaNodeRed)
		}
		return n
	}
	direct := run(false)
	flow := run(true)
	t.Logf("contactor cycles over 5 min of trace at 10×: %d through the Node-RED flow, %d with the readings pushed directly", flow, direct)
	if direct == 0 || flow == 0 {
		t.Errorf("the car never charged (%d closings direct, %d via Node-RED): the comparison proves nothing", direct, flow)
	}
	if flow > direct {
		t.Errorf("the Node-RED flow cycled the contactor %d times, more than the daemon's own %d", flow, direct)
	}
}
