package sdnotify

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listen opens a real unixgram socket as systemd's end of the protocol.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recv returns the next datagram, or "" when none is queued. A unixgram
// send is queued at the receiver before Send returns, so a non-blocking
// read is a complete answer, not a race.
func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	var n int
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
	}); err != nil {
		t.Fatal(err)
	}
	if errors.Is(rerr, syscall.EAGAIN) {
		return ""
	}
	if rerr != nil {
		t.Fatal(rerr)
	}
	return string(buf[:n])
}

func TestSendPathAndAbstract(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	c := listen(t, path)
	if err := Send(path, Ready+"\nSTATUS=running"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, c); got != "READY=1\nSTATUS=running" {
		t.Fatalf("got %q", got)
	}

	abstract := "@evse-sdnotify-test-" + strconv.Itoa(os.Getpid())
	a := listen(t, abstract)
	if err := Send(abstract, Stopping); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, a); got != Stopping {
		t.Fatalf("abstract socket got %q", got)
	}
}

func TestSendRefusals(t *testing.T) {
	if err := Send("", Ready); err == nil {
		t.Fatal("empty socket accepted")
	}
	path := filepath.Join(t.TempDir(), "notify")
	c := listen(t, path)
	if err := Send(path, strings.Repeat("x", maxMessage+1)); err == nil {
		t.Fatal("oversized message sent")
	}
	if got := recv(t, c); got != "" {
		t.Fatalf("refused message arrived: %d bytes", len(got))
	}
	if err := Send(filepath.Join(t.TempDir(), "nobody"), Ready); err == nil {
		t.Fatal("send to a missing socket succeeded")
	}
}

// TestFeederFeedsOnlyWhileAlive: a stuck loop must starve the watchdog.
func TestFeederFeedsOnlyWhileAlive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	c := listen(t, path)
	// Alive answers what the test hands it, once per tick: Run handles
	// ticks one after the other, so the answers line up with the ticks.
	answers := make(chan bool)
	f := Feeder{Socket: path, Alive: func() bool { return <-answers }}

	ticks := make(chan time.Time)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		f.Run(done, ticks, func(err error) { t.Error(err) })
	}()
	for _, alive := range []bool{true, false, false} {
		ticks <- time.Now()
		answers <- alive
	}
	close(done)
	<-stopped
	if got := recv(t, c); got != Watchdog {
		t.Fatalf("first beat: got %q, want %q", got, Watchdog)
	}
	if got := recv(t, c); got != "" {
		t.Fatalf("fed while not alive: %q", got)
	}

	f.Alive = func() bool { return true }
	if fed, err := f.Beat(); !fed || err != nil {
		t.Fatalf("Beat alive = %v, %v", fed, err)
	}
	if got := recv(t, c); got != Watchdog {
		t.Fatalf("got %q", got)
	}
}

func TestWatchdogInterval(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want time.Duration
		ok   bool
	}{
		{map[string]string{}, 0, false},
		{map[string]string{"WATCHDOG_USEC": "20000000"}, 20 * time.Second, true},
		{map[string]string{"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, 20 * time.Second, true},
		{map[string]string{"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "41"}, 0, false},
		{map[string]string{"WATCHDOG_USEC": "0"}, 0, false},
		{map[string]string{"WATCHDOG_USEC": "-5"}, 0, false},
		{map[string]string{"WATCHDOG_USEC": "20s"}, 0, false},
	} {
		got, ok := WatchdogInterval(env(tc.env), 42)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: got %v %v, want %v %v", tc.env, got, ok, tc.want, tc.ok)
		}
	}
}
