package webapi

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHealthzAndStatusShowMQTT: a broker that refuses the daemon left
// /healthz at {"status":"ok"} and /api/v1/status silent. The charger works,
// so /healthz stays 200 but says "degraded" with the reason; only a stuck
// control loop is 503. /api/v1/status carries the link state.
func TestHealthzAndStatusShowMQTT(t *testing.T) {
	var mu sync.Mutex
	since := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	state := MQTTState{Error: "broker refused the connection: not Authorized (CONNACK 5)", Since: since, URL: "tcp://127.0.0.1:1883"}
	r := newRig(t, rigOpt{mqtt: func() MQTTState {
		mu.Lock()
		defer mu.Unlock()
		return state
	}})

	x := r.get("/healthz")
	var h struct{ Status, Reason, MQTT string }
	if err := json.Unmarshal(x.body, &h); err != nil {
		t.Fatal(err)
	}
	if x.code != 200 || h.Status != "degraded" || !strings.Contains(h.MQTT, "CONNACK 5") ||
		!strings.Contains(h.MQTT, "tcp://127.0.0.1:1883") || !strings.Contains(h.MQTT, "2026-11-30T12:00:00Z") {
		t.Fatalf("healthz with MQTT down: %d %s", x.code, x.body)
	}

	var ext struct {
		MQTT *MQTTState `json:"mqtt"`
	}
	if err := json.Unmarshal(r.get("/api/v1/status").body, &ext); err != nil {
		t.Fatal(err)
	}
	if ext.MQTT == nil || ext.MQTT.Connected || ext.MQTT.Error != state.Error || !ext.MQTT.Since.Equal(since) {
		t.Fatalf("status mqtt = %+v", ext.MQTT)
	}

	// A stuck loop is still 503, and still says what MQTT does.
	r.now = r.now.Add(6 * time.Second)
	if x := r.get("/healthz"); x.code != 503 || !strings.Contains(string(x.body), `"unhealthy"`) {
		t.Fatalf("stalled loop: %d %s", x.code, x.body)
	}
	r.step()

	mu.Lock()
	state = MQTTState{Connected: true, Since: since.Add(time.Minute), URL: state.URL}
	mu.Unlock()
	if x := r.get("/healthz"); x.code != 200 || string(x.body) != `{"status":"ok"}` {
		t.Fatalf("healthz with MQTT up: %d %s", x.code, x.body)
	}
	ext.MQTT = nil
	if err := json.Unmarshal(r.get("/api/v1/status").body, &ext); err != nil {
		t.Fatal(err)
	}
	if ext.MQTT == nil || !ext.MQTT.Connected || ext.MQTT.Error != "" {
		t.Fatalf("status mqtt when up = %+v", ext.MQTT)
	}
}
