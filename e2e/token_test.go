package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// otherHost is a client that the daemon below must treat as another host
// on the LAN: it connects from 127.0.0.2, and the configuration lets only
// 127.0.0.1 write without credentials (all traffic stays on loopback).
var otherHost = &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
	LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
}).DialContext}}

func postFrom(t *testing.T, c *http.Client, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAPITokenGenerated: on first start the daemon writes a private token
// to the state dir, says where it is without printing it, and a client
// that is not on the no-credentials list writes only with it, the
// WebAPI and /sim/v1 alike. A restart keeps the token.
func TestAPITokenGenerated(t *testing.T) {
	state := t.TempDir()
	p := newPorts(t)
	cfg := writeConfig(t, t.TempDir(), p, "")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Replace(string(data), "http:\n", "http:\n  write_without_credentials: [\"127.0.0.1/32\"]\n", 1)
	if err := os.WriteFile(cfg, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	d := launch(t, state, cfg, p.MQTT)

	path := filepath.Join(state, "api-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	token := strings.TrimSpace(string(raw))
	if len(token) < 32 {
		t.Fatalf("token %q too short", token)
	}
	logs := d.log()
	if strings.Contains(logs, token) {
		t.Error("the token appears in the log")
	}
	if !strings.Contains(logs, path) || !strings.Contains(logs, "Authorization: Bearer $(cat") {
		t.Errorf("the log does not say where the token is and how to use it:\n%s", logs)
	}

	for _, c := range []struct{ path, body string }{
		{"/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`},
		{"/sim/v1/State", `{"EvPlugged":true}`},
	} {
		code, body := postFrom(t, otherHost, d.base+c.path, c.body)
		if code != http.StatusUnauthorized {
			t.Errorf("%s from another host without the token: %d %s, want 401", c.path, code, body)
		}
		code, body = postFrom(t, otherHost, d.base+c.path, c.body, "Authorization", "Bearer "+token)
		if code != http.StatusOK {
			t.Errorf("%s from another host with the token: %d %s", c.path, code, body)
		}
	}
	if s := d.sim(); !s.EvPlugged {
		t.Errorf("the authorised /sim/v1 write did not apply: %+v", s)
	}
	// The machine itself (127.0.0.1, listed) writes without credentials.
	if code := d.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":11}`, nil); code != 200 {
		t.Errorf("loopback write: %d", code)
	}

	d.stop(syscall.SIGTERM)
	d2 := launch(t, state, cfg, p.MQTT)
	if code, body := postFrom(t, otherHost, d2.base+"/webapi/v1/SystemConfig", `{"ChargeCurrent":12}`, "Authorization", "Bearer "+token); code != 200 {
		t.Fatalf("after a restart the old token: %d %s", code, body)
	}
	if !strings.Contains(d2.log(), `"generated":false`) {
		t.Errorf("a restart generated a new token:\n%s", d2.log())
	}
}
