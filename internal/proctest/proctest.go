// Package proctest is test support for tests that run a real external
// process (mosquitto, a pymodbus peer, socat): a log buffer safe to hand to
// exec.Cmd while the test reads it, loopback ports, and a bounded wait for a
// process to start listening. No production package imports it.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// LogBuffer collects a process's output for failure messages. exec.Cmd
// writes from its own goroutine while the test may read, hence the mutex.
// The zero value is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreePort returns a loopback TCP port nothing listened on a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as a "127.0.0.1:port" address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

// WaitListening polls addr until it accepts a TCP connection, failing the
// test if exited closes first (the process died; logs says why) or within
// passes. Polling is the only option: an external process has no ready
// signal to wait on.
func WaitListening(t testing.TB, name, addr string, within time.Duration, exited <-chan struct{}, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s:\n%s", name, addr, logs)
		case <-time.After(10 * time.Millisecond): // poll interval, see above
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after %v:\n%s", name, addr, within, logs)
		}
	}
}
