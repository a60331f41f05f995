package periph

import (
	"math"
	"time"
)

// span is the minimum and maximum of the samples taken in one window.
type span struct {
	start  time.Time
	hi, lo float64
	n      int
}

// window keeps the extremes of the current and the previous window of
// length d, so a reading always covers at least one full window (one
// PWM period or more) and never anything older than two.
type window struct {
	d         time.Duration
	cur, prev span
}

func (w *window) rotate(now time.Time) {
	if w.cur.n == 0 || now.Sub(w.cur.start) < w.d {
		return
	}
	w.prev = w.cur
	w.cur = span{}
}

func (w *window) add(v float64, now time.Time) {
	if math.IsNaN(v) {
		return
	}
	w.rotate(now)
	if w.cur.n == 0 {
		w.cur = span{start: now, hi: v, lo: v, n: 1}
		return
	}
	w.cur.hi, w.cur.lo = max(w.cur.hi, v), min(w.cur.lo, v)
	w.cur.n++
}

// get returns the extremes over the windows younger than 2d; ok is false
// when there are none (the sampler stalled).
func (w *window) get(now time.Time) (hi, lo float64, ok bool) {
	w.rotate(now)
	hi, lo = math.Inf(-1), math.Inf(1)
	for _, s := range []span{w.prev, w.cur} {
		if s.n == 0 || now.Sub(s.start) >= 2*w.d {
			continue
		}
		hi, lo, ok = max(hi, s.hi), min(lo, s.lo), true
	}
	if !ok {
		return math.NaN(), math.NaN(), false
	}
	return hi, lo, true
}

// The edges of the pilot bands (iec61851.md §1, the controller's
// Classify): F ≤ −10.5 < invalid < −1.5 ≤ E < 1.5 ≤ D < 4.5 ≤ C < 7.5 ≤ B
// < 10.5 ≤ A.
var bandEdges = [...]float64{-10.5, -1.5, 1.5, 4.5, 7.5, 10.5}

// band numbers the pilot bands from F (0) to A (6).
func band(v float64) int {
	if v <= bandEdges[0] {
		return 0
	}
	for i := len(bandEdges) - 1; i >= 1; i-- {
		if v >= bandEdges[i] {
			return i + 1
		}
	}
	return 1
}

// schmitt adds hysteresis to the pilot's high level: a reading that
// leaves the last band by less than h past the edge into the
// neighbouring band is reported just inside the last band, so noise at a
// threshold cannot make the level flicker. A jump over a whole band, or
// a reading beyond the margin, is taken as it is.
type schmitt struct {
	h    float64
	last int
	set  bool
}

// edgeEps keeps a clamped reading inside its band.
const edgeEps = 1e-3

func (s *schmitt) filter(v float64) float64 {
	if math.IsNaN(v) {
		s.set = false
		return v
	}
	b := band(v)
	if !s.set || b == s.last || s.h == 0 {
		s.last, s.set = b, true
		return v
	}
	switch {
	case b == s.last+1:
		edge := bandEdges[s.last] // upper edge of the last band
		if v < edge+s.h {
			if s.last == 0 {
				return edge // F is inclusive of −10.5
			}
			return edge - edgeEps
		}
	case b == s.last-1:
		edge := bandEdges[b] // lower edge of the last band
		if v > edge-s.h {
			if s.last == 1 {
				return edge + edgeEps // the invalid band excludes −10.5
			}
			return edge
		}
	}
	s.last = b
	return v
}
