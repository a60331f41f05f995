package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"
)

// CookieName is the page's session cookie.
const CookieName = "evse_session"

// Session and throttle bounds.
const (
	SessionTTL  = 12 * time.Hour
	MaxSessions = 64 // the oldest is dropped beyond this
)

// Sessions are the page's logins: random ids (kept hashed) with an
// expiry, and the throttle of failed logins per client.
type Sessions struct {
	now func() time.Time
	mu  sync.Mutex
	ids map[[32]byte]time.Time // sha256(id) → expiry
}

// NewSessions returns an empty store on the given clock.
func NewSessions(now func() time.Time) *Sessions {
	return &Sessions{now: now, ids: map[[32]byte]time.Time{}}
}

// Create returns a new session id.
func (s *Sessions) Create() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	id := hex.EncodeToString(b[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.ids {
		if !now.Before(exp) {
			delete(s.ids, k)
		}
	}
	for len(s.ids) >= MaxSessions {
		var oldest [32]byte
		var first time.Time
		for k, exp := range s.ids {
			if first.IsZero() || exp.Before(first) {
				oldest, first = k, exp
			}
		}
		delete(s.ids, oldest)
	}
	s.ids[sha256.Sum256([]byte(id))] = now.Add(SessionTTL)
	return id
}

// Valid reports whether r carries a live session cookie.
func (s *Sessions) Valid(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) != 64 {
		return false
	}
	k := sha256.Sum256([]byte(c.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.ids[k]
	return ok && s.now().Before(exp)
}

// End forgets r's session, if any.
func (s *Sessions) End(r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		s.mu.Lock()
		delete(s.ids, sha256.Sum256([]byte(c.Value)))
		s.mu.Unlock()
	}
}

// serveSession tells the page whether it must log in before writing.
func (u *UI) serveSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{
		"needs_credentials": u.o.NeedsCredentials(r),
		"logged_in":         u.sessions.Valid(r),
	})
}

// serveLogin turns the WebAPI's credentials, sent once in the
// Authorization header, into a session cookie (HttpOnly, SameSite=Strict,
// Secure over TLS), so the page never keeps the token itself. Login
// judges them with the WebAPI's own throttle: the right credentials
// always get in, the answer to wrong ones is held (webapi's throttle).
func (u *UI) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	err := u.o.Login(r)
	switch {
	case err == nil:
	case u.o.BadCredentials != nil && errors.Is(err, u.o.BadCredentials):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong credentials"})
		return
	case u.o.Busy != nil && errors.Is(err, u.o.Busy):
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
		return
	default:
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: u.sessions.Create(), Path: "/",
		MaxAge: int(SessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil,
	})
	u.log.Info().Str("remote", r.RemoteAddr).Msg("page login")
	writeJSON(w, http.StatusOK, map[string]bool{"logged_in": true})
}

// serveLogout ends the session. Only a same-origin request may: a
// foreign page must not log the user out either.
func (u *UI) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused"})
		return
	}
	u.sessions.End(r)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]bool{"logged_in": false})
}
