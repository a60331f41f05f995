package webapi

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAuthProtectsWritesOnly(t *testing.T) {
	const token = "0123456789abcdef-token"
	r := newRig(t, rigOpt{config: func(c *Config) { c.Username, c.Password, c.Token = "evse", "s3cret", token }})
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	body := `{"ChargeCurrent":10}`
	for _, c := range []struct {
		name, auth string
		code       int
	}{
		{"none", "", 401},
		{"wrong token", "Bearer 0123456789abcdef-nope", 401},
		{"wrong password", basic("evse", "guess"), 401},
		{"wrong user", basic("root", "s3cret"), 401},
		{"token as basic password", basic("evse", token), 401},
		{"bearer", "Bearer " + token, 200},
		{"bearer, other case", "bearer " + token, 200},
		{"basic", basic("evse", "s3cret"), 200},
	} {
		before := r.snap()
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		x := r.do("POST", "/webapi/v1/SystemConfig", body, lan, hdr...)
		if x.code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, x.code, x.body, c.code)
		}
		if c.code == 401 {
			if ch := x.hdr.Get("WWW-Authenticate"); !strings.Contains(ch, "Basic") || !strings.Contains(ch, "Bearer") {
				t.Errorf("%s: challenge %q", c.name, ch)
			}
			r.unchanged(before, c.name)
		}
	}
	for _, p := range []string{"/webapi/v1/Status", "/webapi/v1/SystemConfig", "/webapi/v1/SystemInfo", "/webapi/v1/Meter1", "/healthz"} {
		if x := r.get(p); x.code != 200 {
			t.Errorf("read %s needs no credentials, got %d", p, x.code)
		}
	}
}

// TestLANWritesNeedCredentials: by default any RFC 1918 address could
// start charging, set 32 A, reset or inject faults. Now only loopback
// writes without credentials; the LAN needs the token.
func TestLANWritesNeedCredentials(t *testing.T) {
	r := newRig(t, rigOpt{}) // the defaults: no credentials configured
	for _, remote := range []string{lan, "10.1.2.3:1", "[fd12:3456::1]:1", "[fe80::1%eth0]:1", "[::ffff:192.168.0.9]:1"} {
		before := r.snap()
		for _, c := range []struct{ path, body string }{
			{"/webapi/v1/SystemConfig", `{"ChargeCurrent":32,"ChargeCurrentBoost":32}`},
			{"/webapi/v1/EvseCtrl", `{"ChargeStartToggle":true}`},
			{"/webapi/v1/SystemInfo", `{"SCode":"FactoryDefault"}`},
		} {
			x := r.do(http.MethodPost, c.path, c.body, remote)
			if x.code != http.StatusUnauthorized || !strings.Contains(x.hdr.Get("WWW-Authenticate"), "Bearer") ||
				!strings.Contains(string(x.body), "Authorization: Bearer") {
				t.Errorf("%s from %s: %d %s (challenge %q), want 401 naming the token", c.path, remote, x.code, x.body, x.hdr.Get("WWW-Authenticate"))
			}
		}
		r.unchanged(before, "writes from "+remote)
	}
	for _, remote := range []string{"127.0.0.1:1", "127.8.9.10:1", "[::1]:1"} {
		if x := r.do(http.MethodPost, "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, remote); x.code != 200 {
			t.Errorf("from %s (loopback): %d %s", remote, x.code, x.body)
		}
	}
}

func TestAllowList(t *testing.T) {
	const tok = "Bearer s3cret-token"
	r := newRig(t, rigOpt{config: func(c *Config) { c.Token = "s3cret-token" }})
	for _, c := range []struct {
		remote       string
		bare, signed int // without and with the token
	}{
		{"127.0.0.1:1", 200, 200}, {"[::1]:1", 200, 200},
		{"10.1.2.3:1", 401, 200}, {"172.31.0.9:1", 401, 200}, {"192.168.178.2:1", 401, 200},
		{"169.254.3.4:1", 401, 200}, {"[fd12:3456::1]:1", 401, 200}, {"[fe80::1%eth0]:1", 401, 200},
		{"[::ffff:192.168.0.9]:1", 401, 200}, {"[::ffff:127.0.0.1]:1", 200, 200},
		{"203.0.113.5:1", 403, 403}, {"172.32.0.1:1", 403, 403}, {"[2001:db8::1]:1", 403, 403},
		{"[::ffff:8.8.8.8]:1", 403, 403}, {"garbage", 403, 403},
	} {
		before := r.snap()
		x := r.do("POST", "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, c.remote)
		if x.code != c.bare {
			t.Errorf("from %s without credentials: %d %s, want %d", c.remote, x.code, x.body, c.bare)
		}
		if c.bare != 200 {
			r.unchanged(before, c.remote)
		}
		if x := r.do("POST", "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, c.remote, "Authorization", tok); x.code != c.signed {
			t.Errorf("from %s with the token: %d %s, want %d", c.remote, x.code, x.body, c.signed)
		}
		if x := r.do("GET", "/webapi/v1/Status", "", c.remote); x.code != 200 {
			t.Errorf("read from %s: %d", c.remote, x.code)
		}
	}

	// A legacy client listed by address writes without credentials; the
	// list does not reach beyond write_allow.
	custom := newRig(t, rigOpt{config: func(c *Config) {
		c.Token = "s3cret-token"
		c.WriteAllow = []string{"203.0.113.0/24", "2001:db8::7"}
		c.WriteWithoutCredentials = []string{"203.0.113.5", "192.168.1.0/24"}
	}})
	for _, c := range []struct {
		remote       string
		bare, signed int
	}{
		{"203.0.113.5:1", 200, 200}, {"203.0.113.6:1", 401, 200}, {"[2001:db8::7]:1", 401, 200},
		{"[2001:db8::8]:1", 403, 403}, {"192.168.1.20:1", 403, 403}, {"127.0.0.1:1", 403, 403},
	} {
		if x := custom.do("POST", "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, c.remote); x.code != c.bare {
			t.Errorf("custom lists, from %s without credentials: %d, want %d", c.remote, x.code, c.bare)
		}
		if x := custom.do("POST", "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, c.remote, "Authorization", tok); x.code != c.signed {
			t.Errorf("custom lists, from %s with the token: %d, want %d", c.remote, x.code, c.signed)
		}
	}

	// An empty list trusts nobody, loopback included (a reverse proxy on
	// the same host).
	none := newRig(t, rigOpt{config: func(c *Config) { c.Token, c.WriteWithoutCredentials = "s3cret-token", []string{} }})
	if x := none.do("POST", "/webapi/v1/EvseCtrl", `{"ChargeStartToggle":false}`, "127.0.0.1:1"); x.code != 401 {
		t.Errorf("empty write_without_credentials, from loopback: %d, want 401", x.code)
	}
}

func TestConfigValidate(t *testing.T) {
	if es := DefaultConfig().Validate("webapi."); len(es) != 0 {
		t.Fatalf("defaults invalid: %v", es)
	}
	c := Config{Username: "a:b", Token: "two words", WriteAllow: []string{"10.0.0.0/8", "10.0.0.0/33", "lan"},
		WriteWithoutCredentials: []string{"192.168.1.7", "::1/129"}}
	es := c.Validate("webapi.")
	got := map[string]bool{}
	for _, e := range es {
		got[e.Field] = true
	}
	for _, f := range []string{"webapi.password", "webapi.username", "webapi.token", "webapi.write_allow[1]", "webapi.write_allow[2]", "webapi.write_without_credentials[1]"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, es)
		}
	}
	if got["webapi.write_allow[0]"] || got["webapi.write_without_credentials[0]"] {
		t.Error("a good network reported")
	}
	if _, err := New(Options{Config: c, Controller: nil}); err == nil {
		t.Error("New accepted missing parts")
	}
}

