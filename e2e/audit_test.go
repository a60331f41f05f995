package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	cmdtable "github.com/evse-mqtt/evse-mqtt/command"
	evsed "github.com/evse-mqtt/evse-mqtt/daemon"
	"github.com/evse-mqtt/evse-mqtt/openapi"
)

// auditPaths are the paths behind every pattern the daemon's mux serves
// (evsed.RoutePatterns, which its mux refuses to go beyond), the
// WebAPI's catch-all expanded into its paths and an unknown one.
func auditPaths() []string {
	var ps []string
	for _, p := range evsed.RoutePatterns {
		if _, path, ok := strings.Cut(p, " "); ok {
			p = path
		}
		switch p {
		case "/{$}":
			ps = append(ps, "/")
		case "/":
			ps = append(ps, strings.Fields(openapi.Paths)...)
			ps = append(ps, "/webapi/v1/Nope", "/index.html")
		default:
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// auditBody is a write each path would act on if it let it through.
func auditBody(path string) string {
	switch path {
	case "/webapi/v1/EvseCtrl":
		return `{"ChargeStartToggle":true,"ChargeBoostToggle":true}`
	case "/webapi/v1/SystemInfo":
		return `{"SCode":"FactoryDefault"}`
	case "/sim/v1/State":
		return `{"EvPlugged":false,"Fault":"epo"}`
	}
	return `{"ChargeCurrent":10,"ChargeAutoStart":true}`
}

// auditState is what a write could change: the settings, the charger's
// session and the simulated car.
func (d *daemon) auditState() string {
	d.t.Helper()
	var cfg, st map[string]any
	d.get("/webapi/v1/SystemConfig", &cfg)
	d.get("/api/v1/status", &st)
	delete(cfg, "TimeStamp")
	b, _ := json.Marshal([]any{cfg, st["charger_started"], st["charge_boosted"], st["fault"], d.sim()})
	return string(b)
}

// TestGuardAudit writes, without credentials, from a client that needs
// them, to every route the daemon serves with every writing method, and
// publishes to every MQTT command topic without the broker's login: each
// is refused and nothing changes. Only logging out answers 200: it ends
// the caller's own session, of which this client has none.
func TestGuardAudit(t *testing.T) {
	p := newPorts(t)
	_, mport, _ := net.SplitHostPort(p.MQTT)
	p.MQTT = "0.0.0.0:" + mport // the broker asks for its login only beyond loopback
	// The test's own setup writes from 127.0.0.1, which this
	// configuration trusts; the audited client connects from 127.0.0.2,
	// which it does not.
	cfg := writeConfig(t, t.TempDir(), p, "device_id: evse\n")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "http:\n", "http:\n  write_without_credentials: [\"127.0.0.1/32\"]\n", 1))
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d2 := launch(t, t.TempDir(), cfg, p.MQTT)
	// A car charging (auto start), so a refused stop, reset or fault
	// would show.
	if code := d2.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`, nil); code != 200 {
		t.Fatalf("setup: plug in: %d", code)
	}
	eventually(t, 10*time.Second, func() string {
		if s := d2.sim(); !s.Contactor || s.EvCurrent == 0 {
			return fmt.Sprintf("not charging yet: %+v", s)
		}
		return ""
	})
	before := d2.auditState()
	paths := auditPaths()
	if len(paths) < 20 {
		t.Fatalf("only %d paths to audit: %v", len(paths), paths)
	}
	refused := map[int]bool{401: true, 403: true, 404: true, 405: true, 429: true}
	for _, path := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			req, _ := http.NewRequest(m, d2.base+path, strings.NewReader(auditBody(path)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := otherHost.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			resp.Body.Close()
			switch {
			case path == "/api/v1/logout" && m == http.MethodPost && resp.StatusCode == 200:
			case !refused[resp.StatusCode]:
				t.Errorf("%s %s from a client without credentials: %d, want a refusal", m, path, resp.StatusCode)
			}
		}
	}
	// The page's event stream, like every read, needs no credentials and
	// takes no writes.
	resp, err := otherHost.Get(d2.base + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("GET /api/v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp.Body.Close()

	// MQTT: every command topic, published by a client without the
	// broker's login. The broker refuses the connection, so none of them
	// is ever delivered to the table.
	url := "tcp://127.0.0.1:" + mport
	for _, topic := range cmdtable.MQTTTopics {
		topic = strings.Replace(topic, "+", "ChargeCurrent", 1)
		o := paho.NewClientOptions().AddBroker(url).SetClientID("audit-" + strings.ReplaceAll(topic, "/", "-")).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		cl := paho.NewClient(o)
		tok := cl.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatalf("%s: no CONNACK within 5 s", topic)
		}
		if tok.Error() == nil {
			pt := cl.Publish("evse/"+topic, 1, false, `{"ChargeStartToggle":true,"ChargeCurrent":10}`)
			pt.WaitTimeout(5 * time.Second)
			cl.Disconnect(0)
			t.Errorf("MQTT %s: an anonymous client connected and published", topic)
		}
	}
	if after := d2.auditState(); after != before {
		t.Errorf("state changed by refused writes:\nbefore %s\nafter  %s", before, after)
	}
}
