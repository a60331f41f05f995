package webapi

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestDNSRebindingRefused is the audit's request: a page on a rebinding
// domain sends Host and Origin evil.example and, to the browser, it is
// same-origin. It changed ChargeCurrent before the Host was checked.
func TestDNSRebindingRefused(t *testing.T) {
	r := newRig(t, rigOpt{})
	before := r.snap()
	for _, remote := range []string{"127.0.0.1:40000", lan} {
		for _, host := range []string{"evil.example", "evil.example:8080", "EVSE-GARAGE.evil.example", "evse-garage.local.evil.example", "localhost.evil.example"} {
			x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", `{"ChargeCurrent":6}`, remote,
				"Host", host, "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin", "Content-Type", "text/plain")
			if x.code != http.StatusForbidden || !strings.Contains(string(x.body), "is not a name of this charger") || !strings.Contains(string(x.body), "http.hosts") {
				t.Errorf("from %s, Host %s: %d %s, want 403 naming http.hosts", remote, host, x.code, x.body)
			}
		}
	}
	r.unchanged(before, "rebinding writes")
	if x := r.do(http.MethodGet, "/webapi/v1/Status", "", lan, "Host", "evil.example"); x.code != 200 {
		t.Errorf("read with a foreign Host: %d (only writes are checked)", x.code)
	}
}

// TestKnownHostsAccepted: the names a user or a script reaches the
// charger by still write.
func TestKnownHostsAccepted(t *testing.T) {
	r := newRig(t, rigOpt{config: func(c *Config) { c.Hosts = []string{"Charger.Home.Arpa."} }})
	cur := 6
	for _, host := range []string{
		"", "192.168.1.10", "192.168.1.10:8080", "[fd00::10]:8080", "[fe80::1%25eth0]:8080", "[::1]:8080",
		"localhost", "localhost:8080", "LOCALHOST.", "app.localhost:8080",
		"evse-garage.fritz.box:8080", "evse-garage", "evse-garage.local:8080", "Evse-Garage.Local.",
		"charger.home.arpa", "charger.home.arpa:8080",
	} {
		if cur++; cur > 16 { // ChargeCurrentBoost
			cur = 6
		}
		body := `{"ChargeCurrent":` + strconv.Itoa(cur) + `}`
		x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", body, "127.0.0.1:40000", "Host", host)
		if x.code != 200 || r.ctl.Settings().ChargeCurrent != cur {
			t.Errorf("Host %q: %d %s, ChargeCurrent %d", host, x.code, x.body, r.ctl.Settings().ChargeCurrent)
		}
	}
	long := strings.Repeat("a", 300) + ".example"
	x := r.do(http.MethodPost, "/webapi/v1/SystemConfig", `{"ChargeCurrent":6}`, "127.0.0.1:40000", "Host", long)
	if x.code != http.StatusForbidden || len(x.body) > 300 {
		t.Errorf("long Host: %d, answer of %d bytes (the Host must be clipped)", x.code, len(x.body))
	}
}

func TestHostsValidate(t *testing.T) {
	for _, bad := range []string{"", "http://evse", "evse:8080", "ev se", "-evse", "evse-.lan", "a..b", "*.lan", "192.168.1.5/24"} {
		c := DefaultConfig()
		c.Hosts = []string{"ok.lan", bad}
		es := c.Validate("http.")
		if len(es) != 1 || es[0].Field != "http.hosts[1]" {
			t.Errorf("%q: %v", bad, es)
		}
	}
	c := DefaultConfig()
	c.Hosts = []string{"evse", "evse.fritz.box", "EVSE.home.arpa.", "xn--bcher-kva.example", "192.168.1.5"}
	if es := c.Validate("http."); len(es) != 0 {
		t.Errorf("good names refused: %v", es)
	}
}
