package ship

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/internal/proctest"
)

// maxImageBytes is the ceiling for the runtime image.
const maxImageBytes = 15_000_000

const image = "evse-mqtt:e2e"

// TestDockerImage builds the image as the README says (docker build -t
// evse-mqtt .), offline, and runs it as users do: non-root, read-only root
// file system, a named volume on /data and a configuration mounted at
// /etc/evse-mqtt/config.yaml whose http.listen is not the default.
func TestDockerImage(t *testing.T) {
	e := dockerEngine(t)
	start := time.Now()
	build(t, e, "-t", image)
	t.Logf("image built in %v", time.Since(start).Round(time.Second))

	size, err := strconv.ParseInt(e.mustDocker(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %d bytes (%.1f MB)", size, float64(size)/1e6)
	if size > maxImageBytes {
		t.Errorf("image is %d bytes, over %d", size, maxImageBytes)
	}
	if got := e.mustDocker(t, "run", "--rm", "--network", "none", image, "--version"); got != "evse-mqtt 9.9.9-e2e" {
		t.Errorf("--version in the image: %q", got)
	}
	if u := e.mustDocker(t, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Env}}", image); !strings.HasPrefix(u, "65532:65532 ") || strings.Contains(u, "EVSE_") {
		t.Errorf("image user/env: %s (want 65532, and no EVSE_* variable that would beat the YAML)", u)
	}

	if e.cmd == nil {
		t.Cleanup(func() { _, _ = e.docker(context.Background(), "rmi", image, image+"-armv7") })
	}

	t.Run("run", func(t *testing.T) { runImage(t, e) })
	t.Run("bind mount owned by another user", func(t *testing.T) { bindMountRefused(t, e) })
	t.Run("arm/v7", func(t *testing.T) {
		if os.Getenv("EVSE_DOCKER_MULTIARCH") == "" {
			t.Skip("a second, cross-compiled build (~1–2 min): EVSE_DOCKER_MULTIARCH=1 runs it")
		}
		crossImage(t, e)
	})
}

// crossImage builds the image for linux/arm/v7 (the build stage runs here
// and cross-compiles with GOARM=7; the runtime stage is scratch, nothing
// to pull or emulate) and checks the binary inside is a 32-bit ARM one.
func crossImage(t *testing.T, e *engine) {
	start := time.Now()
	build(t, e, "--platform", "linux/arm/v7", "-t", image+"-armv7")
	t.Logf("arm/v7 image built in %v", time.Since(start).Round(time.Second))
	if arch := e.mustDocker(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}/{{.Variant}}", image+"-armv7"); arch != "linux/arm/v7" {
		t.Errorf("image platform %s", arch)
	}
	id := e.mustDocker(t, "create", "--platform", "linux/arm/v7", image+"-armv7")
	defer e.docker(context.Background(), "rm", id) //nolint:errcheck
	out := filepath.Join(t.TempDir(), "evse-mqtt")
	e.mustDocker(t, "cp", id+":/usr/local/bin/evse-mqtt", out)
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_ARM || f.Class != elf.ELFCLASS32 {
		t.Errorf("binary is %v %v, want 32-bit ARM", f.Machine, f.Class)
	}
	if size, err := strconv.ParseInt(e.mustDocker(t, "image", "inspect", "--format", "{{.Size}}", image+"-armv7"), 10, 64); err == nil {
		t.Logf("arm/v7 image size: %d bytes", size)
	}
}

func build(t *testing.T, e *engine, extra ...string) {
	t.Helper()
	standIn(t, e, buildStageImage(t, "../Dockerfile"))
	args := append([]string{}, e.build[1:]...)
	args = append(args, "--build-arg", "VERSION=9.9.9-e2e")
	args = append(args, extra...)
	if stand, _ := e.docker(context.Background(), "image", "inspect", "--format", `{{index .Config.Labels "evse-mqtt.stand-in"}}`, buildStageImage(t, "../Dockerfile")); stand != "" {
		// The stand-in holds the module cache: prove the build needs no network.
		args = append(args, "--network", "none")
	}
	args = append(args, "..")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.build[0], args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_HOST="+e.host), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tail(string(out), 4000))
	}
}

