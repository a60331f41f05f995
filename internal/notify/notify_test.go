package notify

import "testing"

// TestSetCoalescesAndCancels: a signal per subscriber, many Notify calls
// coalesce into one pending signal, Notify never blocks on a reader that
// does not read, and a cancelled subscriber hears nothing more.
func TestSetCoalescesAndCancels(t *testing.T) {
	var s Set
	a, cancelA := s.Subscribe()
	b, cancelB := s.Subscribe()
	defer cancelB()
	for range 100 {
		s.Notify() // b is never read here: Notify must not block
	}
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("pending signals a %d b %d, want one each", len(a), len(b))
	}
	<-a
	if len(a) != 0 {
		t.Fatal("a second signal was pending")
	}
	cancelA()
	s.Notify()
	if len(a) != 0 {
		t.Fatal("a cancelled subscriber was signalled")
	}
	<-b
	s.Notify()
	if len(b) != 1 {
		t.Fatalf("the remaining subscriber has %d pending signals, want 1", len(b))
	}
}
