package discovery

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type published struct {
	topic    string
	payload  []byte
	retained bool
}

// recorder is a Publisher that keeps what it was given and models the
// broker's retained store.
type recorder struct {
	mu       sync.Mutex
	log      []published
	retained map[string][]byte
}

func newRecorder() *recorder { return &recorder{retained: map[string][]byte{}} }

func (r *recorder) Publish(topic string, payload []byte, retained bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, published{topic, bytes.Clone(payload), retained})
	if retained {
		if len(payload) == 0 {
			delete(r.retained, topic)
		} else {
			r.retained[topic] = bytes.Clone(payload)
		}
	}
}

// take returns and forgets what was published since the last take.
func (r *recorder) take() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

func (r *recorder) retainedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.retained)
}

func mustBuild(t *testing.T, d Device, o Options) []Message {
	t.Helper()
	msgs, err := Build(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestAnnounceOnlyChanges(t *testing.T) {
	rec := newRecorder()
	a := NewAnnouncer(rec, zerolog.Nop())
	msgs := mustBuild(t, testDevice(), testOptions())

	a.Announce(msgs)
	got := rec.take()
	if len(got) != len(msgs) {
		t.Fatalf("first announce published %d, want %d", len(got), len(msgs))
	}
	for i, p := range got {
		if !p.retained || p.topic != msgs[i].Topic || !bytes.Equal(p.payload, msgs[i].Payload) {
			t.Fatalf("message %d: %s retained=%v, want %s in order, retained", i, p.topic, p.retained, msgs[i].Topic)
		}
	}

	a.Announce(mustBuild(t, testDevice(), testOptions()))
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("unchanged announce published %d messages, first %s", len(got), got[0].topic)
	}

	// A firmware update changes sw_version in every payload.
	d := testDevice()
	d.SWVersion = "1.2.4"
	a.Announce(mustBuild(t, d, testOptions()))
	if got := rec.take(); len(got) != len(msgs) {
		t.Fatalf("version change published %d, want %d", len(got), len(msgs))
	}

	// A new hardware maximum changes exactly the two current numbers.
	d.HardwareMaxCurrent = 16
	a.Announce(mustBuild(t, d, testOptions()))
	got = rec.take()
	if len(got) != 2 || !bytes.Contains([]byte(got[0].topic+got[1].topic), []byte("/charge_current/")) ||
		!bytes.Contains([]byte(got[0].topic+got[1].topic), []byte("/boost_current/")) {
		t.Fatalf("max current change published %v", topics(got))
	}
}

func topics(ps []published) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.topic)
	}
	return out
}

func TestAnnounceRemovesMeter2(t *testing.T) {
	rec := newRecorder()
	a := NewAnnouncer(rec, zerolog.Nop())
	o := testOptions()
	full := mustBuild(t, testDevice(), o)
	a.Announce(full)
	rec.take()

	o.Meter2Type = 0
	a.Announce(mustBuild(t, testDevice(), o))
	got := rec.take()
	want := countTopics(full, "/meter2_")
	if want == 0 || len(got) != want {
		t.Fatalf("meter 2 set to none: %d messages %v, want %d removals", len(got), topics(got), want)
	}
	for _, p := range got {
		if len(p.payload) != 0 || !p.retained || !bytes.Contains([]byte(p.topic), []byte("/meter2_")) {
			t.Errorf("%s: payload %q retained=%v, want an empty retained removal of a meter 2 entity", p.topic, p.payload, p.retained)
		}
	}
	if n := rec.retainedCount(); n != len(full)-want {
		t.Errorf("broker keeps %d configs, want %d", n, len(full)-want)
	}

	// Meter 2 back: its entities are published again, nothing else.
	o.Meter2Type = 1
	a.Announce(mustBuild(t, testDevice(), o))
	if got := rec.take(); len(got) != want {
		t.Fatalf("meter 2 back: %d messages, want %d", len(got), want)
	}
}

func TestAnnounceDisabledRemovesAll(t *testing.T) {
	rec := newRecorder()
	a := NewAnnouncer(rec, zerolog.Nop())
	a.Announce(mustBuild(t, testDevice(), testOptions()))
	rec.take()
	o := testOptions()
	o.Enabled = false
	a.Announce(mustBuild(t, testDevice(), o))
	for _, p := range rec.take() {
		if len(p.payload) != 0 || !p.retained {
			t.Errorf("%s: not a removal", p.topic)
		}
	}
	if n := rec.retainedCount(); n != 0 {
		t.Fatalf("%d configs left on the broker after disabling", n)
	}
	a.Reannounce()
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("re-announce after disabling published %v", topics(got))
	}
}

