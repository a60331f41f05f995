package daemon

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestImageDefaultsRankBelowYAML: what the container image and systemd
// set (STATE_DIRECTORY) never overrides the YAML, while flags and EVSE_*
// variables (Options) still do. The image used to set EVSE_STATE_DIR and
// EVSE_HTTP_LISTEN, which silently beat a mounted configuration.
func TestImageDefaultsRankBelowYAML(t *testing.T) {
	dir := t.TempDir()
	withState := filepath.Join(dir, "with.yaml")
	without := filepath.Join(dir, "without.yaml")
	if err := os.WriteFile(withState, []byte("state_dir: /srv/evse\nhttp:\n  listen: \"127.0.0.1:9090\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(without, []byte("http:\n  listen: \"127.0.0.1:9090\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STATE_DIRECTORY", "/data:/other")

	for _, tc := range []struct {
		name      string
		o         Options
		wantState string
	}{
		{"yaml state_dir beats STATE_DIRECTORY", Options{ConfigPath: withState}, "/srv/evse"},
		{"STATE_DIRECTORY when the yaml says nothing", Options{ConfigPath: without}, "/data"},
		{"no config: STATE_DIRECTORY", Options{}, "/data"},
		{"flag beats yaml", Options{ConfigPath: withState, StateDir: "/flag"}, "/flag"},
	} {
		cfg, err := LoadConfig(tc.o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.StateDir != tc.wantState {
			t.Errorf("%s: state dir %q, want %q", tc.name, cfg.StateDir, tc.wantState)
		}
		if tc.o.ConfigPath != "" && cfg.HTTP.Listen != "127.0.0.1:9090" {
			t.Errorf("%s: http.listen %q, want the yaml's", tc.name, cfg.HTTP.Listen)
		}
	}
}

func TestFoundConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONFIGURATION_DIRECTORY", "")
	if got := FoundConfig(); got != "" {
		t.Fatalf("without CONFIGURATION_DIRECTORY: %q", got)
	}
	t.Setenv("CONFIGURATION_DIRECTORY", dir)
	if got := FoundConfig(); got != "" {
		t.Fatalf("no config.yaml there, got %q", got)
	}
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := FoundConfig(); got != p {
		t.Fatalf("got %q, want %q", got, p)
	}
}

// TestStateDirErrorNamesTheFix: tests run as root here, where nothing is
// refused, so the message is checked on the error a non-root daemon gets
// (the Docker test sees the real one from a bind mount).
func TestStateDirErrorNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	err := stateDirError(dir, &fs.PathError{Op: "open", Path: dir + "/x", Err: syscall.EACCES})
	uid := strconv.Itoa(os.Getuid())
	for _, want := range []string{dir, "chown -R " + uid + ":", "not writable", "permission denied", "belongs to"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	ro := stateDirError(dir, &fs.PathError{Op: "open", Path: dir, Err: syscall.EROFS})
	if !strings.Contains(ro.Error(), "read-only") {
		t.Errorf("read-only message: %v", ro)
	}
	other := stateDirError(dir, errors.New("disk on fire"))
	if strings.Contains(other.Error(), "chown") {
		t.Errorf("a non-permission error suggests chown: %v", other)
	}
	if err := prepareStateDir(filepath.Join(dir, "a", "b")); err != nil {
		t.Fatalf("a fresh nested dir: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "a", "b", ".write-test-*")); len(left) != 0 {
		t.Fatalf("probe file left behind: %v", left)
	}
}
