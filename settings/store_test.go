package settings

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	st, err := NewStore(filepath.Join(t.TempDir(), "state", "nested"))
	if err != nil {
		t.Fatal(err)
	}
	base := Defaults()
	if s, err := st.Load(base); !errors.Is(err, ErrNoSettings) || s != base {
		t.Fatalf("empty store: %+v, %v; want base and ErrNoSettings", s, err)
	}
	s := base
	s.ChargeCurrent, s.Meter2Type, s.Meter2Ip, s.ChargeAutoStart = 10, MeterRemoteSuperv, "10.0.0.9", false
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load(base); err != nil || got != s {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, s)
	}
	// A field missing from the file (added in a newer version) keeps base.
	if err := os.WriteFile(st.Path, []byte(`{"ChargeCurrent": 8}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load(base); err != nil || got.ChargeCurrent != 8 || got.PhaseCurrentLimit != base.PhaseCurrentLimit {
		t.Fatalf("partial file: %+v, %v", got, err)
	}
	if err := os.WriteFile(st.Path, []byte(`{"ChargeCurrent": 8`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load(base); err == nil || got != base {
		t.Fatalf("corrupt file: %+v, %v; want base and an error", got, err)
	}
	// The file is read as strictly as any write: a hand-edited null, a
	// string for a number or a key twice is an error, not a silent
	// default; a field from a newer version is skipped.
	for body, ok := range map[string]bool{
		`{"ChargeAutoStart": null}`:                   false,
		`{"Meter1Ip": null}`:                          false,
		`{"ChargeCurrent": "8"}`:                      false,
		`{"ChargeCurrent": 8, "ChargeCurrent": 9}`:    false,
		`{"ChargeCurrent": 8, "chargecurrent": 9}`:    false,
		`{"ControlLimit": 1e-400}`:                    false,
		`{"ChargeCurrent": 8} {}`:                     false,
		`{"ChargeCurrent": 8, "FutureField": [1, 2]}`: true,
	} {
		if err := os.WriteFile(st.Path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := st.Load(base)
		if (err == nil) != ok || (!ok && got != base) || (ok && got.ChargeCurrent != 8) {
			t.Errorf("%s: %+v, %v; want ok=%v", body, got, err, ok)
		}
	}
	if err := st.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := st.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := st.Load(base); !errors.Is(err, ErrNoSettings) {
		t.Fatalf("after Remove: %v", err)
	}
	if err := WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "x"), nil, 0o644); err == nil {
		t.Fatal("WriteFileAtomic into a missing directory succeeded")
	}
}

// killChildEnv switches the test binary into the writer child of
// TestStoreSurvivesKill9.
const killChildEnv = "EVSE_SETTINGS_KILL9_DIR"

// kill9Pair returns the two distinct settings the child alternates.
func kill9Pair() (Settings, Settings) {
	a, b := Defaults(), Defaults()
	b.ChargerMode, b.LockMethod, b.ChargeCurrent, b.ChargeCurrentBoost = ModeCaseB, 1, 7, 31
	b.Meter1Type, b.Meter1Ip, b.Meter2Type, b.Meter2Ip = MeterIPSDM72D, "meter-with-a-long-host-name.example:1502", MeterRemoteSuperv, "fd00::1234"
	b.PhaseCurrentLimit, b.ControlStrategy, b.ControlLimit, b.ChargeAutoStart, b.Charge3Phase = 999, 1, 123456, false, false
	return a, b
}

// TestStoreSurvivesKill9 re-executes the test binary as a child that
// saves two settings alternately as fast as it can, kills it with SIGKILL
// at random moments, and checks that every time the store loads exactly
// one of the two, never an error or a mixture.
func TestStoreSurvivesKill9(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		kill9Child(dir)
		return
	}
	const kills, budget = 200, 25 * time.Second
	a, b := kill9Pair()
	st, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	began := time.Now()
	seen := map[Settings]int{}
	n := 0
	for ; n < kills && time.Since(began) < budget; n++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreSurvivesKill9$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+filepath.Dir(st.Path))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child prints a line after every completed save; reading a
		// random number of them places the kill at a random point of a
		// later save (write, fsync, rename or directory fsync).
		lines := bufio.NewScanner(out)
		want := 1 + rng.Intn(8)
		for i := 0; i < want; i++ {
			if !lines.Scan() {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("kill %d: child ended early after %d saves: %v", n, i, lines.Err())
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: child did not die by SIGKILL: %v", n, err)
		}
		got, err := st.Load(Defaults())
		if err != nil {
			data, _ := os.ReadFile(st.Path)
			t.Fatalf("kill %d (seed %d): Load: %v\nfile: %q", n, seed, err, data)
		}
		if got != a && got != b {
			t.Fatalf("kill %d (seed %d): loaded a mixture %+v", n, seed, got)
		}
		seen[got]++
	}
	if n < 50 {
		t.Fatalf("only %d kills within %v", n, budget)
	}
	if seen[a] == 0 || seen[b] == 0 {
		t.Fatalf("after %d kills only one value was ever on disk (%d/%d): the test is not exercising the race", n, seen[a], seen[b])
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(st.Path), ".settings.json.tmp-*"))
	t.Logf("%d kills in %v: old/new %d/%d, %d temporary files left behind (seed %d)",
		n, time.Since(began).Round(time.Millisecond), seen[a], seen[b], len(left), seed)
}

// kill9Child saves the pair alternately forever, reporting each save.
func kill9Child(dir string) {
	st := &Store{Path: filepath.Join(dir, "settings.json")}
	a, b := kill9Pair()
	for i := 0; ; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		if err := st.Save(s); err != nil {
			fmt.Fprintln(os.Stderr, "save:", err)
			os.Exit(3)
		}
		os.Stdout.WriteString("saved\n")
	}
}

// TestSaveUnchangedWritesNothing: saving the settings the file already
// holds leaves the file alone — same inode, no new temp file, no rename —
// while a real change or a removed file is written (issue 9, item 15).
func TestSaveUnchangedWritesNothing(t *testing.T) {
	st, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ino := func() uint64 {
		t.Helper()
		fi, err := os.Stat(st.Path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	s := Defaults()
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	first := ino()
	for range 3 {
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
	}
	if ino() != first {
		t.Fatal("an identical save rewrote the file (new inode from the atomic rename)")
	}
	s.ChargeCurrent = 10
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if ino() == first {
		t.Fatal("a changed save did not write")
	}
	if got, err := st.Load(Defaults()); err != nil || got != s {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	// A file changed behind the store's back is rewritten, not trusted.
	if err := os.WriteFile(st.Path, []byte(`{"ChargeCurrent": 8}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Load(Defaults()); got != s {
		t.Fatalf("file changed behind the store not rewritten: %+v", got)
	}
	if err := st.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.Path); err != nil {
		t.Fatalf("save after Remove: %v", err)
	}
}