// TestOverTCP runs the handler on a real loopback server: reads, a write,
// an oversized body and keep-alive reuse after errors.
func TestOverTCP(t *testing.T) {
	r := newRig(t, rigOpt{})
	ts := newLoopbackServer(t, r.srv)
	c := ts.Client()
	res, err := c.Get(ts.URL + "/webapi/v1/Status")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET Status: %d", res.StatusCode)
	}
	res, err = c.Post(ts.URL+"/webapi/v1/SystemConfig", "application/json", strings.NewReader(`{"ChargeCurrent":12}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || r.ctl.Settings().ChargeCurrent != 12 {
		t.Fatalf("POST over TCP: %d, ChargeCurrent %d", res.StatusCode, r.ctl.Settings().ChargeCurrent)
	}
	before := r.snap()
	big := `{"ChargeCurrent":13,"x":"` + strings.Repeat("a", 2*MaxBody) + `"}`
	res, err = c.Post(ts.URL+"/webapi/v1/SystemConfig", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", res.StatusCode)
	}
	r.unchanged(before, "oversized body")
	res, err = c.Get(ts.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz after errors: %v %v", res, err)
	}
	res.Body.Close()
}

// TestCrossOriginWritesRefused: a web page on another site cannot make
// the user's browser start charging or change settings (CSRF), even from
// an allowed network and with no credentials configured; scripts, curl and
// same-origin pages are unaffected.
func TestCrossOriginWritesRefused(t *testing.T) {
	r := newRig(t, rigOpt{})
	before := r.snap()
	for _, hdr := range [][]string{
		{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"},
		{"Origin", "http://evil.example", "Content-Type", "text/plain"},
	} {
		x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", `{"ChargeCurrent":6}`, lan, hdr...)
		if x.code != http.StatusForbidden || !strings.Contains(string(x.body), "cross-origin") {
			t.Fatalf("%v: %d %s, want 403 cross-origin", hdr, x.code, x.body)
		}
	}
	r.unchanged(before, "cross-origin writes")
	if x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", `{"ChargeCurrent":7}`, local, "Sec-Fetch-Site", "same-origin"); x.code != 200 {
		t.Fatalf("same-origin write: %d %s", x.code, x.body)
	}
	if x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":8}`); x.code != 200 {
		t.Fatalf("script write: %d %s", x.code, x.body)
	}
}

// TestGuardWrites: another handler wrapped with GuardWrites gets the same
// protection for writes and none for reads.
func TestGuardWrites(t *testing.T) {
	r := newRig(t, rigOpt{config: func(c *Config) { c.Token = "s3cret" }})
	hits := 0
	h := r.srv.GuardWrites(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits++ }))
	call := func(method, remote string, hdr ...string) int {
		req := httptest.NewRequest(method, "/sim/v1/State", strings.NewReader(`{}`))
		req.RemoteAddr = remote
		req.Host = rigHost
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c := call(http.MethodGet, "203.0.113.9:1"); c != 200 || hits != 1 {
		t.Fatalf("read: %d, hits %d", c, hits)
	}
	if c := call(http.MethodPost, lan); c != http.StatusUnauthorized || hits != 1 {
		t.Fatalf("write without token: %d, hits %d", c, hits)
	}
	if c := call(http.MethodPost, "203.0.113.9:1", "Authorization", "Bearer s3cret"); c != http.StatusForbidden || hits != 1 {
		t.Fatalf("write from outside the allow-list: %d, hits %d", c, hits)
	}
	if c := call(http.MethodPost, lan, "Authorization", "Bearer s3cret"); c != 200 || hits != 2 {
		t.Fatalf("authorised write: %d, hits %d", c, hits)
	}
}
