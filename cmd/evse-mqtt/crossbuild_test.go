package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCrossBuild builds the daemon for the boards the periph driver is
// for, without cgo: a 64-bit (Raspberry Pi 3/4/5, arm64) and a 32-bit
// (ARMv7) Linux. The Go build cache keeps repeated runs fast.
func TestCrossBuild(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, target := range []struct{ name, arch, arm string }{
		{"linux-arm64", "arm64", ""},
		{"linux-armv7", "arm", "7"},
	} {
		t.Run(target.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "evse-mqtt")
			cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+target.arch, "GOARM="+target.arm, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build for %s: %v\n%s", target.name, err, b)
			}
			fi, err := os.Stat(out)
			if err != nil || fi.Size() < 1<<20 {
				t.Fatalf("no binary for %s: %v", target.name, err)
			}
		})
	}
}
