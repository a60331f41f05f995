package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// rig is the daemon in miniature: a real controller on the simulator,
// its settings in a store under a temp dir, the WebAPI in front. Time
// moves only when the test feeds ticks.
type rig struct {
	t      testing.TB
	now    time.Time
	start  time.Time
	sim    *sim.Sim
	store  *settings.Store
	params controller.Params
	ctl    *controller.Controller
	ticks  chan time.Time
	srv    *Server
	host   *fakeHost
}

const tick = 10 * time.Millisecond

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeHost is a fixed host so documents are reproducible.
type fakeHost struct {
	wifi bool
}

func (h *fakeHost) WiFi() (string, int, int, bool) {
	if !h.wifi {
		return "", 0, 0, false
	}
	return "wlan0", -49, 68, true
}
func (h *fakeHost) MAC() string                { return "E0:E2:E6:52:AA:D4" }
func (h *fakeHost) Heap() (used, total uint64) { return 0x022DF0, 0x02D230 }

type rigOpt struct {
	settings func(*settings.Settings)
	config   func(*Config)
	params   func(*controller.Params)
	dir      string // reuse a state dir (restart)
	mqtt     func() MQTTState
	session  func(*http.Request) bool
}

func newRig(t testing.TB, o rigOpt) *rig {
	t.Helper()
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	store, err := settings.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := settings.Defaults()
	if o.settings != nil {
		o.settings(&base)
	}
	s, err := store.Load(base)
	if err != nil && err != settings.ErrNoSettings {
		t.Fatal(err)
	}
	p := controller.DefaultParams()
	if o.params != nil {
		o.params(&p)
	}
	r := &rig{t: t, now: epoch, start: epoch.Add(-179 * time.Second), sim: sim.New(epoch), store: store, params: p,
		ticks: make(chan time.Time), host: &fakeHost{}}
	r.ctl = controller.New(controller.NewMachine(r.sim.Board(), p, s), store.Save, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	go func() { r.ctl.Run(ctx, r.ticks); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	table := command.New(r.ctl, command.Services{
		Reset: func() error {
			return r.ctl.Restart(r.params, func() settings.Settings {
				s, _ := store.Load(settings.Defaults()) // no file: the defaults
				return s
			})
		},
		FactoryDefault: func() error {
			if err := store.Remove(); err != nil {
				return err
			}
			return r.ctl.ReplaceSettings(settings.Defaults())
		},
	}, zerolog.Nop())
	cfg := DefaultConfig()
	if o.config != nil {
		o.config(&cfg)
	}
	r.srv, err = New(Options{
		Config: cfg, Controller: r.ctl, Commands: table,
		MeterStatus: func(n int) int { return n - 1 },
		Started:     r.start, Now: func() time.Time { return r.now }, Version: "0.1.0", Host: r.host,
		MQTT:     o.mqtt,
		Session:  o.session,
		Hostname: "evse-garage.fritz.box",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Wrong credentials are answered at once in tests (the throttle's
	// holds are tested with a recording hold, throttle_test.go).
	r.srv.throttle.hold = func(context.Context, time.Duration) {}
	r.step()
	return r
}

// step advances one tick and returns when the loop has processed it.
func (r *rig) step() {
	r.now = r.now.Add(tick)
	r.sim.Tick(r.now)
	r.ticks <- r.now
	r.ctl.Settings() // a round trip through the loop: the tick is done
}

func (r *rig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.step()
	}
}

func (r *rig) until(limit time.Duration, what string, cond func(controller.Status) bool) {
	r.t.Helper()
	for start := r.now; !cond(r.ctl.Status()); r.step() {
		if r.now.Sub(start) > limit {
			st := r.ctl.Status()
			r.t.Fatalf("%s: not reached within %v (state %v, reason %q)", what, limit, st.State, st.Reason)
		}
	}
}

func (r *rig) plug(requestCharge bool) {
	v := r.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, requestCharge
	r.sim.SetVehicle(v)
	r.until(5*time.Second, "vehicle connected", func(st controller.Status) bool { return st.VehicleConnected })
}

// response is a decoded answer.
type response struct {
	code int
	hdr  http.Header
	body []byte
}

func (x response) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(x.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, x.body)
	}
	return m
}

// do runs one request through the handler with a client address.
func (r *rig) do(method, path, body, remote string, hdr ...string) response {
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req.RemoteAddr = remote
	req.Host = rigHost // the charger's address, as a client that typed it sends
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	r.srv.ServeHTTP(w, req)
	return response{w.Code, w.Header(), w.Body.Bytes()}
}

const lan = "192.168.1.20:50000"

// rigHost is the Host the rig's requests carry unless a test sets one.
const rigHost = "192.168.1.10:8080"

// local is a client on the charger itself: it writes without credentials
// by default, so tests of what a write does are not about the guard.
const local = "127.0.0.1:50000"

func (r *rig) get(path string) response        { return r.do(http.MethodGet, path, "", local) }
func (r *rig) post(path, body string) response { return r.do(http.MethodPost, path, body, local) }

// snapshot is what a rejected request must leave alone.
type snapshot struct {
	file   []byte
	exists bool
	set    settings.Settings
	status controller.Status
}

func (r *rig) snap() snapshot {
	b, err := os.ReadFile(r.store.Path)
	st := r.ctl.Status()
	return snapshot{file: b, exists: err == nil, set: r.ctl.Settings(), status: st}
}

func (r *rig) unchanged(before snapshot, what string) {
	r.t.Helper()
	after := r.snap()
	if !bytes.Equal(before.file, after.file) || before.exists != after.exists {
		r.t.Errorf("%s: settings file changed:\n%s\n→\n%s", what, before.file, after.file)
	}
	if before.set != after.set {
		r.t.Errorf("%s: settings changed: %+v → %+v", what, before.set, after.set)
	}
	if before.status != after.status {
		r.t.Errorf("%s: status changed:\n%+v\n→\n%+v", what, before.status, after.status)
	}
}

// newLoopbackServer serves h on a free 127.0.0.1 port for the test.
func newLoopbackServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", ts.URL)
	}
	return ts
}
