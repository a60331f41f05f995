package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `package p

const limit = 3 > 2

func f(a, b int, s string) bool {
	if a < 75 && b >= 0 || a == b {
		return s+"x" != ""
	}
	return a-b <= 1.5
}
`

func TestFindMutantsAndApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.go")
	if err := os.WriteFile(path, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := findMutants(path, "p.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.ID())
	}
	want := []string{
		"p.go:6:7 <→<=", "p.go:6:9 75→76", "p.go:6:9 75→74", "p.go:6:12 &&→||", "p.go:6:17 >=→>", "p.go:6:20 0→1",
		"p.go:6:22 ||→&&", "p.go:6:27 ==→!=",
		"p.go:7:11 +→-", "p.go:7:16 !=→==",
		"p.go:9:10 -→+", "p.go:9:13 <=→<", "p.go:9:16 1.5→2.5", "p.go:9:16 1.5→0.5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out, err := ms[1].apply([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "if a < 76 && b") || strings.Count(string(out), "76") != 1 {
		t.Fatalf("applied 75→76:\n%s", out)
	}
	// A mutant whose text no longer matches the file is refused, not
	// applied somewhere else.
	if _, err := ms[0].apply([]byte(strings.Replace(sample, "a < 75", "a<75", 1))); err == nil {
		t.Fatal("stale mutant applied")
	}
}

func TestScore(t *testing.T) {
	var n [4]int
	n[killed], n[timedOut], n[survived], n[notViable] = 8, 1, 1, 5
	if s := score(n); s != 90 {
		t.Fatalf("score %v, want 90 (not-viable mutants do not count)", s)
	}
	if !strings.Contains(summary("x", n), "9 of 10 killed (90.0 %)") {
		t.Fatalf("summary %q", summary("x", n))
	}
}
