package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRunPrintsTables runs a short day and checks the three tables are there
// with a row for every law.
func TestRunPrintsTables(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-day-from", "12h", "-day-length", "10m", "-seed", "3"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	s := out.String()
	for _, want := range []string{"### Scenario 1", "### Scenario 2", "### Scenario 3", "| evse-mqtt limiter without meter 1 |", "| evse-mqtt limiter |", "| SmartEVSE-like", "| evcc-like (30 s interval) |", "(seed 3)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "\n| evse-mqtt limiter |"); n != 3 {
		t.Errorf("%d rows for our limiter, want one per table", n)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-day-length", "soon"}, &out, &errs); code != 2 || out.Len() != 0 {
		t.Fatalf("exit %d, output %q; want 2 and nothing", code, out.String())
	}
}
