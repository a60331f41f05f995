package ship

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const unitPath = "../examples/systemd/evse-mqtt.service"

// verifiableUnit writes the unit to a temp dir with ExecStart pointing at
// an executable there: systemd-analyze verify checks that the command
// exists, and /usr/bin/evse-mqtt is not installed on a test machine.
func verifiableUnit(t *testing.T) string {
	t.Helper()
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "evse-mqtt")
	self, err := os.Executable() // any executable will do; this one is at hand
	if err != nil {
		t.Fatal(err)
	}
	copyExecutable(t, self, exe)
	re := regexp.MustCompile(`(?m)^ExecStart=/usr/bin/evse-mqtt$`)
	if !re.Match(unit) {
		t.Fatalf("%s: no ExecStart=/usr/bin/evse-mqtt (where the package installs the binary)", unitPath)
	}
	path := filepath.Join(dir, "evse-mqtt.service")
	if err := os.WriteFile(path, re.ReplaceAll(unit, []byte("ExecStart="+exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdUnitVerifies: systemd-analyze verify accepts the unit with no
// complaint at all (it exits 0 on an unknown key, so any output fails),
// and the unit has what the issue asks for.
func TestSystemdUnitVerifies(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd)")
	}
	path := verifiableUnit(t)
	var out bytes.Buffer
	cmd := exec.Command(bin, "verify", "--man=no", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out.String())
	}
	if sec, err := exec.Command(bin, "security", "--offline=true", path).CombinedOutput(); err == nil {
		if m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+ \S+)`).FindSubmatch(sec); m != nil {
			t.Logf("systemd-analyze security: exposure %s", m[1])
		}
	}

	unit, _ := os.ReadFile(unitPath)
	for _, want := range []string{
		"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=evse-mqtt",
		"SupplementaryGroups=gpio i2c spi dialout", "StateDirectory=evse-mqtt",
		"ConfigurationDirectory=evse-mqtt", "NoNewPrivileges=yes", "ProtectSystem=strict",
	} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	// What would cut the daemon off its pins.
	// ProtectClock=yes implies DeviceAllow=char-rtc r, and any DeviceAllow=
	// turns the default DevicePolicy=auto into "only those" (systemd.exec(5),
	// systemd.resource-control(5)).
	for _, bad := range []string{"PrivateDevices=yes", "ProtectKernelTunables=yes", "DevicePolicy=", "DeviceAllow=", "ProtectClock=yes"} {
		if strings.Contains(string(unit), "\n"+bad) {
			t.Errorf("unit has %q: the pins (/dev/gpiochip*, /sys/class/pwm) would be out of reach", bad)
		}
	}
}
