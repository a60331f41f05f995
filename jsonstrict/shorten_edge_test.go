package jsonstrict

import (
	"strings"
	"testing"
)

// TestShortenEdge: a rejected value up to 40 bytes is quoted whole, a
// longer one is cut at 40 bytes.
func TestShortenEdge(t *testing.T) {
	if got := Shorten(nil); got != "nothing" {
		t.Errorf("Shorten(nil) = %q", got)
	}
	s40 := strings.Repeat("x", 40)
	if got := Shorten([]byte(s40)); got != s40 {
		t.Errorf("40 bytes: %q", got)
	}
	if got := Shorten([]byte(s40 + "y")); got != s40+"…" {
		t.Errorf("41 bytes: %q", got)
	}
}
