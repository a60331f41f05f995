package daemon

import (
	"testing"
	"time"
)

// TestLoopAlive: the watchdog is fed only for a loop that has stepped
// within /healthz's 5 s; a loop that never stepped or stalled starves it.
func TestLoopAlive(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Time{}, false},
		{now, true},
		{now.Add(-10 * time.Millisecond), true},
		{now.Add(-5 * time.Second), true},
		{now.Add(-5*time.Second - time.Millisecond), false},
		{now.Add(-time.Minute), false},
	} {
		if got := loopAlive(tc.at, now); got != tc.want {
			t.Errorf("step at %v, now %v: alive %v, want %v", tc.at, now, got, tc.want)
		}
	}
}
