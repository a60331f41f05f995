package tick

import (
	"testing"
	"time"
)

const period = 10 * time.Millisecond

func newTest(t *testing.T) Clock {
	c, err := New(period)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitTick(t *testing.T, c Clock) Event {
	t.Helper()
	for {
		ev, err := c.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Tick {
			return ev
		}
	}
}

func TestTicksFollowTheSchedule(t *testing.T) {
	c := newTest(t)
	first := waitTick(t, c)
	if time.Now().Before(first.Due) {
		t.Fatalf("tick delivered before it was due (%v)", time.Until(first.Due))
	}
	next := waitTick(t, c)
	if got := next.Due.Sub(first.Due); got != time.Duration(first.Missed+1)*period {
		t.Fatalf("due instants %v apart after %d missed, want whole periods", got, first.Missed)
	}
}

// A waiter that comes late is told how many ticks it missed, and is
// measured against the earliest tick it serves.
func TestLateWaiterSeesMissedTicks(t *testing.T) {
	c := newTest(t)
	a := waitTick(t, c)
	time.Sleep(5*period + period/2) // the waiter is busy elsewhere, not synchronising
	b := waitTick(t, c)
	if b.Missed < 4 {
		t.Fatalf("missed %d ticks after 5.5 periods away, want ≥ 4", b.Missed)
	}
	if got := b.Due.Sub(a.Due); got != time.Duration(a.Missed+1)*period {
		t.Fatalf("due %v after the previous tick, want the next period: the earliest unserved", got)
	}
	if late := time.Since(b.Due); late < 4*period {
		t.Fatalf("late by %v after 5.5 periods away", late)
	}
	c2 := waitTick(t, c)
	if c2.Due.Sub(b.Due) != time.Duration(b.Missed+1)*period {
		t.Fatalf("next tick due %v after, want %d periods", c2.Due.Sub(b.Due), b.Missed+1)
	}
}

func TestWakeBeforeWaitReturnsAtOnce(t *testing.T) {
	c := newTest(t)
	c.Wake()
	c.Wake() // wakes coalesce
	ev, err := c.Wait()
	if err != nil || ev.Tick {
		t.Fatalf("Wait after Wake = %+v, %v; want a wake", ev, err)
	}
	if ev := waitTick(t, c); !ev.Tick {
		t.Fatal("no tick after the wake")
	}
}

func TestWakeInterruptsAWait(t *testing.T) {
	c, err := New(time.Hour) // no tick will come
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan Event, 1)
	go func() {
		ev, _ := c.Wait()
		got <- ev
	}()
	// Wake repeatedly until the waiter answers: whether the first Wake
	// lands before or during Wait, it must return, and only once.
	deadline := time.After(5 * time.Second)
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for {
		c.Wake()
		select {
		case ev := <-got:
			if ev.Tick {
				t.Fatal("woken Wait reported a tick")
			}
			return
		case <-tk.C:
		case <-deadline:
			t.Fatal("Wake did not interrupt Wait within 5 s")
		}
	}
}

func TestClosedClockRefusesWait(t *testing.T) {
	c, err := New(period)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Wait(); err != ErrClosed {
		t.Fatalf("Wait after Close: %v, want ErrClosed", err)
	}
	if _, err := New(0); err == nil {
		t.Fatal("a zero period was accepted")
	}
}

// Waiting for a tick allocates nothing: the loop waits 100 times a
// second, and before, each Wait put its read closure on the heap.
func TestWaitDoesNotAllocate(t *testing.T) {
	c, err := New(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitTick(t, c) // the fd's first wait registers it with the poller
	if n := testing.AllocsPerRun(50, func() {
		if _, err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Wait allocates %v times", n)
	}
}
