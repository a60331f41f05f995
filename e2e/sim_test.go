package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSimStateIsStrict: POST /sim/v1/State is read by the WebAPI's
// decoder (issue 9, items 10–12, 14): one JSON object in a JSON-capable
// content type, no key twice, no null for a value, no long echo; a
// refused body changes nothing.
func TestSimStateIsStrict(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	raw := func(ct, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, d.base+"/sim/v1/State", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	state := func() string {
		var m map[string]any
		d.get("/sim/v1/State", &m)
		b, _ := json.Marshal(map[string]any{"EvPlugged": m["EvPlugged"], "HousePower": m["HousePower"], "EvPhases": m["EvPhases"], "Fault": m["Fault"]})
		return string(b)
	}
	if code, b := raw("application/json", `{"HousePower": 2000}`); code != 200 {
		t.Fatalf("setup: %d %s", code, b)
	}
	before := state()
	long := strings.Repeat("x", 60<<10)
	for _, c := range []struct {
		name, ct, body string
		code           int
		reason         string
	}{
		{"duplicate", "application/json", `{"EvPlugged": true, "EvPlugged": false}`, 400, "given twice"},
		{"duplicate, other case", "application/json", `{"EvPlugged": true, "evplugged": false}`, 400, "given twice"},
		{"trailing bracket", "application/json", `{"EvPlugged": true}]`, 400, "malformed JSON"},
		{"null bool", "application/json", `{"EvPlugged": null}`, 400, "got null"},
		{"null number", "application/json", `{"HousePower": null}`, 400, "got null"},
		{"fraction for an integer", "application/json", `{"EvPhases": 1.5}`, 400, "whole number"},
		{"underflow", "application/json", `{"HousePower": 1e-400}`, 400, "1e-400"},
		{"multipart", "multipart/form-data; boundary=x", `{"EvPlugged": true}`, 415, "not supported"},
		{"xml", "application/xml", `{"EvPlugged": true}`, 415, "not supported"},
		{"long fault", "application/json", `{"Fault": "` + long + `"}`, 400, "must be one of"},
		{"long name", "application/json", `{"` + long + `": 1}`, 400, "unknown field"},
	} {
		code, b := raw(c.ct, c.body)
		if code != c.code || !strings.Contains(b, c.reason) || len(b) > 600 {
			t.Errorf("%s: %d, %d bytes %.300s; want %d with %q", c.name, code, len(b), b, c.code, c.reason)
		}
		if got := state(); got != before {
			t.Errorf("%s changed the simulator: %s → %s", c.name, before, got)
		}
	}
	// What curl -d sends still works, as the README walks through it.
	if code, b := raw("application/x-www-form-urlencoded", `{"EvPlugged": true}`); code != 200 || !d.sim().EvPlugged {
		t.Fatalf("curl -d: %d %s", code, b)
	}
}
