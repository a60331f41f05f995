// Package e2e drives the built evse-mqtt binary from outside, as a user or
// a container runtime would: HTTP on loopback, signals, exit codes.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	// A test that re-runs itself inside a network namespace (page_test.go)
	// hands its child the binary it already built.
	if b := os.Getenv(envBinary); b != "" {
		binary = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "evse-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "evse-mqtt")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7", "-o", binary, "../cmd/evse-mqtt")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building evse-mqtt:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback TCP address nothing listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemon is one running evse-mqtt process.
type daemon struct {
	t        testing.TB
	cmd      *exec.Cmd
	base     string // http://127.0.0.1:port
	stateDir string
	config   string
	mqtt     string // embedded broker address
	exited   chan struct{}
	mu       sync.Mutex
	logs     bytes.Buffer
}

// Ports fixes the loopback ports a daemon uses, so a restarted daemon can
// come back on the same ones.
// MQTTExtra, when set, is YAML lines added to the mqtt: section (indented
// by two spaces), e.g. a username and password.
type Ports struct{ HTTP, Meter1, Meter2, MQTT, MQTTExtra string }

func newPorts(t testing.TB) Ports {
	return Ports{HTTP: freePort(t), Meter1: freePort(t), Meter2: freePort(t), MQTT: freePort(t)}
}

// writeConfig writes a configuration that keeps everything on the given
// loopback ports; extra YAML is appended.
func writeConfig(t testing.TB, dir string, p Ports, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`log:
  level: debug
  format: json
http:
  listen: %q
settings:
  Meter1Type: 4
  Meter1Ip: %q
  Meter2Type: 4
  Meter2Ip: %q
sim:
  meter1_listen: %q
  meter2_listen: %q
mqtt:
  url: embedded
  embedded_listen: %q
%s%s`, p.HTTP, p.Meter1, p.Meter2, p.Meter1, p.Meter2, p.MQTT, p.MQTTExtra, extra)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var runningRE = regexp.MustCompile(`"http":"([^"]+)".*evse-mqtt running`)

// start runs the binary with a config on p and waits until it serves.
func start(t testing.TB, stateDir string, p Ports, extra string, env ...string) *daemon {
	t.Helper()
	return launch(t, stateDir, writeConfig(t, t.TempDir(), p, extra), p.MQTT, env...)
}

// launch runs the binary with the configuration file cfgPath (whose
// embedded broker listens on mqttAddr) and waits until it serves.
func launch(t testing.TB, stateDir, cfgPath, mqttAddr string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, stateDir: stateDir, config: cfgPath, mqtt: mqttAddr, exited: make(chan struct{})}
	d.cmd = exec.Command(binary, "--config", cfgPath, "--state-dir", stateDir)
	d.cmd.Env = append(os.Environ(), env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.logs.WriteString(line + "\n")
			d.mu.Unlock()
			if m := runningRE.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log())
		}
	})
	select {
	case addr := <-ready:
		d.base = "http://" + addr
	case <-d.exited:
		t.Fatalf("daemon exited before serving:\n%s", d.log())
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon did not start within 15 s:\n%s", d.log())
	}
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

func (d *daemon) get(path string, v any) int {
	d.t.Helper()
	resp, err := http.Get(d.base + path)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			d.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func (d *daemon) post(path, body string, v any) int {
	d.t.Helper()
	resp, err := http.Post(d.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		d.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			d.t.Fatalf("POST %s: %v: %s", path, err, data)
		}
	}
	return resp.StatusCode
}

// eventually polls check until it returns "" (success) or the deadline
// passes; the daemon runs on its own clock, so the test can only watch it.
func eventually(t testing.TB, within time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	last := ""
	for {
		if last = check(); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, last)
		}
		<-tk.C
	}
}

// simState is the part of /sim/v1/State the tests read.
type simState struct {
	EvPlugged  bool
	PilotLevel string
	PilotDuty  float64
	Contactor  bool
	Locked     bool
	EvCurrent  float64
}

func (d *daemon) sim() simState {
	var s simState
	if code := d.get("/sim/v1/State", &s); code != 200 {
		d.t.Fatalf("GET /sim/v1/State: %d", code)
	}
	return s
}

// stop sends sig and waits for the exit, returning the exit code.
func (d *daemon) stop(sig syscall.Signal) int {
	d.t.Helper()
	_ = d.cmd.Process.Signal(sig)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("daemon did not exit within 10 s of %v", sig)
	}
	return d.cmd.ProcessState.ExitCode()
}
