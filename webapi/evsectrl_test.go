package webapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

func TestEvseCtrlToggles(t *testing.T) {
	r := newRig(t, rigOpt{settings: func(s *settings.Settings) { s.ChargeAutoStart = false }})
	steps := []struct {
		body, want string
		started    bool
	}{
		{`{"ChargeStartToggle":true}`, `{"ChargeStartToggle":"refused: no vehicle connected"}`, false},
		{`{"ChargeBoostToggle":true}`, `{"ChargeBoostToggle":"refused: boost not allowed: no charging session started"}`, false},
		{`{"ChargeStartToggle":false,"ChargeBoostToggle":false}`, `{"ChargeStartToggle":"no action","ChargeBoostToggle":"no action"}`, false},
	}
	for _, s := range steps {
		if x := r.post("/webapi/v1/EvseCtrl", s.body); x.code != 200 || string(x.body) != s.want {
			t.Errorf("%s: %d %s, want %s", s.body, x.code, x.body, s.want)
		}
	}
	r.plug(true)
	if r.ctl.Status().ChargerStarted {
		t.Fatal("auto start is off, yet a session started")
	}
	x := r.post("/webapi/v1/EvseCtrl", `{"chargestarttoggle":true}`) // keys match case-insensitively
	if x.code != 200 || string(x.body) != `{"chargestarttoggle":"Set=>True"}` {
		t.Fatalf("start: %d %s", x.code, x.body)
	}
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })

	// Boost needs a boost current above the charge current.
	if x := r.post("/webapi/v1/EvseCtrl", `{"ChargeBoostToggle":true}`); string(x.body) != `{"ChargeBoostToggle":"refused: boost not allowed: ChargeCurrentBoost is not above ChargeCurrent"}` {
		t.Fatalf("boost with boost current = charge current: %s", x.body)
	}
	if x := r.post("/webapi/v1/SystemConfig", `{"ChargeCurrentBoost":32}`); x.code != 200 {
		t.Fatalf("%d %s", x.code, x.body)
	}
	x = r.post("/webapi/v1/EvseCtrl", `{"ChargeBoostToggle":true}`)
	if string(x.body) != `{"ChargeBoostToggle":"Set=>True"}` {
		t.Fatalf("boost: %s", x.body)
	}
	r.until(2*time.Second, "boost current advertised", func(st controller.Status) bool { return st.CurrentLimit == 32 })
	m := r.get("/webapi/v1/Status").obj(t)
	if m["ChargeBoosted"] != true {
		t.Errorf("Status after boost: %v", m)
	}
	if ext := r.get("/api/v1/status").obj(t); ext["limit_source"] != "boost" {
		t.Errorf("extended: %v", ext)
	}
	// Objects apply in the table's order: the stop ends the session and
	// its boost; boost lasts for a session, so the toggle is then refused.
	x = r.post("/webapi/v1/EvseCtrl", `{"ChargeStartToggle":true,"ChargeBoostToggle":true}`)
	if string(x.body) != `{"ChargeStartToggle":"Set=>False","ChargeBoostToggle":"refused: boost not allowed: no charging session started"}` {
		t.Errorf("stop and toggle: %s", x.body)
	}
	if st := r.ctl.Status(); st.ChargerStarted || st.ChargeBoosted {
		t.Errorf("after stop+toggle: started %v boosted %v", st.ChargerStarted, st.ChargeBoosted)
	}
}

