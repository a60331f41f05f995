package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify runs the built binary as systemd would run the unit in
// examples/systemd (Type=notify, WatchdogSec=): a real unixgram socket as
// $NOTIFY_SOCKET must see READY=1 once the daemon serves, WATCHDOG=1 while
// the control loop steps, and STOPPING=1 on SIGTERM, which still exits 0.
// (That a stuck loop starves the watchdog is sdnotify's Feeder test.)
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m == want {
					return
				}
				if !strings.HasPrefix(m, "WATCHDOG=") {
					t.Logf("notification %q", m)
				}
			case <-deadline:
				t.Fatalf("no %q within 10 s", want)
			}
		}
	}

	// WATCHDOG_USEC 200 ms: beats every 100 ms; no WATCHDOG_PID, as systemd
	// leaves it out for the main process.
	d := start(t, t.TempDir(), newPorts(t), "", "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000", "WATCHDOG_PID=")
	next("READY=1")
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.log())
	}
	next("STOPPING=1")
}
