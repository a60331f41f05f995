package daemon

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacerBoundsRequestsInFlight(t *testing.T) {
	p := newPacer(1_000_000, 1000, 2, 5*time.Second)
	release := make(chan struct{})
	var in, maxIn atomic.Int32
	entered := make(chan struct{}, 3)
	h := p.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := in.Add(1)
		for m := maxIn.Load(); n > m && !maxIn.CompareAndSwap(m, n); m = maxIn.Load() {
		}
		entered <- struct{}{}
		<-release
		in.Add(-1)
	}))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("two requests did not start")
		}
	}
	select {
	case <-entered:
		t.Fatal("a third request ran while two were in flight")
	case <-time.After(100 * time.Millisecond): // absence can only be watched for a while
	}
	close(release)
	wg.Wait()
	if maxIn.Load() != 2 {
		t.Fatalf("at most %d in flight, want 2", maxIn.Load())
	}
}

func TestPacerAnswersBusyAfterMaxWait(t *testing.T) {
	p := newPacer(1_000_000, 1000, 1, 50*time.Millisecond)
	release := make(chan struct{})
	started := make(chan struct{})
	h := p.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	<-started
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	close(release)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("second request: %d %q, want 503 with Retry-After", rec.Code, rec.Body.String())
	}
}
