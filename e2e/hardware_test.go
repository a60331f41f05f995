package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPeriphFailsFastWithoutPins starts the daemon with driver: periph on
// this machine, which has none of the configured pins and no SPI bus: it
// must refuse within 2 s, non-zero, naming what is missing, and never
// start serving.
func TestPeriphFailsFastWithoutPins(t *testing.T) {
	extra := `hardware:
  driver: periph
  periph:
    adc: {type: mcp3008, bus: SPI0.0}
    pilot: {pwm_pin: GPIO18}
    contactor: {pin: GPIO23, feedback_pin: GPIO24}
    epo: {pin: GPIO5, active_low: true}
`
	cfg := writeConfig(t, t.TempDir(), newPorts(t), extra)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--config", cfg, "--state-dir", t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || ctx.Err() != nil {
		t.Fatalf("want a non-zero exit, got %v after %v; stderr:\n%s", err, took, stderr.String())
	}
	if took > 2*time.Second {
		t.Errorf("took %v to refuse, want at most 2 s", took)
	}
	out := stderr.String()
	for _, want := range []string{
		`hardware.periph.pilot.pwm_pin: no pin \"GPIO18\" on this machine`,
		`hardware.periph.contactor.pin: no pin \"GPIO23\"`,
		`hardware.periph.epo.pin: no pin \"GPIO5\"`,
		`hardware.periph.adc.bus: SPI port \"SPI0.0\"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "evse-mqtt running") {
		t.Error("the daemon started serving without its hardware")
	}
	t.Logf("refused after %v with exit code %d", took, exit.ExitCode())
}

// TestHWCheckSubcommand: hwcheck needs a periph configuration, and on a
// machine without the pins says which are missing.
func TestHWCheckSubcommand(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, extra string
		code        int
		want        string
	}{
		{"simulator", "", 2, "hardware.driver is not periph"},
		{"no pins", "hardware:\n  driver: periph\n  periph:\n    pilot: {pwm_pin: GPIO18}\n    contactor: {pin: GPIO23, feedback_pin: GPIO24}\n", 1, `hardware.periph.pilot.pwm_pin: no pin "GPIO18" on this machine`},
	} {
		cfg := writeConfig(t, dir, newPorts(t), c.extra)
		cmd := exec.Command(binary, "hwcheck", "--pulse", "--config", cfg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %v, stderr %q; want code %d and %q", c.name, err, stderr.String(), c.code, c.want)
		}
	}
}
