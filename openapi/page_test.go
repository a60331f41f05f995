package openapi

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/webui"
)

var errWrong = errors.New("wrong credentials")

// TestPageAnswersValidate: the page's endpoints and the event stream's
// data answer as described.
func TestPageAnswersValidate(t *testing.T) {
	doc, router := load(t)
	_, _, status := readGolden(t, "../webapi/testdata/extended_charging.golden")
	changed := make(chan struct{}, 1)
	ui, err := webui.New(webui.Options{
		Status:           func() []byte { return status },
		Subscribe:        func() (<-chan struct{}, func()) { return changed, func() {} },
		Login:            func(*http.Request) error { return errWrong },
		BadCredentials:   errWrong,
		NeedsCredentials: func(*http.Request) bool { return true },
		SampleEvery:      time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ui.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Run has taken its first sample and logged the first event once the
	// log is not empty.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/api/v1/log")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if strings.Contains(b.String(), "daemon running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no first event: %s", b.String())
		}
		select {
		case <-time.After(10 * time.Millisecond): // Run has no ready signal; poll its output
		case <-ctx.Done():
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/history"}, {"GET", "/api/v1/log"}, {"GET", "/api/v1/session"},
		{"POST", "/api/v1/login"}, {"POST", "/api/v1/logout"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if err := validate(t, doc, router, c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), []byte(b.String())); err != nil {
			t.Errorf("%s %s: %d %s: %v", c.method, c.path, resp.StatusCode, b.String(), err)
		}
	}

	// The stream: its first event's data is the status document, which
	// validates as ExtendedStatus.
	resp, err := http.Get(srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := validate(t, doc, router, "GET", "/api/v1/status", 200, "application/json", []byte(data)); err != nil {
				t.Errorf("event data: %v", err)
			}
			return
		}
	}
	t.Fatal("stream ended without an event")
}
