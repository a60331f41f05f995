package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// BenchmarkMQTTCommandLatency measures, over real Mosquitto and the built
// daemon, the time from publishing a command to receiving its answer on
// <base>/result — the answer is published after the controller applied
// it, so this bounds "published → applied" from above. It reports p50 and
// p99 over b.N commands (run with -benchtime 1000x). "charging" toggles
// the session (memory only); "config" changes ChargeCurrent, which is
// persisted with fsync before it is applied and answered.
func BenchmarkMQTTCommandLatency(b *testing.B) {
	b.Run("charging", func(b *testing.B) {
		benchCommand(b, base+"/charging/set", func(i int) string { return [2]string{"OFF", "ON"}[i%2] })
	})
	b.Run("config", func(b *testing.B) {
		benchCommand(b, base+"/config/ChargeCurrent/set", func(i int) string { return fmt.Sprint(10 + i%2) })
	})
}

func benchCommand(b *testing.B, topic string, payload func(int) string) {
	br := mqtttest.Start(b)
	d := start(b, b.TempDir(), newPorts(b), "device_id: e2e\n", "EVSE_MQTT_URL="+br.URL())
	d.post("/sim/v1/State", `{"EvPlugged": true}`, nil)
	o := mqtttest.NewObserver(b, br.URL())
	results := o.Subscribe(base + "/result")
	mqtttest.Wait(b, o.Subscribe(base+"/availability"), 5*time.Second, "online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		o.Publish(topic, payload(i), false)
		m := mqtttest.Wait(b, results, 5*time.Second, "result", func(mqtttest.Message) bool { return true })
		lat = append(lat, m.At.Sub(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
