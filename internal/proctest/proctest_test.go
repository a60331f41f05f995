package proctest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fatalTB records the first Fatalf and stops the goroutine, as testing.T
// does, so a test can check that a helper fails.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFailing runs fn with a fatalTB in its own goroutine and returns the
// failure message, "" if fn returned normally.
func runFailing(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(f) }()
	<-done
	return f.msg
}

func TestLogBufferConcurrentWrites(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&l, "%d\n", i)
				_ = l.String()
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(l.String(), "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
}

func TestWaitListeningReturnsOnceListening(t *testing.T) {
	l, err := net.Listen("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if msg := runFailing(t, func(tb testing.TB) {
		WaitListening(tb, "fake", l.Addr().String(), time.Second, make(chan struct{}), &LogBuffer{})
	}); msg != "" {
		t.Fatalf("failed on a listening port: %s", msg)
	}
}

func TestWaitListeningFailsWhenProcessExits(t *testing.T) {
	exited := make(chan struct{})
	close(exited)
	var logs LogBuffer
	fmt.Fprint(&logs, "bad config line 3")
	msg := runFailing(t, func(tb testing.TB) {
		WaitListening(tb, "fake", FreeAddr(t), 5*time.Second, exited, &logs)
	})
	if !strings.Contains(msg, "fake exited before listening") || !strings.Contains(msg, "bad config line 3") {
		t.Fatalf("failure message %q lacks the exit or the logs", msg)
	}
}

func TestWaitListeningFailsAfterDeadline(t *testing.T) {
	start := time.Now()
	msg := runFailing(t, func(tb testing.TB) {
		WaitListening(tb, "fake", FreeAddr(t), 200*time.Millisecond, make(chan struct{}), &LogBuffer{})
	})
	if !strings.Contains(msg, "not listening") {
		t.Fatalf("failure message %q, want a timeout", msg)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %v, want about 200ms", d)
	}
}
