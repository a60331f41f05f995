package webapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSessionCookieAuthorisesWrites: the page's session stands in for
// credentials, and only for them: a cross-origin request or one from a
// network that may not write is refused whatever its session says.
func TestSessionCookieAuthorisesWrites(t *testing.T) {
	session := func(r *http.Request) bool {
		c, err := r.Cookie("s")
		return err == nil && c.Value == "good"
	}
	r := newRig(t, rigOpt{session: session})
	body := `{"ChargeCurrent":10}`
	for _, c := range []struct {
		name, remote string
		hdr          []string
		code         int
	}{
		{"no session", lan, nil, 401},
		{"wrong session", lan, []string{"Cookie", "s=bad"}, 401},
		{"cross-origin with session", lan, []string{"Cookie", "s=good", "Sec-Fetch-Site", "cross-site"}, 403},
		{"public address with session", "203.0.113.9:1", []string{"Cookie", "s=good"}, 403},
		{"session", lan, []string{"Cookie", "s=good"}, 200},
	} {
		before := r.snap()
		x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", body, c.remote, c.hdr...)
		if x.code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, x.code, x.body, c.code)
		}
		if c.code != 200 {
			r.unchanged(before, c.name)
		}
	}
}

func TestLogin(t *testing.T) {
	r := newRig(t, rigOpt{config: func(c *Config) { c.Username, c.Password, c.Token = "evse", "s3cret", "tok-0123456789" }})
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("evse:s3cret"))
	for _, c := range []struct {
		name, remote, host string
		hdr                []string
		want               error
	}{
		{"bearer", lan, "", []string{"Authorization", "Bearer tok-0123456789"}, nil},
		{"basic", lan, "", []string{"Authorization", basic}, nil},
		{"none", lan, "", nil, ErrBadCredentials},
		{"wrong", lan, "", []string{"Authorization", "Bearer nope"}, ErrBadCredentials},
		{"foreign host", lan, "evil.example", []string{"Authorization", "Bearer tok-0123456789"}, ErrLoginRefused},
		{"public network", "203.0.113.9:1", "", []string{"Authorization", "Bearer tok-0123456789"}, ErrLoginRefused},
		{"cross-site", lan, "", []string{"Authorization", "Bearer tok-0123456789", "Sec-Fetch-Site", "cross-site"}, ErrLoginRefused},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader("{}"))
		req.RemoteAddr = c.remote
		req.Host = "192.168.0.10:8080"
		if c.host != "" {
			req.Host = c.host
		}
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		if err := r.srv.Login(req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	lanReq := httptest.NewRequest(http.MethodGet, "/", nil)
	lanReq.RemoteAddr = lan
	localReq := httptest.NewRequest(http.MethodGet, "/", nil)
	localReq.RemoteAddr = "127.0.0.1:5"
	if !r.srv.NeedsCredentials(lanReq) || r.srv.NeedsCredentials(localReq) {
		t.Error("NeedsCredentials: the LAN needs them, loopback does not (defaults)")
	}
}
