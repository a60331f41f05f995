package controller

import (
	"testing"
	"time"
)

func TestLoopStatsQuantilesAndMax(t *testing.T) {
	var s LoopStats
	for i := 0; i < 98; i++ {
		s.record(120*time.Microsecond, 0) // bucket 2: ≤ 150 µs
	}
	s.record(3*time.Millisecond, 0)
	s.record(time.Second, 2) // beyond the last bucket
	o := s.Snapshot()
	if o.Steps != 100 || o.Lost != 2 {
		t.Fatalf("steps %d lost %d, want 100 and 2", o.Steps, o.Lost)
	}
	if got := o.Quantile(0.5); got != 150*time.Microsecond {
		t.Errorf("p50 %v, want 150µs", got)
	}
	if got := o.Quantile(0.99); got != 3050*time.Microsecond {
		t.Errorf("p99 %v, want 3.05ms", got)
	}
	if got := o.Quantile(1); got != LatenessBuckets*LatenessBucket {
		t.Errorf("p100 %v, want the open last bucket's edge", got)
	}
	if o.Max != time.Second {
		t.Errorf("max %v, want 1s", o.Max)
	}
	var empty LoopSnapshot
	if empty.Quantile(0.99) != 0 {
		t.Error("an empty histogram has no quantile")
	}
}

// The loop counts a tick that comes more than half a period after its
// due time as lost, however late the next one is received.
func TestMeasureCountsSkippedTicks(t *testing.T) {
	c := &Controller{period: 10 * time.Millisecond}
	t0 := time.Now().Add(-time.Second)
	for _, off := range []time.Duration{0, 10, 20, 50, 60, 74, 76} { // ms
		c.measure(t0.Add(off * time.Millisecond))
	}
	// 20 → 50 skips 30 and 40; 60 → 74 is on time to the nearest tick
	// (no tick skipped at 14 ms); 74 → 76 none.
	if o := c.LoopStats(); o.Steps != 7 || o.Lost != 2 {
		t.Fatalf("steps %d lost %d, want 7 and 2", o.Steps, o.Lost)
	}
}
