package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// CookieName is the page's session cookie.
const CookieName = "evse_session"

// Session and throttle bounds.
const (
	SessionTTL    = 12 * time.Hour
	MaxSessions   = 64   // the oldest is dropped beyond this
	MaxThrottled  = 1024 // client addresses remembered by the throttle
	FirstBackoff  = time.Second
	MaxBackoff    = 60 * time.Second
	ForgetFailure = 15 * time.Minute // a client quiet this long starts afresh
)

// Sessions are the page's logins: random ids (kept hashed) with an
// expiry, and the throttle of failed logins per client.
type Sessions struct {
	now   func() time.Time
	mu    sync.Mutex
	ids   map[[32]byte]time.Time // sha256(id) → expiry
	fails map[netip.Prefix]failure
}

type failure struct {
	n     int
	until time.Time // no attempt from this client is judged before
	last  time.Time
}

// NewSessions returns an empty store on the given clock.
func NewSessions(now func() time.Time) *Sessions {
	return &Sessions{now: now, ids: map[[32]byte]time.Time{}, fails: map[netip.Prefix]failure{}}
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

// clientKey is what the throttle counts by: the address, or its /64 for
// IPv6 (one host may use any address of its /64).
func clientKey(a netip.Addr) netip.Prefix {
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// Wait reports how long the client must wait before its next login
// attempt is judged; 0 means now.
func (s *Sessions) Wait(a netip.Addr) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.fails[clientKey(a)]
	if !ok {
		return 0
	}
	return max(f.until.Sub(s.now()), 0)
}

// Failed counts a wrong login of the client: its next attempt waits
// FirstBackoff, doubling with each failure up to MaxBackoff.
func (s *Sessions) Failed(a netip.Addr) time.Duration {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := clientKey(a)
	f := s.fails[k]
	if now.Sub(f.last) > ForgetFailure {
		f = failure{}
	}
	f.n++
	d := MaxBackoff
	if f.n < 8 {
		d = min(FirstBackoff<<(f.n-1), MaxBackoff)
	}
	f.until, f.last = now.Add(d), now
	if _, known := s.fails[k]; !known && len(s.fails) >= MaxThrottled {
		for old, of := range s.fails { // forget the quietest client
			if now.Sub(of.last) > ForgetFailure || len(s.fails) >= MaxThrottled {
				delete(s.fails, old)
				break
			}
		}
	}
	s.fails[k] = f
	return d
}

// Succeeded clears the client's failures.
func (s *Sessions) Succeeded(a netip.Addr) {
	s.mu.Lock()
	delete(s.fails, clientKey(a))
	s.mu.Unlock()
}

func remote(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
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
// Secure over TLS), so the page never keeps the token itself.
//
// The throttle is per client address and is consulted before the
// credentials are: a client that just failed waits FirstBackoff, doubling
// to MaxBackoff, before its next attempt is judged at all. Judging first
// and refusing only wrong ones would tell a guesser which guess was right
// at full speed. A client that holds the credentials is never locked out:
// failures elsewhere never delay it, its own wait is at most MaxBackoff,
// and the WebAPI accepts its token or Basic credentials directly.
func (u *UI) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	a := remote(r)
	if d := u.sessions.Wait(a); d > 0 {
		secs := int((d + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many failed logins: try again in " + strconv.Itoa(secs) + " s"})
		return
	}
	err := u.o.Login(r)
	switch {
	case err == nil:
	case u.o.BadCredentials != nil && errors.Is(err, u.o.BadCredentials):
		d := u.sessions.Failed(a)
		u.log.Warn().Str("remote", r.RemoteAddr).Dur("next_after", d).Msg("login failed")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong credentials"})
		return
	default:
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return
	}
	u.sessions.Succeeded(a)
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
