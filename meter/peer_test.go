package meter

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/proctest"
)

const systemPython = "/usr/bin/python3" // Debian's, which has python3-pymodbus

// requireTool fails (never skips: CI installs these) when a binary or the
// pymodbus module is missing.
func requireTool(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (apt-get install mosquitto mbpoll socat python3-pymodbus): %v", path, err)
	}
	if path == systemPython {
		if out, err := exec.Command(systemPython, "-c", "import pymodbus, serial_asyncio").CombinedOutput(); err != nil {
			t.Fatalf("python3-pymodbus missing for %s: %v\n%s", systemPython, err, out)
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	return proctest.FreeAddr(t)
}

// peer is a running testdata/sdm_peer.py.
type peer struct {
	t      testing.TB
	stdin  io.WriteCloser
	lines  chan string
	stderr *proctest.LogBuffer
}

// startPeer runs the pymodbus SDM72D-M-2 peer serving vals, with args
// choosing --tcp or --serial, and waits until it serves.
func startPeer(t testing.TB, vals map[uint16]float32, args ...string) *peer {
	t.Helper()
	requireTool(t, systemPython)
	js := map[string]float64{}
	for a, v := range vals {
		js[strconv.Itoa(int(a))] = float64(v) // exact: python packs it back to the same float32
	}
	data, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	vf := filepath.Join(t.TempDir(), "values.json")
	if err := os.WriteFile(vf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, append([]string{"testdata/sdm_peer.py", "--values", vf}, args...)...)
	p := &peer{t: t, lines: make(chan string, 16), stderr: &proctest.LogBuffer{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if line := p.next(10 * time.Second); line != "ready" {
		t.Fatalf("peer did not start: %q\n%s", line, p.stderr)
	}
	return p
}

func (p *peer) next(d time.Duration) string {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "<exited>"
		}
		return l
	case <-time.After(d):
		return "<timeout>"
	}
}

// cmd sends a control line and returns the peer's answer.
func (p *peer) cmd(line string) string {
	p.t.Helper()
	if _, err := fmt.Fprintln(p.stdin, line); err != nil {
		p.t.Fatalf("peer %s: %v\n%s", line, err, p.stderr)
	}
	ans := p.next(5 * time.Second)
	if strings.HasPrefix(ans, "<") || strings.HasPrefix(ans, "error") {
		p.t.Fatalf("peer %s: %s\n%s", line, ans, p.stderr)
	}
	return ans
}

// count returns the number of requests the peer has received.
func (p *peer) count() int {
	p.t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(p.cmd("count"), "count "))
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// ptyPair starts socat with two linked raw ptys and returns their paths.
func ptyPair(t testing.TB) (string, string) {
	t.Helper()
	requireTool(t, "/usr/bin/socat")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cmd := exec.Command("/usr/bin/socat", "-d", "-d",
		"pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	var log proctest.LogBuffer
	go func() {
		sc := bufio.NewScanner(errPipe)
		once := false
		for sc.Scan() {
			fmt.Fprintln(&log, sc.Text())
			if !once && strings.Contains(sc.Text(), "starting data transfer loop") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("socat did not start:\n%s", log.String())
	}
	return a, b
}
