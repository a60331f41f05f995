package controller

import (
	"sync/atomic"
	"time"
)

// Loop lateness is kept as a histogram of fixed buckets so recording a
// step costs two atomic adds and no allocation, and a reader (the soak
// command, through the daemon's /debug/v1/loop) can take the difference
// of two snapshots to judge a window of its own.
const (
	// LatenessBucket is the histogram's resolution.
	LatenessBucket = 50 * time.Microsecond
	// LatenessBuckets is the number of buckets; the last one also holds
	// everything later than (LatenessBuckets-1)·LatenessBucket.
	LatenessBuckets = 2000 // 100 ms
)

// LoopStats counts the control loop's steps and how late each finished
// against its schedule. The zero value is ready; it is safe for
// concurrent use (one writer, the loop; any number of readers).
type LoopStats struct {
	steps   atomic.Uint64
	lost    atomic.Uint64
	maxNs   atomic.Int64
	buckets [LatenessBuckets]atomic.Uint64
}

// record notes one step that finished late after its scheduled instant,
// after lost scheduled steps that never ran.
func (s *LoopStats) record(late time.Duration, lost uint64) {
	if late < 0 {
		late = 0
	}
	i := min(int(late/LatenessBucket), LatenessBuckets-1)
	s.buckets[i].Add(1)
	s.steps.Add(1)
	if lost > 0 {
		s.lost.Add(lost)
	}
	if int64(late) > s.maxNs.Load() {
		s.maxNs.Store(int64(late)) // one writer: no lost update
	}
}

// LoopSnapshot is a copy of LoopStats at one instant.
type LoopSnapshot struct {
	Steps   uint64                  `json:"steps"`
	Lost    uint64                  `json:"lost"` // scheduled steps that never ran
	Max     time.Duration           `json:"max_ns"`
	Buckets [LatenessBuckets]uint64 `json:"-"`
}

// Snapshot copies the counters.
func (s *LoopStats) Snapshot() LoopSnapshot {
	var o LoopSnapshot
	o.Steps = s.steps.Load()
	o.Lost = s.lost.Load()
	o.Max = time.Duration(s.maxNs.Load())
	for i := range s.buckets {
		o.Buckets[i] = s.buckets[i].Load()
	}
	return o
}

// Quantile returns the lateness below which a fraction q of the steps
// finished, to the bucket's upper edge; 0 without steps.
func (o *LoopSnapshot) Quantile(q float64) time.Duration {
	var n uint64
	for _, c := range o.Buckets {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i, c := range o.Buckets {
		if seen += c; seen >= rank {
			return time.Duration(i+1) * LatenessBucket
		}
	}
	return LatenessBuckets * LatenessBucket
}
