package webui

import (
	"context"
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

// TestLoginThrottle: a failure's answer is held, doubling up to
// MaxBackoff; the right credentials are judged and accepted at once,
// whatever failed before (a holder of the token is never locked out);
// another client is never held by them.
func TestLoginThrottle(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	u := newTestUI(t, clk)
	var held []time.Duration
	u.hold = func(_ context.Context, d time.Duration) { held = append(held, d); clk.add(d) }
	const attacker, user = "192.168.1.66:1", "192.168.1.5:1"
	for i := 0; i < 9; i++ {
		if w := login(u, attacker, "Bearer guess", false); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, w.Code, w.Body)
		}
		// Another client is not held.
		if w := login(u, user, "Bearer right", false); w.Code != 200 {
			t.Fatalf("another client was held: %d %s", w.Code, w.Body)
		}
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	if len(held) != len(want) {
		t.Fatalf("held %d answers, want %d", len(held), len(want))
	}
	for i := range want {
		if held[i] != want[i]*time.Second {
			t.Errorf("hold after failure %d: %v, want %v", i+1, held[i], want[i]*time.Second)
		}
	}
	// Right after nine failures the right token gets in at once.
	if w := login(u, attacker, "Bearer right", false); w.Code != 200 {
		t.Fatalf("the right token after failures: %d %s", w.Code, w.Body)
	}
	if len(held) != len(want) {
		t.Error("a successful login was held")
	}
	// A success clears the count: the next failure is held FirstBackoff.
	login(u, attacker, "Bearer guess", false)
	if got := held[len(held)-1]; got != FirstBackoff {
		t.Errorf("after a success the next failure is held %v, want %v", got, FirstBackoff)
	}
}

// TestLoginOneAttemptAtATime: while a client's failure is held, its next
// attempt waits for it (and is then judged: the right token gets in);
// an attempt that cannot get the client's turn in time is refused
// unjudged, so parallel guesses gain nothing. IPv6 counts by /64.
func TestLoginOneAttemptAtATime(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	u := newTestUI(t, clk)
	holding, release := make(chan struct{}), make(chan struct{})
	u.hold = func(context.Context, time.Duration) { holding <- struct{}{}; <-release }
	judged := 0
	login0 := u.o.Login
	u.o.Login = func(r *http.Request) error { judged++; return login0(r) }

	failed := make(chan int)
	go func() { failed <- login(u, "[2001:db8::1]:1", "Bearer guess", false).Code }()
	<-holding // the failure is held, its slot taken

	// Same /64, short wait: refused without being judged.
	u.slotWait = time.Millisecond
	if w := login(u, "[2001:db8::2]:1", "Bearer right", false); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("a parallel attempt: %d %s", w.Code, w.Body)
	}
	if judged != 1 {
		t.Fatalf("judged %d attempts, want only the held one", judged)
	}
	// A patient one waits for the held answer, then gets in.
	u.slotWait = SlotWait
	ok := make(chan int)
	go func() { ok <- login(u, "[2001:db8::3]:1", "Bearer right", false).Code }()
	select {
	case c := <-ok:
		t.Fatalf("judged while the failure was held: %d", c)
	case <-time.After(20 * time.Millisecond): // it must still be waiting; nothing to wait on but time
	}
	close(release)
	if c := <-failed; c != http.StatusUnauthorized {
		t.Fatalf("the held failure answered %d", c)
	}
	if c := <-ok; c != 200 {
		t.Fatalf("the waiting right token: %d", c)
	}
	if n := len(u.sessions.slots); n != 0 {
		t.Errorf("%d login slots left behind", n)
	}
}
