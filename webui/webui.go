// Package webui serves the charger's local page at / (embedded, no
// internet needed), its live status stream at /api/v1/events, the last
// hour's samples at /api/v1/history, a log of recent events at
// /api/v1/log, and the page's login (a session cookie that stands in for
// the WebAPI's credentials). The page writes through the WebAPI's own
// endpoints, so every write meets the same command table and guard.
//
// The package knows the charger only through the /api/v1/status document
// and a change notification, so it does not depend on how the daemon
// keeps its snapshots.
package webui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

//go:embed static
var staticFS embed.FS

// Static returns the page's files (index.html, app.js, app.css), for the
// page-weight benchmark.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Options wire the page to the daemon.
type Options struct {
	// Status returns the /api/v1/status document (webapi.Server.StatusJSON).
	Status func() []byte
	// Subscribe returns a channel that receives (coalesced) when the
	// status changes, and a function to stop
	// (controller.Controller.Subscribe).
	Subscribe func() (<-chan struct{}, func())
	// Login checks a login request's Authorization exactly as a write's
	// credentials are checked (webapi.Server.Login); it returns
	// webapi.ErrBadCredentials (counted by the throttle) or another error
	// (refused without counting).
	Login func(r *http.Request) error
	// BadCredentials is the error of Login that means wrong credentials.
	BadCredentials error
	// NeedsCredentials reports whether writes from r's client need
	// credentials (webapi.Server.NeedsCredentials).
	NeedsCredentials func(r *http.Request) bool
	Now              func() time.Time // nil: time.Now
	Log              zerolog.Logger
	// SampleEvery is the chart's sampling period (0: 10 s); History
	// keeps the last hour.
	SampleEvery time.Duration
	// Heartbeat is how often the event stream repeats the document when
	// nothing changed (0: 15 s), so a client sees a dead link.
	Heartbeat time.Duration
	// MaxStreams bounds the open event streams (0: 32).
	MaxStreams int
}

// UI is the page's http.Handler.
type UI struct {
	o        Options
	sessions *Sessions
	history  *History
	events   *EventLog
	streams  chan struct{} // a slot per open event stream
	static   http.Handler
	log      zerolog.Logger
	// hold delays a failed login's answer (a timer; tests record it).
	hold     func(ctx context.Context, d time.Duration)
	slotWait time.Duration
}

// sleepCtx waits d or until ctx ends (the client left).
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// New checks the options and returns the page.
func New(o Options) (*UI, error) {
	if o.Status == nil || o.Subscribe == nil || o.Login == nil || o.NeedsCredentials == nil {
		return nil, errors.New("webui: Status, Subscribe, Login and NeedsCredentials are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 10 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 32
	}
	u := &UI{
		o:        o,
		sessions: NewSessions(o.Now),
		history:  NewHistory(int(time.Hour / o.SampleEvery)),
		events:   NewEventLog(50),
		streams:  make(chan struct{}, o.MaxStreams),
		static:   http.FileServerFS(Static()),
		log:      o.Log.With().Str("component", "webui").Logger(),
		hold:     sleepCtx,
		slotWait: SlotWait,
	}
	return u, nil
}

// Session reports whether r carries a live session cookie
// (webapi.Options.Session).
func (u *UI) Session(r *http.Request) bool { return u.sessions.Valid(r) }

// Mux is where Register adds routes: an *http.ServeMux, or the daemon's
// registrar that also checks its list of routes.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the page's routes (Patterns) to mux. The WebAPI keeps
// every other path.
func (u *UI) Register(mux Mux) {
	hs := []http.HandlerFunc{u.serveFile("index.html"), u.serveFile("app.js"), u.serveFile("app.css"),
		u.serveEvents, u.serveHistory, u.serveLog, u.serveSession, u.serveLogin, u.serveLogout}
	for i, p := range Patterns {
		mux.Handle(p, hs[i])
	}
}

// Patterns are the mux patterns Register adds, in order.
var Patterns = []string{"GET /{$}", "GET /app.js", "GET /app.css", "/api/v1/events", "/api/v1/history", "/api/v1/log",
	"/api/v1/session", "/api/v1/login", "/api/v1/logout"}

// serveFile serves one embedded file with headers that keep the page to
// itself: no script, style or connection beyond this origin.
func (u *UI) serveFile(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		if name == "index.html" {
			// FileServer redirects /index.html to /; serve it directly.
			http.ServeFileFS(w, r, Static(), name)
			return
		}
		u.static.ServeHTTP(w, r2)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed; use " + allow})
}
