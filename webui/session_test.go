package webui

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var errBad = errors.New("bad credentials")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestUI(t *testing.T, clk *clock) *UI {
	t.Helper()
	u, err := New(Options{
		Status:    func() []byte { return []byte(`{"state":"idle"}`) },
		Subscribe: func() (<-chan struct{}, func()) { return make(chan struct{}), func() {} },
		Login: func(r *http.Request) error {
			if r.Header.Get("Authorization") == "Bearer right" {
				return nil
			}
			return errBad
		},
		BadCredentials:   errBad,
		NeedsCredentials: func(*http.Request) bool { return true },
		Now:              clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func login(u *UI, remote, auth string, useTLS bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login", nil)
	req.RemoteAddr = remote
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if useTLS {
		req.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	u.serveLogin(w, req)
	return w
}

// TestLoginSetsAStrictCookie: the session is an HttpOnly, SameSite=Strict
// cookie, Secure only over TLS (a charger on plain HTTP must still log
// in), and it authorises exactly until it is logged out or expires.
func TestLoginSetsAStrictCookie(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	u := newTestUI(t, clk)
	for _, useTLS := range []bool{false, true} {
		w := login(u, "192.168.1.5:1000", "Bearer right", useTLS)
		if w.Code != 200 {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies: %v", cs)
		}
		c := cs[0]
		if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != useTLS || c.Path != "/" || len(c.Value) != 64 {
			t.Errorf("TLS %v: cookie %+v", useTLS, c)
		}
		req := httptest.NewRequest(http.MethodPost, "/webapi/v1/EvseCtrl", nil)
		req.AddCookie(c)
		if !u.Session(req) {
			t.Error("the fresh session does not authorise")
		}
		clk.add(SessionTTL)
		if u.Session(req) {
			t.Error("an expired session still authorises")
		}
	}
	w := login(u, "192.168.1.5:1000", "Bearer right", false)
	c := w.Result().Cookies()[0]
	req := httptest.NewRequest(http.MethodPost, "/api/v1/logout", nil)
	req.AddCookie(c)
	u.serveLogout(httptest.NewRecorder(), req)
	if u.Session(req) {
		t.Error("a logged-out session still authorises")
	}
	forged := httptest.NewRequest(http.MethodPost, "/", nil)
	forged.AddCookie(&http.Cookie{Name: CookieName, Value: strings.Repeat("a", 64)})
	if u.Session(forged) {
		t.Error("a made-up session authorises")
	}
}

// TestLoginThrottle: failures hold the failing client back, doubling, up
// to MaxBackoff; the hold is checked before the credentials (no oracle);
// another client is never held by them, and after the wait the right
// credentials get in.
func TestLoginThrottle(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	u := newTestUI(t, clk)
	const attacker, user = "192.168.1.66:1", "192.168.1.5:1"
	waits := []time.Duration{}
	for i := 0; i < 9; i++ {
		if w := login(u, attacker, "Bearer guess", false); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, w.Code, w.Body)
		}
		d := u.sessions.Wait(netipOf(attacker))
		waits = append(waits, d)
		// While held, even the right token is not judged.
		if w := login(u, attacker, "Bearer right", false); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Fatalf("held client: %d %s", w.Code, w.Body)
		}
		// Another client is not held.
		if w := login(u, user, "Bearer right", false); w.Code != 200 {
			t.Fatalf("another client was held: %d %s", w.Code, w.Body)
		}
		clk.add(d)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Errorf("wait after failure %d: %v, want %v", i+1, waits[i], want[i]*time.Second)
		}
	}
	if w := login(u, attacker, "Bearer right", false); w.Code != 200 {
		t.Fatalf("after the wait the right token: %d %s", w.Code, w.Body)
	}
	if d := u.sessions.Wait(netipOf(attacker)); d != 0 {
		t.Errorf("a success did not clear the failures: wait %v", d)
	}
	// IPv6: the whole /64 counts as one client.
	login(u, "[2001:db8::1]:1", "Bearer guess", false)
	if w := login(u, "[2001:db8::2]:1", "Bearer right", false); w.Code != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64: %d", w.Code)
	}
}
