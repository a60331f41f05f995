// Package mqtttest runs a real Mosquitto broker on a free loopback port for
// tests, and an independent paho client to watch and drive it. It is test
// support only; no production package imports it.
package mqtttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/proctest"
)

// Binary is Debian's mosquitto; CI installs it (.ci/run).
const Binary = "/usr/sbin/mosquitto"

// startWithin bounds how long a (re)started broker may take to listen.
const startWithin = 5 * time.Second

// Broker is a mosquitto process owned by a test.
type Broker struct {
	t      testing.TB
	Port   int
	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *proctest.LogBuffer
}

// FreePort returns a loopback TCP port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	return proctest.FreePort(t)
}

// Start runs mosquitto on a free port with persistence off (so a restart
// loses retained messages, as a real broker without persistence does) and
// kills it when the test ends. It fails, never skips, without the binary.
func Start(t testing.TB) *Broker {
	t.Helper()
	return StartOnPort(t, proctest.FreePort(t), "")
}

// StartWith is Start with extra mosquitto.conf lines appended after the
// plain listener, e.g. a TLS or websockets listener. Restart waits only for
// the plain listener; use WaitListening for the extra ones.
func StartWith(t testing.TB, extraConfigLines string) *Broker {
	t.Helper()
	return StartOnPort(t, proctest.FreePort(t), extraConfigLines)
}

// StartOnPort is StartWith on a port chosen in advance, for tests whose
// client must be configured (and running) before the broker exists.
func StartOnPort(t testing.TB, port int, extraConfigLines string) *Broker {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("%s missing (apt-get install mosquitto): %v", Binary, err)
	}
	b := &Broker{t: t, Port: port, logs: &proctest.LogBuffer{}}
	b.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nuser root\nlog_dest stderr\nlog_type error\nlog_type warning\n%s", b.Port, extraConfigLines)
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	t.Cleanup(b.Kill)
	return b
}

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.Port) }

// Logs returns what the broker has logged so far (errors and warnings),
// across restarts, for failure messages.
func (b *Broker) Logs() string { return b.logs.String() }

// Restart starts the broker (again) on its port and waits until it accepts
// connections.
func (b *Broker) Restart() {
	b.t.Helper()
	b.cmd = exec.Command(Binary, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.logs, b.logs
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	b.exited = exited
	go func(c *exec.Cmd) { _ = c.Wait(); close(exited) }(b.cmd)
	b.WaitListening(b.Port)
}

// WaitListening waits until the running broker accepts connections on
// port, which StartWith's extra lines configured; it fails the test if the
// broker exits first (a bad listener config does that) or after 5 s.
func (b *Broker) WaitListening(port int) {
	b.t.Helper()
	proctest.WaitListening(b.t, "mosquitto", "127.0.0.1:"+strconv.Itoa(port), startWithin, b.exited, b.logs)
}

// Kill stops the broker with SIGKILL and waits until it is gone.
func (b *Broker) Kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

// PasswdBinary is Debian's mosquitto_passwd, shipped with mosquitto.
const PasswdBinary = "/usr/bin/mosquitto_passwd"

// StartWithPassword runs mosquitto on a free port accepting only user with
// password (anonymous clients are refused), for tests of what a client
// does when the broker refuses its credentials.
func StartWithPassword(t testing.TB, user, password string) *Broker {
	t.Helper()
	file := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command(PasswdBinary, "-c", "-b", file, user, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	// The later allow_anonymous overrides Start's "true".
	return StartWith(t, fmt.Sprintf("allow_anonymous false\npassword_file %s\n", file))
}
