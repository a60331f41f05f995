package bridge

import (
	"fmt"
	"testing"
)

func drainAll(o *outbox) []string {
	var got []string
	for {
		m, ok := o.next()
		if !ok {
			return got
		}
		got = append(got, fmt.Sprintf("%s=%s", m.topic, m.payload))
	}
}

func TestOutboxCoalescesRetainedInPlace(t *testing.T) {
	o := newOutbox(10)
	o.put(message{topic: "a", payload: []byte("1"), retained: true})
	o.put(message{topic: "r", payload: []byte("x"), retained: false})
	o.put(message{topic: "b", payload: []byte("1"), retained: true})
	o.put(message{topic: "a", payload: []byte("2"), retained: true})
	o.put(message{topic: "r", payload: []byte("y"), retained: false})
	got := fmt.Sprint(drainAll(o))
	if want := "[a=2 r=x b=1 r=y]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// Once popped, a topic queues afresh.
	o.put(message{topic: "a", payload: []byte("3"), retained: true})
	if got := fmt.Sprint(drainAll(o)); got != "[a=3]" {
		t.Fatalf("got %s", got)
	}
}

func TestOutboxBoundedAndCountsDrops(t *testing.T) {
	o := newOutbox(3)
	for i := range 5 {
		o.put(message{topic: "r", payload: []byte(fmt.Sprint(i))})
	}
	if o.put(message{topic: "r2"}) {
		t.Fatal("put into a full queue reported success")
	}
	if n := o.takeDropped(); n != 3 {
		t.Fatalf("dropped = %d, want 3", n)
	}
	if n := o.takeDropped(); n != 0 {
		t.Fatalf("dropped not reset: %d", n)
	}
	if got := fmt.Sprint(drainAll(o)); got != "[r=0 r=1 r=2]" {
		t.Fatalf("got %s", got)
	}
}

func TestOutboxRequeue(t *testing.T) {
	o := newOutbox(10)
	o.put(message{topic: "a", payload: []byte("1"), retained: true})
	o.put(message{topic: "b", payload: []byte("1"), retained: true})
	m, _ := o.next()
	o.requeue(m) // failed publish goes back to the front
	if got := fmt.Sprint(drainAll(o)); got != "[a=1 b=1]" {
		t.Fatalf("got %s", got)
	}

	o.put(message{topic: "a", payload: []byte("1"), retained: true})
	m, _ = o.next()
	o.put(message{topic: "a", payload: []byte("2"), retained: true})
	o.requeue(m) // superseded while in flight: dropped
	if got := fmt.Sprint(drainAll(o)); got != "[a=2]" {
		t.Fatalf("got %s", got)
	}

	o.put(message{topic: "r", payload: []byte("2")})
	o.requeue(message{topic: "r", payload: []byte("1")})
	if got := fmt.Sprint(drainAll(o)); got != "[r=1 r=2]" {
		t.Fatalf("got %s", got)
	}
}

func TestOutboxWakesOnce(t *testing.T) {
	o := newOutbox(10)
	for range 3 {
		o.put(message{topic: "r"})
	}
	select {
	case <-o.wake:
	default:
		t.Fatal("no wake signal after put")
	}
	select {
	case <-o.wake:
		t.Fatal("wake signal not coalesced")
	default:
	}
}
