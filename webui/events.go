package webui

import (
	"bytes"
	"net/http"
	"time"
)

// serveEvents streams the /api/v1/status document as Server-Sent Events:
// one "status" event at once, one on every change the controller reports,
// and the same document again every Heartbeat while nothing changes. Each
// event's data is exactly GET /api/v1/status's body (one line of JSON),
// so a script can use the stream as it uses the endpoint. Reading it
// needs no credentials, like every GET of the WebAPI.
func (u *UI) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	select {
	case u.streams <- struct{}{}:
		defer func() { <-u.streams }()
	default:
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many open event streams"})
		return
	}
	changed, stop := u.o.Subscribe()
	defer stop()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The server's WriteTimeout bounds ordinary answers; a stream extends
	// its deadline before each event instead, so a stalled reader is
	// still dropped.
	send := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(2*u.o.Heartbeat + 5*time.Second))
		var b bytes.Buffer
		b.WriteString("event: status\ndata: ")
		b.Write(bytes.ReplaceAll(u.o.Status(), []byte("\n"), nil))
		b.WriteString("\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	if !send() {
		return
	}
	beat := time.NewTicker(u.o.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-beat.C:
		}
		if !send() {
			return
		}
	}
}