func runImage(t *testing.T, e *engine) {
	httpAddr := proctest.FreeAddr(t)
	brokerPort := proctest.FreePort(t)
	m1, m2 := proctest.FreeAddr(t), proctest.FreeAddr(t)
	const baseTopic = "evse/docker"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	// Everything on loopback ports chosen now: the container shares the
	// host's network (the engine here has no bridge).
	yaml := fmt.Sprintf(`log:
  level: info
  format: json
http:
  listen: %q
mqtt:
  url: tcp://127.0.0.1:%d
  base_topic: %s
settings:
  Meter1Ip: %q
  Meter2Ip: %q
sim:
  meter1_listen: %q
  meter2_listen: %q
`, httpAddr, brokerPort, baseTopic, m1, m2, m1, m2)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	vol := "evse-e2e-" + strconv.Itoa(os.Getpid())
	name := vol
	e.mustDocker(t, "volume", "create", vol)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if t.Failed() {
			logs, _ := e.docker(ctx, "logs", name)
			t.Logf("container log:\n%s", tail(logs, 4000))
		}
		_, _ = e.docker(ctx, "rm", "-f", name)
		_, _ = e.docker(ctx, "volume", "rm", vol)
	})
	e.mustDocker(t, "run", "-d", "--name", name, "--network", "host", "--read-only",
		"-v", vol+":/data", "-v", cfg+":/etc/evse-mqtt/config.yaml:ro",
		"--health-interval", "1s", "--health-timeout", "5s", image)

	// The mounted config is obeyed: the WebAPI answers on its http.listen.
	base := "http://" + httpAddr
	var health string
	waitFor(t, 30*time.Second, "healthy, with MQTT unreachable in the check's output", func() string {
		var h struct {
			Status string
			Log    []struct{ Output string }
		}
		out, err := e.docker(context.Background(), "inspect", "--format", "{{json .State.Health}}", name)
		if err != nil || json.Unmarshal([]byte(out), &h) != nil || len(h.Log) == 0 {
			return "no health yet: " + out
		}
		health = strings.TrimSpace(h.Log[len(h.Log)-1].Output)
		if h.Status != "healthy" || !strings.HasPrefix(health, "degraded: mqtt") {
			return h.Status + ": " + health
		}
		return ""
	})
	t.Logf("health with the broker down: %q", health)
	if code := get(t, base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz on the config's %s: %d", httpAddr, code)
	}

	// Non-root: the daemon's process runs as 65532, and what it wrote to
	// the volume is that user's.
	pid := e.mustDocker(t, "inspect", "--format", "{{.State.Pid}}", name)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t65532\t65532\t65532\t65532\n") {
		t.Errorf("container process is not 65532:\n%s", status)
	}
	if mp, err := e.docker(context.Background(), "volume", "inspect", "--format", "{{.Mountpoint}}", vol); err == nil {
		if st, err := os.Stat(filepath.Join(mp, "device_id")); err != nil {
			t.Errorf("no device_id in the volume: %v", err)
		} else if uid := fileUID(st); uid != 65532 {
			t.Errorf("device_id in the volume belongs to %d", uid)
		}
	}

	// The broker comes: the check says ok.
	b := mqtttest.StartOnPort(t, brokerPort, "")
	waitFor(t, 30*time.Second, "health ok once the broker is up", func() string {
		out, _ := e.docker(context.Background(), "inspect", "--format", "{{with .State.Health}}{{range .Log}}{{.Output}}{{end}}{{end}}", name)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if last := lines[len(lines)-1]; last != "ok" {
			return last
		}
		return ""
	})

	// Charge, then docker stop: exit 0 and the contactor open.
	if code := post(t, base+"/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true}`); code != http.StatusOK {
		t.Fatalf("sim POST: %d", code)
	}
	waitFor(t, 15*time.Second, "contactor closed", func() string {
		var s struct{ Contactor bool }
		get(t, base+"/sim/v1/State", &s)
		if !s.Contactor {
			return "open"
		}
		return ""
	})
	e.mustDocker(t, "stop", name)
	if code := e.mustDocker(t, "inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("exit code after docker stop: %s", code)
	}
	var final struct{ Charging, ChargerStarted bool }
	st := mqtttest.RetainedPayload(t, b.URL(), baseTopic+"/status")
	if err := json.Unmarshal([]byte(st), &final); err != nil {
		t.Fatalf("final status %q: %v", st, err)
	}
	if final.Charging || final.ChargerStarted {
		t.Errorf("final retained status still charging: %s", st)
	}
	logs := e.mustDocker(t, "logs", name)
	if !strings.Contains(logs, `"config":"/etc/evse-mqtt/config.yaml"`) {
		t.Errorf("the log does not say which configuration was found:\n%s", tail(logs, 2000))
	}
	if !strings.Contains(logs, "stopped: contactor open") {
		t.Errorf("no clean stop in the log:\n%s", tail(logs, 2000))
	}
}

// bindMountRefused: a host folder that the container's user may not write
// is refused at start with a message naming the chown that fixes it.
func bindMountRefused(t *testing.T, e *engine) {
	dir := t.TempDir() // root's, 0700 or 0755: not 65532's
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.docker(ctx, "run", "--rm", "--network", "none", "-v", dir+":/data", image)
	if err == nil {
		t.Fatalf("started on a folder it cannot write:\n%s", out)
	}
	if !strings.Contains(out, "chown -R 65532:65532") || !strings.Contains(out, "/data") {
		t.Fatalf("the message does not name the fix:\n%s", out)
	}
	t.Logf("bind mount owned by root: %s", tail(out, 600))
}

// waitFor polls check (which returns "" when satisfied, else what it saw)
// until within has passed: the container's state has no event to wait on.
func waitFor(t *testing.T, within time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := check()
		if got == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, within, got)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func get(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
	}
	return resp.StatusCode
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
