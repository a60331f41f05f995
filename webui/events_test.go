package webui

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// feed is a status document that a test changes, with the notification
// the controller would send.
type feed struct {
	mu      sync.Mutex
	doc     string
	changed chan struct{}
}

func (f *feed) status() []byte { f.mu.Lock(); defer f.mu.Unlock(); return []byte(f.doc) }
func (f *feed) set(doc string) {
	f.mu.Lock()
	f.doc = doc
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// TestEventsPushTheStatusDocument: a client gets the document at once
// and again on each change, each event's data exactly the document; the
// stream needs no credentials, and streams beyond MaxStreams are refused.
func TestEventsPushTheStatusDocument(t *testing.T) {
	f := &feed{doc: `{"state":"idle"}`, changed: make(chan struct{}, 1)}
	u, err := New(Options{
		Status: f.status, Subscribe: func() (<-chan struct{}, func()) { return f.changed, func() {} },
		Login: func(*http.Request) error { return nil }, NeedsCredentials: func(*http.Request) bool { return true },
		Heartbeat: time.Hour, MaxStreams: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				if event != "status" {
					t.Errorf("event %q, want status", event)
				}
				return d
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	if d := next(); d != `{"state":"idle"}` {
		t.Errorf("first event %q", d)
	}
	f.set(`{"state":"connected"}`)
	if d := next(); d != `{"state":"connected"}` {
		t.Errorf("after the change %q", d)
	}
	// A second stream is over the cap.
	r2, err := http.Get(srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream over the cap: %d", r2.StatusCode)
	}
	// Writes are not taken here.
	r3, err := http.Post(srv.URL+"/api/v1/events", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r3.Body.Close()
	if r3.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/events: %d", r3.StatusCode)
	}
}

func TestHistoryKeepsTheLastN(t *testing.T) {
	h := NewHistory(3)
	for i := range 5 {
		h.Add(Sample{PowerW: float64(i)})
	}
	got := h.Samples()
	if len(got) != 3 || got[0].PowerW != 2 || got[2].PowerW != 4 {
		t.Errorf("samples %+v, want 2, 3, 4", got)
	}
}

func TestEventLogNamesWhatChanged(t *testing.T) {
	l := NewEventLog(4)
	at := time.Unix(0, 0)
	s := statusFields{State: "idle", Reason: "no vehicle connected", LimitSource: "configuration", At: at}
	l.Observe(s)
	s.State, s.VehicleConnected, s.Reason = "connected", true, ""
	l.Observe(s)
	s.State, s.ChargerStarted = "charging", true
	l.Observe(s)
	s.LimitSource, s.CurrentLimit, s.Reason = "limiter", 8, "house at its limit"
	l.Observe(s)
	s.Fault, s.State, s.Reason = "weld", "relay_error", "contactor welded — needs Reset"
	l.Observe(s)
	var texts []string
	for _, e := range l.Events() {
		texts = append(texts, e.Kind+": "+e.Text)
	}
	want := []string{
		"session: session started", // the oldest kept of four
		"state: charging",
		"limit: limit 8.0 A from limiter: house at its limit",
		"fault: fault: weld: contactor welded — needs Reset",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
}
