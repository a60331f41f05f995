package bridge

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/rs/zerolog"
)

// testLog discards client logs unless BRIDGE_TEST_LOG is set; paho
// callbacks may outlive a test, so t.Log cannot be used safely.
func testLog() zerolog.Logger {
	if os.Getenv("BRIDGE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.New(io.Discard)
}

// testConfig is a resolved config for a broker URL and a unique device.
func testConfig(t testing.TB, url string) Config {
	t.Helper()
	cfg := Defaults()
	cfg.URL = url
	return cfg.WithDeviceID(fmt.Sprintf("t%d", time.Now().UnixNano()))
}

// newClient builds a client; connects receives one value per OnConnect run.
func newClient(t *testing.T, cfg Config) (*Client, <-chan time.Time) {
	t.Helper()
	c, err := New(cfg, testLog())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	connects := make(chan time.Time, 16)
	c.OnConnect(func() { connects <- time.Now() })
	t.Cleanup(c.Close)
	return c, connects
}

func start(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func waitConnect(t *testing.T, connects <-chan time.Time, within time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-connects:
		return at
	case <-time.After(within):
		t.Fatalf("client did not connect within %v", within)
		return time.Time{}
	}
}

// waitPayload reads ch until a message with payload want arrives.
func waitPayload(t *testing.T, ch <-chan mqtttest.Message, want string, within time.Duration) mqtttest.Message {
	t.Helper()
	return mqtttest.Wait(t, ch, within, fmt.Sprintf("payload %q", want), func(m mqtttest.Message) bool { return m.Payload == want })
}

func TestAvailabilityOnlineRetainedAndOfflineOnClose(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	c, connects := newClient(t, cfg)
	obs := mqtttest.NewObserver(t, b.URL())
	live := obs.Subscribe(cfg.Availability())
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	waitPayload(t, live, "online", 5*time.Second)
	if !c.Connected() {
		t.Fatal("Connected() false after connect")
	}
	if got := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); got != "online" {
		t.Fatalf("retained availability = %q, want online", got)
	}
	c.Close()
	waitPayload(t, live, "offline", 5*time.Second)
	if got := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); got != "offline" {
		t.Fatalf("retained availability after Close = %q, want offline", got)
	}
	if c.Connected() {
		t.Fatal("Connected() true after Close")
	}
}

func TestHandlerRoundTrip(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	c, connects := newClient(t, cfg)
	got := make(chan mqtttest.Message, 16)
	c.Handle(c.Base()+"/set", true, func(topic string, p []byte) { got <- mqtttest.Message{Topic: topic, Payload: string(p)} })
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	// Registered after connect, with a wildcard: subscribed at once.
	c.Handle(c.Base()+"/config/+/set", true, func(topic string, p []byte) { got <- mqtttest.Message{Topic: topic, Payload: string(p)} })

	obs := mqtttest.NewObserver(t, b.URL())
	obs.Publish(c.Base()+"/set", `{"a":1}`, false)
	if m := mqtttest.Next(t, got, 5*time.Second, "command on /set"); m.Topic != c.Base()+"/set" || m.Payload != `{"a":1}` {
		t.Fatalf("got %+v", m)
	}
	obs.Publish(c.Base()+"/config/ChargeCurrent/set", "16", false)
	if m := mqtttest.Next(t, got, 5*time.Second, "command on /config/+/set"); m.Topic != c.Base()+"/config/ChargeCurrent/set" || m.Payload != "16" {
		t.Fatalf("got %+v", m)
	}
	// Results go back through Publish.
	results := obs.Subscribe(c.Base() + "/result")
	c.Publish(c.Base()+"/result", []byte(`{"ok":true}`), false)
	if m := mqtttest.Next(t, results, 5*time.Second, "result"); m.Payload != `{"ok":true}` || m.Retained {
		t.Fatalf("result = %+v", m)
	}
}

