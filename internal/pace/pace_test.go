package pace

import (
	"testing"
	"time"
)

// Reservations are spaced by the interval once the burst is spent, and an
// idle Rate grants a new burst.
func TestReserveSpacesAfterABurst(t *testing.T) {
	r := New(100, 2) // every 10 ms, burst 2
	t0 := time.Unix(1000, 0)
	for i, w := range []time.Duration{0, 0, 0, 10, 20, 30} {
		if got := r.Reserve(t0).Sub(t0); got != w*time.Millisecond {
			t.Fatalf("reservation %d starts after %v, want %v ms", i, got, w)
		}
	}
	later := t0.Add(time.Second) // idle for a while
	for i := 0; i < 3; i++ {
		if got := r.Reserve(later); !got.Equal(later) {
			t.Fatalf("after idling, reservation %d waits %v", i, got.Sub(later))
		}
	}
	if got := r.Reserve(later).Sub(later); got != 10*time.Millisecond {
		t.Fatalf("burst after idling exceeded: waits %v", got)
	}
}
