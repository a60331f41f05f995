package webui

import (
	"context"
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
	// SlotWait bounds how long a login waits for its client's previous
	// attempt (held after a failure) before it is refused unjudged.
	SlotWait = MaxBackoff + 5*time.Second
)

// Sessions are the page's logins: random ids (kept hashed) with an
// expiry, and the throttle of failed logins per client.
type Sessions struct {
	now   func() time.Time
	mu    sync.Mutex
	ids   map[[32]byte]time.Time // sha256(id) → expiry
	fails map[netip.Prefix]failure
	slots map[netip.Prefix]*slot
}

// slot lets one login attempt per client be judged at a time.
type slot struct {
	ch    chan struct{} // holds a token while an attempt is judged or held
	users int           // attempts holding or waiting for it
}

type failure struct {
	n     int
	until time.Time // no attempt from this client is judged before
	last  time.Time
}

// NewSessions returns an empty store on the given clock.
func NewSessions(now func() time.Time) *Sessions {
	return &Sessions{now: now, ids: map[[32]byte]time.Time{}, fails: map[netip.Prefix]failure{}, slots: map[netip.Prefix]*slot{}}
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

// Wait reports how long the client's latest failure is held; 0 when it
// has none pending.
func (s *Sessions) Wait(a netip.Addr) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.fails[clientKey(a)]
	if !ok {
		return 0
	}
	return max(f.until.Sub(s.now()), 0)
}

// Failed counts a wrong login of the client and returns how long its
// answer is held: FirstBackoff, doubling with each failure up to
// MaxBackoff.
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

// acquire waits (at most wait, or until ctx ends) until no other login
// attempt of the client is being judged or held, and returns the
// function that frees the client's slot. ok is false when the attempt
// must be refused without being judged.
func (s *Sessions) acquire(ctx context.Context, a netip.Addr, wait time.Duration) (release func(), ok bool) {
	k := clientKey(a)
	s.mu.Lock()
	sl := s.slots[k]
	if sl == nil {
		if len(s.slots) >= MaxThrottled {
			s.mu.Unlock()
			return nil, false // that many clients logging in at once: refuse, judge nothing
		}
		sl = &slot{ch: make(chan struct{}, 1)}
		s.slots[k] = sl
	}
	sl.users++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		if sl.users--; sl.users == 0 {
			delete(s.slots, k)
		}
		s.mu.Unlock()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case sl.ch <- struct{}{}:
		return func() { <-sl.ch; done() }, true
	case <-t.C:
	case <-ctx.Done():
	}
	done()
	return nil, false
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
// Failed logins are throttled, and a client that holds the credentials is
// never locked out (OpenEVSE's rule). Every attempt is judged, so the
// right credentials always get in; a wrong one is answered only after the
// client's backoff (FirstBackoff, doubling to MaxBackoff), and a client
// has one attempt judged at a time, so a guesser gets one guess per
// backoff and learns nothing from a refusal (an attempt refused while
// another is held was never judged). Failures of other clients never
// delay anyone, and the WebAPI accepts a token or Basic credentials
// directly.
func (u *UI) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	a := remote(r)
	release, ok := u.sessions.acquire(r.Context(), a, u.slotWait)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(MaxBackoff/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many login attempts at once from this address: try again later"})
		return
	}
	defer release()
	err := u.o.Login(r)
	switch {
	case err == nil:
	case u.o.BadCredentials != nil && errors.Is(err, u.o.BadCredentials):
		d := u.sessions.Failed(a)
		u.log.Warn().Str("remote", r.RemoteAddr).Dur("held", d).Msg("login failed")
		u.hold(r.Context(), d)
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
