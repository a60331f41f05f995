package metrics

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Result().Body)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, b)
	}
	return string(b)
}

// TestScrape: the state is one series per state, the limit carries its
// source, a meter that is not configured and MQTT that is not used have
// no series, commands are counted by surface and result, and promlint
// (promtool's linter) finds nothing wrong with our names.
func TestScrape(t *testing.T) {
	now := time.Unix(1000, 0)
	snap := Snapshot{State: "charging", StateCode: 5, OfferedA: 16, DrawnA: 15.9, PowerW: 11000,
		SessionJ: 3.6e6, LifetimeJ: 7.2e6, LimitA: 8, LimitSource: "limiter",
		Meters: [2]Meter{{Configured: true, ConsecutiveFailures: 2, ReadErrors: 40, LastGood: now.Add(-3 * time.Second)}}}
	m := New(Options{Snapshot: func() Snapshot { return snap }, States: []string{"idle", "charging"}, Now: func() time.Time { return now }})
	m.Command("http", "applied")
	m.Command("mqtt", "rejected")
	m.Command("http", "applied")
	m.ObserveLateness(3 * time.Millisecond)
	text := scrape(t, m)
	for _, want := range []string{
		`evse_state{state="charging"} 1`, `evse_state{state="idle"} 0`, `evse_state_code 5`,
		`evse_offered_current_amperes 16`, `evse_drawn_current_amperes 15.9`, `evse_power_watts 11000`,
		`evse_session_energy_joules 3.6e+06`, `evse_energy_delivered_joules_total 7.2e+06`,
		`evse_current_limit_amperes{source="limiter"} 8`,
		`evse_meter_consecutive_failures{meter="1"} 2`, `evse_meter_read_errors_total{meter="1"} 40`,
		`evse_meter_last_good_reading_age_seconds{meter="1"} 3`,
		`evse_commands_total{result="applied",surface="http"} 2`, `evse_commands_total{result="rejected",surface="mqtt"} 1`,
		`evse_control_loop_lateness_seconds_bucket{le="0.005"} 1`, `evse_control_loop_lateness_seconds_count 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	for _, absent := range []string{`meter="2"`, `evse_mqtt_connected`} {
		if strings.Contains(text, absent) {
			t.Errorf("%s present", absent)
		}
	}
	problems, err := promlint.New(bytes.NewReader([]byte(text))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The source label follows the limit: the old source's series goes.
	snap.LimitSource, snap.MQTTConfigured, snap.MQTTConnected = "configuration", true, true
	text = scrape(t, m)
	if strings.Contains(text, `source="limiter"`) || !strings.Contains(text, `evse_current_limit_amperes{source="configuration"} 8`) ||
		!strings.Contains(text, "evse_mqtt_connected 1\n") {
		t.Errorf("after the change:\n%s", text)
	}
}
