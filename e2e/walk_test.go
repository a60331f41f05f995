package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWalk is the README's curl session: plug an EV in through
// /sim/v1/State, watch A → B → C with the contactor closed and the EV at
// the advertised current, unplug, see A with the contactor open.
func TestWalk(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	if s := d.sim(); s.PilotLevel != "A" || s.Contactor {
		t.Fatalf("at start: %+v, want A and contactor open", s)
	}
	if code := d.post("/sim/v1/State", `{"EvPlugged": true}`, nil); code != 200 {
		t.Fatalf("plug: %d", code)
	}
	eventually(t, 3*time.Second, func() string {
		if s := d.sim(); s.PilotLevel != "B" || s.PilotDuty != 26.6 {
			return fmt.Sprintf("want B with 26.6 %% PWM (16 A), got %+v", s)
		}
		return ""
	})
	d.post("/sim/v1/State", `{"EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		s := d.sim()
		if s.PilotLevel != "C" || !s.Contactor || s.EvCurrent != 16 {
			return fmt.Sprintf("want C, contactor closed, 16 A; got %+v", s)
		}
		return ""
	})
	d.post("/sim/v1/State", `{"EvPlugged": false}`, nil)
	eventually(t, 2*time.Second, func() string {
		if s := d.sim(); s.PilotLevel != "A" || s.Contactor || s.EvCurrent != 0 {
			return fmt.Sprintf("want A with the contactor open; got %+v", s)
		}
		return ""
	})
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(d.log(), "contactor open") {
		t.Fatalf("no safe-stop log line:\n%s", d.log())
	}
}

// TestSIGINTWhileCharging stops the daemon under load: it must open the
// contactor and exit 0.
func TestSIGINTWhileCharging(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		if s := d.sim(); !s.Contactor {
			return fmt.Sprintf("not charging: %+v", s)
		}
		return ""
	})
	if code := d.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
}

func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "evse-mqtt 9.8.7" {
		t.Fatalf("--version: %q, %v", out, err)
	}
}

// TestBadConfig: a config error is reported with its field path and the
// daemon does not start.
func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, newPorts(t), "hardware:\n  max_current: 200\nbogus: 1\n")
	out, err := exec.Command(binary, "--config", p, "--state-dir", dir).CombinedOutput()
	if err == nil {
		t.Fatalf("daemon accepted a bad config:\n%s", out)
	}
	if !strings.Contains(string(out), "bogus") {
		t.Fatalf("error does not name the unknown key:\n%s", out)
	}
	p = writeConfig(t, dir, newPorts(t), "hardware:\n  max_current: 200\n")
	out, _ = exec.Command(binary, "--config", p, "--state-dir", dir).CombinedOutput()
	if !strings.Contains(string(out), "hardware.max_current") {
		t.Fatalf("error does not name hardware.max_current:\n%s", out)
	}
}

// TestHealthcheck is the container health check: 0 while the daemon
// serves, non-zero once it is gone.
func TestHealthcheck(t *testing.T) {
	p := newPorts(t)
	d := start(t, t.TempDir(), p, "")
	check := func() error {
		return exec.Command(binary, "--healthcheck", "--http-listen", p.HTTP).Run()
	}
	if err := check(); err != nil {
		t.Fatalf("healthcheck of a running daemon: %v", err)
	}
	d.stop(syscall.SIGTERM)
	if err := check(); err == nil {
		t.Fatal("healthcheck passed with the daemon stopped")
	}
}
