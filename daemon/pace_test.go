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

// A health probe is answered while the WebAPI's lane is full.
func TestSideLaneAnswersWhileTheMainLaneIsFull(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	main := newPacer(1000, 10, 1, 5*time.Second).wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	side := newPacer(sideRate, sideBurst, sideInFlight, sideMaxWait).wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	h := sideLane(main, side, "/healthz")
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/webapi/v1/Status", nil))
	<-started
	done := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		done <- rec.Code
	}()
	select {
	case code := <-done:
		if code != http.StatusNoContent {
			t.Fatalf("health probe: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the health probe waited behind the WebAPI's lane")
	}
}
