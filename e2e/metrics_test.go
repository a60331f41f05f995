package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func (d *daemon) scrape() []byte {
	d.t.Helper()
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		d.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		d.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return b
}

// metricValue returns the value of the series of name whose labels
// include want (name=value pairs), and whether it is there.
func metricValue(t testing.TB, text []byte, name string, want ...string) (float64, bool) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			if !hasLabel(m, want[i], want[i+1]) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// checkMetricsFormat runs Prometheus' own checks on a scrape: promtool
// check metrics (Debian's prometheus package, which .ci/run installs)
// and promlint, the linter promtool runs, from client_golang.
func checkMetricsFormat(t *testing.T, text []byte) {
	t.Helper()
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "evse_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (.ci/run installs Debian's prometheus)")
		}
		t.Log("promtool not installed: only promlint checked the format")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	// promtool exits 1 for a format error and 3 for a lint problem:
	// either fails the test, the Go runtime's metrics included.
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics: clean")
}

// TestMetricsFollowACharge: /metrics passes promtool, and a charging
// session moves the energy counter and the state gauge; a WebAPI write
// is counted by surface and result.
func TestMetricsFollowACharge(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	first := d.scrape()
	checkMetricsFormat(t, first)
	if v, ok := metricValue(t, first, "evse_state", "state", "idle"); !ok || v != 1 {
		t.Fatalf("evse_state{state=idle} = %v (present %v), want 1", v, ok)
	}
	e0, ok := metricValue(t, first, "evse_energy_delivered_joules_total")
	if !ok {
		t.Fatal("no evse_energy_delivered_joules_total")
	}
	if _, ok := metricValue(t, first, "evse_mqtt_connected"); !ok {
		t.Error("no evse_mqtt_connected")
	}
	if _, ok := metricValue(t, first, "evse_current_limit_amperes", "source", "configuration"); !ok {
		t.Error("no evse_current_limit_amperes{source=configuration}")
	}
	if code := d.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`, nil); code != 200 {
		t.Fatalf("plug in: %d", code)
	}
	var last []byte
	eventually(t, 15*time.Second, func() string {
		last = d.scrape()
		st, _ := metricValue(t, last, "evse_state", "state", "charging")
		e, _ := metricValue(t, last, "evse_energy_delivered_joules_total")
		if st != 1 || e <= e0 {
			return "not yet charging with energy moving"
		}
		return ""
	})
	if p, _ := metricValue(t, last, "evse_power_watts"); p <= 0 {
		t.Errorf("charging at %v W", p)
	}
	if v, _ := metricValue(t, last, "evse_state", "state", "idle"); v != 0 {
		t.Errorf("evse_state{state=idle} = %v while charging", v)
	}
	if code := d.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`, nil); code != 200 {
		t.Fatalf("SystemConfig: %d", code)
	}
	if code := d.post("/webapi/v1/SystemConfig", `{"ChargeCurrent":99}`, nil); code != 400 {
		t.Fatalf("SystemConfig 99 A: %d", code)
	}
	after := d.scrape()
	if v, _ := metricValue(t, after, "evse_commands_total", "surface", "http", "result", "applied"); v != 1 {
		t.Errorf("evse_commands_total{http,applied} = %v, want 1", v)
	}
	if v, _ := metricValue(t, after, "evse_commands_total", "surface", "http", "result", "rejected"); v != 1 {
		t.Errorf("evse_commands_total{http,rejected} = %v, want 1", v)
	}
	if n, ok := metricValue(t, after, "evse_meter_last_good_reading_age_seconds", "meter", "1"); !ok || n > 5 {
		t.Errorf("meter 1 last good reading %v s ago (present %v)", n, ok)
	}
	checkMetricsFormat(t, after)
}
