package controller

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// windowBuckets is how finely the 1p → 3p window is kept: a mean over
// UpAfter at 1/60 of its length (10 s at the default 600 s), a fixed
// array so the loop does not allocate.
const windowBuckets = 60

// meanWindow is the mean of a signal over the last span, kept in
// windowBuckets buckets. The 1p → 3p rule asks for the 3p minimum plus a
// margin "available for 600 s": on a cumulus day the surplus never holds
// for 600 unbroken seconds, so a rule that restarts its timer at every
// dip never returns to 3p (SmartEVSE #85). The energy the surplus offered
// over the window is what says whether 3p would have been carried.
type meanWindow struct {
	span  time.Duration
	from  time.Time // first sample since the last reset (zero: none)
	last  int64     // bucket index of the last sample
	sum   [windowBuckets]float64
	count [windowBuckets]int32
	// total and n are the sums over the buckets, kept as buckets fill and
	// empty so mean costs nothing on the loop's hot path.
	total float64
	n     int32
}

// reset forgets every sample (a switch, a new plug-in).
func (w *meanWindow) reset() {
	w.from = time.Time{}
	w.sum, w.count = [windowBuckets]float64{}, [windowBuckets]int32{}
	w.total, w.n = 0, 0
}

// add records v at now; samples older than span fall out.
func (w *meanWindow) add(now time.Time, span time.Duration, v units.Watts) {
	if span != w.span {
		w.reset()
		w.span = span
	}
	width := span / windowBuckets
	if width <= 0 {
		width = 1
	}
	if w.from.IsZero() {
		w.from = now
		w.last = now.Sub(w.from).Nanoseconds() / int64(width)
	}
	idx := now.Sub(w.from).Nanoseconds() / int64(width)
	for k := w.last + 1; k <= idx && k <= w.last+windowBuckets; k++ {
		b := k % windowBuckets // a bucket the window leaves (or the clock skipped)
		w.total, w.n = w.total-w.sum[b], w.n-w.count[b]
		w.sum[b], w.count[b] = 0, 0
	}
	w.last = idx
	w.sum[idx%windowBuckets] += float64(v)
	w.count[idx%windowBuckets]++
	w.total += float64(v)
	w.n++
}

// full reports whether the samples cover the whole span.
func (w *meanWindow) full(now time.Time) bool {
	return !w.from.IsZero() && now.Sub(w.from) >= w.span
}

// mean is the mean of the samples in the window (0 with none).
func (w *meanWindow) mean() units.Watts {
	if w.n == 0 {
		return 0
	}
	return units.Watts(w.total / float64(w.n))
}
