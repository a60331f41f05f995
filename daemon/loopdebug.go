package daemon

import (
	"net/http"
	"strconv"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// loopDoc is GET /debug/v1/loop: the control loop's timing since start,
// cumulative so a reader can difference two snapshots over its own window
// (the soak command does). Reading it costs the loop nothing: the counters
// are atomics the loop adds to.
type loopDoc struct {
	PeriodUs int64  `json:"period_us"`
	Steps    uint64 `json:"steps"`
	Lost     uint64 `json:"lost"` // scheduled steps that never ran
	P50Us    int64  `json:"p50_us"`
	P99Us    int64  `json:"p99_us"`
	MaxUs    int64  `json:"max_us"`
	BucketUs int64  `json:"bucket_us"`
	// Buckets maps a bucket's index (lateness / bucket_us, the last one
	// open-ended) to its count; empty buckets are left out.
	Buckets map[string]uint64 `json:"buckets"`
}

func loopHandler(c *controller.Controller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		s := c.LoopStats()
		d := loopDoc{
			PeriodUs: TickPeriod.Microseconds(),
			Steps:    s.Steps,
			Lost:     s.Lost,
			P50Us:    s.Quantile(0.5).Microseconds(),
			P99Us:    s.Quantile(0.99).Microseconds(),
			MaxUs:    s.Max.Microseconds(),
			BucketUs: controller.LatenessBucket.Microseconds(),
			Buckets:  map[string]uint64{},
		}
		for i, n := range s.Buckets {
			if n > 0 {
				d.Buckets[strconv.Itoa(i)] = n
			}
		}
		writeJSON(w, http.StatusOK, d)
	})
}
