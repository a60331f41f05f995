package credentials

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureCreatesOnceAndKeeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api-token")
	a, err := Ensure(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Created || len(a.Value) != 64 || strings.Trim(a.Value, "0123456789abcdef") != "" {
		t.Fatalf("first call: %+v", a)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want 0600", fi.Mode(), err)
	}
	b, err := Ensure(path)
	if err != nil || b.Created || b.Value != a.Value {
		t.Fatalf("second call: %+v, %v; want the same secret, not created", b, err)
	}
	other, _ := Ensure(filepath.Join(t.TempDir(), "api-token"))
	if other.Value == a.Value {
		t.Fatal("two state dirs got the same secret")
	}
}

func TestEnsureTightensAndValidates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api-token")
	if err := os.WriteFile(path, []byte("my-own-token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Ensure(path)
	if err != nil || s.Value != "my-own-token" || !s.Tightened || s.Created {
		t.Fatalf("%+v, %v", s, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after tightening", fi.Mode())
	}
	if err := os.WriteFile(path, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Ensure(path); err != nil || !s.Created || len(s.Value) != 64 {
		t.Fatalf("empty file: %+v, %v; want a new secret", s, err)
	}
	if err := os.WriteFile(path, []byte("two words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(path); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("a file with white space inside: %v", err)
	}
	if _, err := Ensure(filepath.Join(dir, "missing-dir", "api-token")); err == nil {
		t.Fatal("no error for an unwritable path")
	}
}