func TestRetainedCommandNotReplayed(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	obs := mqtttest.NewObserver(t, b.URL())
	obs.Publish(cfg.BaseTopic+"/set", "stale", true)
	obs.Publish("homeassistant/status", "online", true)

	c, connects := newClient(t, cfg)
	commands := make(chan mqtttest.Message, 16)
	status := make(chan mqtttest.Message, 16)
	c.Handle(c.Base()+"/set", true, func(_ string, p []byte) { commands <- mqtttest.Message{Payload: string(p)} })
	c.Handle("homeassistant/status", false, func(_ string, p []byte) { status <- mqtttest.Message{Payload: string(p)} })
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	// The retained status proves retained messages were delivered at
	// subscribe; the command handler must have dropped its retained one.
	if m := mqtttest.Next(t, status, 5*time.Second, "retained homeassistant/status"); m.Payload != "online" {
		t.Fatalf("status = %q", m.Payload)
	}
	obs.Publish(c.Base()+"/set", "fresh", false)
	if m := mqtttest.Next(t, commands, 5*time.Second, "fresh command"); m.Payload != "fresh" {
		t.Fatalf("first command seen = %q, want fresh (retained command replayed)", m.Payload)
	}
}

// collectUntil reads ch until a message on marker arrives and returns the
// payloads seen on topic before it.
func collectUntil(t *testing.T, ch <-chan mqtttest.Message, topic, marker string) []string {
	t.Helper()
	var seen []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if m.Topic == marker {
				return seen
			}
			if m.Topic == topic {
				seen = append(seen, m.Payload)
			}
		case <-deadline:
			t.Fatalf("marker %s not seen; %d messages on %s so far", marker, len(seen), topic)
		}
	}
}

func TestBurstCoalescedByTopic(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	c, connects := newClient(t, cfg)
	obs := mqtttest.NewObserver(t, b.URL())
	all := obs.Subscribe(c.Base() + "/#")
	state, result, marker := c.Base()+"/status", c.Base()+"/result", c.Base()+"/marker"

	// Queued before connecting: exactly one status message must go out.
	for i := range 100 {
		c.Publish(state, []byte(strconv.Itoa(i)), true)
	}
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	c.Publish(marker, []byte("m1"), false)
	if got := collectUntil(t, all, state, marker); len(got) != 1 || got[0] != "99" {
		t.Fatalf("queued burst: status messages = %v, want [99]", got)
	}

	// While connected a publish may be in flight, but a burst of 1000 must
	// still collapse and end on the last value.
	for i := range 1000 {
		c.Publish(state, []byte(strconv.Itoa(i)), true)
	}
	c.Publish(marker, []byte("m2"), false)
	got := collectUntil(t, all, state, marker)
	if len(got) == 0 || len(got) >= 100 || got[len(got)-1] != "999" {
		t.Fatalf("live burst: %d status messages ending %v, want a few ending 999", len(got), got[max(0, len(got)-3):])
	}

	// Non-retained messages are events: every one is delivered, in order.
	for i := range 50 {
		c.Publish(result, []byte(strconv.Itoa(i)), false)
	}
	c.Publish(marker, []byte("m3"), false)
	res := collectUntil(t, all, result, marker)
	if len(res) != 50 {
		t.Fatalf("results: got %d, want 50", len(res))
	}
	for i, p := range res {
		if p != strconv.Itoa(i) {
			t.Fatalf("results out of order at %d: %v", i, res)
		}
	}
}

func TestContextCancelClosesCleanly(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	c, connects := newClient(t, cfg)
	obs := mqtttest.NewObserver(t, b.URL())
	live := obs.Subscribe(cfg.Availability())
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitConnect(t, connects, 5*time.Second)
	waitPayload(t, live, "online", 5*time.Second)
	c.Publish(c.Base()+"/status", []byte("last"), true)
	cancel()
	// The queued status drains before "offline".
	waitPayload(t, live, "offline", 5*time.Second)
	if v := mqtttest.RetainedPayload(t, b.URL(), c.Base()+"/status"); v != "last" {
		t.Fatalf("queued status at shutdown = %q", v)
	}
	if err := c.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestCloseWhileBrokerDown(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", mqtttest.FreePort(t)))
	c, _ := newClient(t, cfg)
	start(t, c)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hung while the broker was unreachable")
	}
	if c.Connected() {
		t.Fatal("Connected() true")
	}
}
