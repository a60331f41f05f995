package broker

import (
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// A client publishing faster than the rate is held back after its burst;
// another client keeps its own allowance, and a reconnecting client
// starts afresh.
func TestPaceHookHoldsBackAFloodingClient(t *testing.T) {
	h := newPaceHook(100, 2) // every 10 ms after 2
	var slept time.Duration
	h.sleep = func(d time.Duration) { slept += d }
	flood := &mqtt.Client{ID: "flood"}
	pk := packets.Packet{TopicName: "t"}
	for i := 0; i < 13; i++ {
		if _, err := h.OnPublish(flood, pk); err != nil {
			t.Fatal(err)
		}
	}
	// 3 free, then 10 spaced by 10 ms: held back 10+20+…+100 ms, less the
	// microseconds the loop itself took.
	if want := 540 * time.Millisecond; slept < want {
		t.Fatalf("flooding client held back %v in all, want ≥ %v", slept, want)
	}
	slept = 0
	other := &mqtt.Client{ID: "other"}
	if _, err := h.OnPublish(other, pk); err != nil || slept != 0 {
		t.Fatalf("another client waited %v (%v)", slept, err)
	}
	h.OnDisconnect(flood, nil, false)
	if _, err := h.OnPublish(flood, pk); err != nil || slept != 0 {
		t.Fatalf("a reconnected client waited %v (%v)", slept, err)
	}
	inline := &mqtt.Client{ID: "inline"}
	inline.Net.Inline = true
	for i := 0; i < 10; i++ {
		_, _ = h.OnPublish(inline, pk)
	}
	if slept != 0 {
		t.Fatalf("the inline client was paced: %v", slept)
	}
}
