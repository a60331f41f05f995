package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// TestModeFileRoundTrip: a saved mode loads back; no file is now; a
// corrupt or unknown one is an error (the daemon keeps now and logs).
func TestModeFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f := newModeFile(dir)
	if m, err := f.load(); err != nil || m != controller.ModeNow {
		t.Fatalf("no file: %v %v, want now", m, err)
	}
	if err := f.save(controller.ModeMinSolar); err != nil {
		t.Fatal(err)
	}
	if m, err := f.load(); err != nil || m != controller.ModeMinSolar {
		t.Fatalf("loaded %v %v, want minsolar", m, err)
	}
	for _, bad := range []string{`{`, `{"Mode":"eco"}`} {
		if err := os.WriteFile(filepath.Join(dir, "mode.json"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := f.load(); err == nil || m != controller.ModeNow {
			t.Fatalf("%s: %v %v, want an error and now", bad, m, err)
		}
	}
}