func TestAdoptRemovesLeftovers(t *testing.T) {
	rec := newRecorder()
	a := NewAnnouncer(rec, zerolog.Nop())
	msgs := mustBuild(t, testDevice(), testOptions())
	stale := "homeassistant/sensor/evse_abc123/old_entity/config"
	a.Adopt(stale, []byte(`{"name":"old"}`))
	a.Adopt(msgs[0].Topic, msgs[0].Payload)            // still wanted, unchanged
	a.Adopt(msgs[1].Topic, []byte(`{"name":"older"}`)) // still wanted, outdated
	a.Adopt("homeassistant/sensor/evse_abc123/gone/config", nil)

	a.Announce(msgs)
	got := rec.take()
	if len(got) != len(msgs) {
		t.Fatalf("published %d, want %d (all but the unchanged one, plus one removal)", len(got), len(msgs))
	}
	last := got[len(got)-1]
	if last.topic != stale || len(last.payload) != 0 {
		t.Errorf("last message %s %q, want the removal of %s", last.topic, last.payload, stale)
	}
	for _, p := range got {
		if p.topic == msgs[0].Topic {
			t.Errorf("unchanged adopted config %s republished", p.topic)
		}
	}
	if f := Filter("", "abc123"); f != "homeassistant/+/evse_abc123/+/config" {
		t.Errorf("Filter = %q", f)
	}
}

// fakeTimer hands the Announcer a channel the test fires.
type fakeTimer struct {
	mu    sync.Mutex
	asked []time.Duration
	ch    chan time.Time
}

func (f *fakeTimer) after(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, d)
	return f.ch
}

func waitClosed(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("re-announce did not finish")
	}
}

func TestReannounceOnHABirth(t *testing.T) {
	rec := newRecorder()
	ft := &fakeTimer{ch: make(chan time.Time, 1)}
	a := NewAnnouncer(rec, zerolog.Nop(),
		WithJitter(func() time.Duration { return 1234 * time.Millisecond }), WithAfter(ft.after))
	msgs := mustBuild(t, testDevice(), testOptions())
	a.Announce(msgs)
	rec.take()
	ctx := context.Background()

	off := make(chan struct{})
	a.HandleHAStatus(ctx, []byte("offline"), off)
	waitClosed(t, off)

	done := make(chan struct{})
	a.HandleHAStatus(ctx, []byte("online"), done)
	again := make(chan struct{})
	a.HandleHAStatus(ctx, []byte("online\n"), again) // a second birth while one is pending
	waitClosed(t, again)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("published %d before the delay ran out", len(got))
	}
	ft.mu.Lock()
	asked := append([]time.Duration(nil), ft.asked...)
	ft.mu.Unlock()
	if len(asked) != 1 || asked[0] != 1234*time.Millisecond {
		t.Fatalf("timers asked %v, want one of the injected jitter", asked)
	}

	ft.ch <- time.Time{}
	waitClosed(t, done)
	got := rec.take()
	if len(got) != len(msgs) {
		t.Fatalf("re-announce published %d, want %d", len(got), len(msgs))
	}
	for i, p := range got {
		if p.topic != msgs[i].Topic || !p.retained || !bytes.Equal(p.payload, msgs[i].Payload) {
			t.Fatalf("re-announce message %d: %s", i, p.topic)
		}
	}

	// The next birth schedules a new re-announce; cancelling drops it.
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan struct{})
	a.HandleHAStatus(cctx, []byte("online"), cancelled)
	cancel()
	waitClosed(t, cancelled)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("cancelled re-announce published %d", len(got))
	}
}

func TestDefaultJitterBounded(t *testing.T) {
	a := NewAnnouncer(newRecorder(), zerolog.Nop())
	seen := map[time.Duration]bool{}
	for range 200 {
		j := a.jitter()
		if j < 0 || j >= DefaultMaxJitter {
			t.Fatalf("jitter %v outside [0, %v)", j, DefaultMaxJitter)
		}
		seen[j] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter is not random")
	}
}