// TestSupervisorLease: the power write is accepted only from Meter2Ip,
// appears as ActualPowerAvailable, and lapses after the lease TTL. The
// supervisor here is a legacy client on the no-credentials list; the
// others carry the token, so what refuses them is the Meter2Ip rule.
func TestSupervisorLease(t *testing.T) {
	const sup = "192.168.1.50"
	r := newRig(t, rigOpt{settings: func(s *settings.Settings) {
		s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, sup
	}, config: func(c *Config) {
		c.Token = "sup-token"
		c.WriteWithoutCredentials = append(c.WriteWithoutCredentials, sup)
	}})
	ttl := r.ctl.Params().Limiter.LeaseTTL
	r.plug(true) // the limiter runs while a vehicle is connected

	for _, c := range []struct{ remote, want string }{
		{"192.168.1.51:40000", "refused: request from 192.168.1.51, supervisor is 192.168.1.50 (Meter2Ip)"},
		{"[fd00::50]:40000", "refused: request from fd00::50, supervisor is 192.168.1.50 (Meter2Ip)"},
		{"127.0.0.1:40000", "refused: request from 127.0.0.1, supervisor is 192.168.1.50 (Meter2Ip)"},
	} {
		before := r.snap()
		x := r.do("POST", "/webapi/v1/EvseCtrl", `{"EVSEPowerAvailable":7000}`, c.remote, "Authorization", "Bearer sup-token")
		if x.code != 200 || x.obj(t)["EVSEPowerAvailable"] != c.want {
			t.Errorf("from %s: %d %s", c.remote, x.code, x.body)
		}
		r.unchanged(before, "power from "+c.remote)
	}

	// IPv4-mapped IPv6 is the same host.
	x := r.do("POST", "/webapi/v1/EvseCtrl", `{"EVSEPowerAvailable":7000}`, "[::ffff:192.168.1.50]:40000")
	if x.code != 200 || string(x.body) != `{"EVSEPowerAvailable":"Set=>7000"}` {
		t.Fatalf("from the supervisor: %d %s", x.code, x.body)
	}
	accepted := r.now
	r.step()
	m := r.get("/webapi/v1/Status").obj(t)
	if m["ActualPowerAvailable"] != 7000.0 {
		t.Errorf("ActualPowerAvailable %v, want 7000", m["ActualPowerAvailable"])
	}
	ext := r.get("/api/v1/status").obj(t)
	wantEnd := accepted.Add(ttl).Format(time.RFC3339Nano)
	if ext["limit_source"] != "supervisor lease" || ext["lease_expires"] != wantEnd {
		t.Errorf("extended: source %v, lease_expires %v (want %s)", ext["limit_source"], ext["lease_expires"], wantEnd)
	}

	r.run(ttl - 2*tick) // still valid just before the TTL
	if ext := r.get("/api/v1/status").obj(t); ext["lease_expires"] == nil {
		t.Fatalf("lease lapsed early at %v", r.now.Sub(accepted))
	}
	r.run(2 * tick)
	ext = r.get("/api/v1/status").obj(t)
	if ext["lease_expires"] != nil || ext["limit_source"] != "fallback" || ext["limiter_stale"] != true {
		t.Errorf("after the TTL: %v", ext)
	}
	if m := r.get("/webapi/v1/Status").obj(t); m["ActualPowerAvailable"] == 7000.0 {
		t.Error("the lapsed setpoint is still reported")
	}
}

// TestSupervisorNeedsCredentials: being the address in Meter2Ip is not a
// credential. Whoever could set Meter2Ip could otherwise make any LAN
// host the supervisor; the supervisor sends the token or is listed in
// write_without_credentials like any other legacy client.
func TestSupervisorNeedsCredentials(t *testing.T) {
	const sup = "192.168.1.50"
	r := newRig(t, rigOpt{settings: func(s *settings.Settings) {
		s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, sup
	}, config: func(c *Config) { c.Token = "sup-token" }})
	r.plug(true)
	before := r.snap()
	x := r.do("POST", "/webapi/v1/EvseCtrl", `{"EVSEPowerAvailable":7000}`, sup+":40000")
	if x.code != http.StatusUnauthorized {
		t.Fatalf("supervisor without the token: %d %s, want 401", x.code, x.body)
	}
	r.unchanged(before, "power without credentials")
	x = r.do("POST", "/webapi/v1/EvseCtrl", `{"EVSEPowerAvailable":7000}`, sup+":40000", "Authorization", "Bearer sup-token")
	if x.code != 200 || string(x.body) != `{"EVSEPowerAvailable":"Set=>7000"}` {
		t.Fatalf("supervisor with the token: %d %s", x.code, x.body)
	}
}

func TestSupervisorNotConfigured(t *testing.T) {
	r := newRig(t, rigOpt{settings: func(s *settings.Settings) { s.Meter2Type, s.Meter2Ip = settings.MeterIPSDM72D, "192.168.1.50" }})
	before := r.snap()
	x := r.do("POST", "/webapi/v1/EvseCtrl", `{"EVSEPowerAvailable":5000}`, "127.0.0.1:1")
	if x.code != http.StatusOK || string(x.body) != `{"EVSEPowerAvailable":"supervisor IP not set"}` {
		t.Errorf("%d %s", x.code, x.body)
	}
	r.unchanged(before, "power without supervisor")
	if !strings.Contains(string(r.get("/api/v1/status").body), `"lease_expires":null`) {
		t.Error("a lease appeared")
	}
}
