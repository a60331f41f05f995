package bridge

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// benchClient starts mosquitto and a connected Client for a benchmark.
func benchClient(b *testing.B) (*Client, *mqtttest.Observer) {
	b.Helper()
	m := mqtttest.Start(b)
	c, err := New(testConfig(b, m.URL()), testLog())
	if err != nil {
		b.Fatal(err)
	}
	connected := make(chan struct{}, 1)
	c.OnConnect(func() { connected <- struct{}{} })
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		b.Fatal("no connection")
	}
	return c, mqtttest.NewObserver(b, m.URL())
}

// BenchmarkCommandLatency measures a command's trip from a publisher on
// mosquitto to the bridge's handler, one command at a time, and reports
// p50 and p99. Run: go test -run '^$' -bench CommandLatency -benchtime 1000x ./bridge
func BenchmarkCommandLatency(b *testing.B) {
	c, obs := benchClient(b)
	got := make(chan time.Time, 1)
	c.Handle(c.Base()+"/set", true, func(string, []byte) { got <- time.Now() })
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		sent := time.Now()
		obs.Client().Publish(c.Base()+"/set", 1, false, strconv.Itoa(i))
		select {
		case at := <-got:
			lat = append(lat, at.Sub(sent))
		case <-time.After(5 * time.Second):
			b.Fatalf("command %d not delivered", i)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublishThroughput measures non-retained messages (never
// coalesced) from Publish to an observer on mosquitto, QoS 1 throughout.
// Run: go test -run '^$' -bench PublishThroughput ./bridge
func BenchmarkPublishThroughput(b *testing.B) {
	c, obs := benchClient(b)
	got := make(chan struct{}, b.N)
	tok := obs.Client().Subscribe(c.Base()+"/event", 1, func(paho.Client, paho.Message) { got <- struct{}{} })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	// Batches stay below the outbox bound, beyond which Publish drops.
	const batch = outboxLimit / 2
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(batch, b.N-sent)
		for i := range n {
			c.Publish(c.Base()+"/event", []byte(strconv.Itoa(sent+i)), false)
		}
		for range n {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				b.Fatalf("messages lost after %d sent", sent+n)
			}
		}
		sent += n
	}
}
