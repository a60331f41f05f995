package ship

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// engine is a Docker engine the tests may use: the machine's own, or a
// dockerd this package started with its own data root and socket.
type engine struct {
	host  string   // DOCKER_HOST value
	build []string // the command that builds with BuildKit
	env   []string // extra environment for build
	skip  string   // why there is no engine, when there is none

	cmd     *exec.Cmd // the dockerd this package started, if any
	dir     string
	exited  chan struct{}
	logPath string
}

var (
	engineOnce sync.Once
	theEngine  *engine
)

// dockerEngine returns the engine, starting dockerd once per test binary
// when none runs; it skips the test (with the reason) only when no engine
// can start here.
func dockerEngine(t *testing.T) *engine {
	t.Helper()
	engineOnce.Do(func() { theEngine = startEngine() })
	if theEngine.skip != "" {
		t.Skip("no Docker engine: " + theEngine.skip)
	}
	return theEngine
}

// docker runs the docker CLI against e and returns its combined output.
func (e *engine) docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.host)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustDocker is docker that fails the test on error.
func (e *engine) mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := e.docker(ctx, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func startEngine() *engine {
	e := &engine{}
	if _, err := exec.LookPath("docker"); err != nil {
		e.skip = "the docker CLI is not installed (apt-get install docker.io)"
		return e
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		e.host = h
	} else if _, err := os.Stat("/var/run/docker.sock"); err == nil {
		e.host = "unix:///var/run/docker.sock"
	}
	if e.host != "" && e.ping(10*time.Second) == nil {
		return e.withBuilder()
	}
	if err := e.startDockerd(); err != nil {
		e.skip = err.Error()
		e.stop()
		return e
	}
	return e.withBuilder()
}

func (e *engine) ping(within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, err := e.docker(ctx, "version", "--format", "{{.Server.Version}}")
	return err
}

// startDockerd runs Debian's dockerd as the acceptance asks: its
// own data root, socket and exec root; no iptables and no bridge (so
// containers use --network host or none); vfs, which needs no kernel
// overlay support.
func (e *engine) startDockerd() error {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("dockerd is not installed (apt-get install docker.io)")
	}
	if os.Getuid() != 0 {
		return fmt.Errorf("starting dockerd needs root, and no engine runs")
	}
	e.dir, err = os.MkdirTemp("", "evse-dockerd-")
	if err != nil {
		return err
	}
	sock := filepath.Join(e.dir, "docker.sock")
	e.host = "unix://" + sock
	e.logPath = filepath.Join(e.dir, "dockerd.log")
	logf, err := os.Create(e.logPath)
	if err != nil {
		return err
	}
	e.cmd = exec.Command(bin, "--data-root", filepath.Join(e.dir, "root"), "--host", e.host,
		"--pidfile", filepath.Join(e.dir, "pid"), "--exec-root", filepath.Join(e.dir, "exec"),
		"--iptables=false", "--bridge=none", "--storage-driver=vfs")
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	// Its own process group (a ^C to the tests reaches it through stop, in
	// order), and SIGTERM should the test binary die without stopping it.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := e.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("dockerd: %v", err)
	}
	e.exited = make(chan struct{})
	go func() { _ = e.cmd.Wait(); logf.Close(); close(e.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited at start: %s", e.logTail())
		default:
		}
		if _, serr := os.Stat(sock); serr == nil && e.ping(5*time.Second) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer within 60 s: %s", e.logTail())
		}
		time.Sleep(200 * time.Millisecond) // polling the socket: dockerd has no readiness signal
	}
}

func (e *engine) logTail() string {
	b, _ := os.ReadFile(e.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// withBuilder picks a client that builds with BuildKit (the Dockerfile
// uses --platform=$BUILDPLATFORM): buildx when installed, else a CLI older
// than 23 with DOCKER_BUILDKIT=1 (Debian's docker.io ships one in
// /usr/bin; a newer CLI without buildx only has the legacy builder).
func (e *engine) withBuilder() *engine {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.docker(ctx, "buildx", "version"); err == nil {
		e.build = []string{"docker", "buildx", "build", "--load"}
		return e
	}
	for _, cli := range []string{"docker", "/usr/bin/docker"} {
		// "Docker version 20.10.24+dfsg1, build 297e128"
		out, err := exec.CommandContext(ctx, cli, "--version").Output()
		if err != nil {
			continue
		}
		m := regexp.MustCompile(`version (\d+)\.`).FindSubmatch(out)
		if m == nil {
			continue
		}
		if n, err := strconv.Atoi(string(m[1])); err == nil && n < 23 {
			e.build = []string{cli, "build"}
			e.env = []string{"DOCKER_BUILDKIT=1"}
			return e
		}
	}
	e.skip = "no BuildKit client: install the buildx plugin, or Debian's docker.io (its CLI in /usr/bin builds with DOCKER_BUILDKIT=1)"
	return e
}

// stop ends the dockerd this package started and removes its data root.
func (e *engine) stop() {
	if e == nil {
		return
	}
	if e.cmd != nil && e.cmd.Process != nil {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-e.exited
		}
	}
	if e.dir != "" {
		// dockerd leaves its network namespace mounted (exec/netns/default),
		// and a crashed one more: detach what is mounted below the folder
		// first, or RemoveAll stops at the first mount point.
		unmountBelow(e.dir)
		_ = os.RemoveAll(e.dir)
	}
}

func unmountBelow(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- { // the innermost first
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	theEngine.stop()
	os.Exit(code)
}
