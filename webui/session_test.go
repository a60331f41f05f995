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

// TestLoginAnswers: the page's login answers what webapi's Login judged:
// wrong credentials 401, an attempt not judged (throttled) 429 with
// Retry-After, any other refusal 403; only a success sets the cookie.
func TestLoginAnswers(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	u := newTestUI(t, clk)
	errBusy := errors.New("busy")
	u.o.Busy = errBusy
	verdict := error(nil)
	u.o.Login = func(*http.Request) error { return verdict }
	for _, c := range []struct {
		err  error
		code int
	}{{errBad, 401}, {errBusy, 429}, {errors.New("login refused"), 403}, {nil, 200}} {
		verdict = c.err
		w := login(u, "192.168.1.5:1", "Bearer x", false)
		if w.Code != c.code {
			t.Errorf("Login %v: answered %d, want %d", c.err, w.Code, c.code)
		}
		if (w.Header().Get("Set-Cookie") != "") != (c.code == 200) {
			t.Errorf("Login %v: cookie %q", c.err, w.Header().Get("Set-Cookie"))
		}
		if c.code == 429 && w.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
}
