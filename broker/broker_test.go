package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/bridge"
)

// lineWriter hands every log line to a channel so tests wait on it.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(bytes.TrimSpace(p)):
	default: // never block the broker on a slow test
	}
	return len(p), nil
}

func startBroker(t *testing.T) (*Broker, lineWriter) {
	t.Helper()
	logs := make(lineWriter, 64)
	b, err := Start("127.0.0.1:0", zerolog.New(logs))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Close)
	return b, logs
}

type msg struct {
	topic, payload string
	retained       bool
}

func connect(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func subscribe(t *testing.T, c paho.Client, filter string) <-chan msg {
	t.Helper()
	ch := make(chan msg, 64)
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		ch <- msg{m.Topic(), string(m.Payload()), m.Retained()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func next(t *testing.T, ch <-chan msg, what string) msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return msg{}
	}
}

func TestRetainedMessageReachesLaterSubscriber(t *testing.T) {
	b, _ := startBroker(t)
	if strings.HasSuffix(b.Addr(), ":0") || !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") {
		t.Fatalf("addr %q / url %q not resolved", b.Addr(), b.URL())
	}
	pub := connect(t, b.URL(), "pub")
	if tok := pub.Publish("evse/x/status", 1, true, `{"state":"A"}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	sub := connect(t, b.URL(), "sub")
	m := next(t, subscribe(t, sub, "evse/#"), "retained status")
	if m != (msg{"evse/x/status", `{"state":"A"}`, true}) {
		t.Fatalf("got %+v", m)
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if b, err := Start(l.Addr().String(), zerolog.Nop()); err == nil {
		b.Close()
		t.Fatalf("Start on busy %s succeeded", l.Addr())
	}
}

// TestBridgeAgainstEmbeddedBroker runs the daemon's MQTT client against the
// embedded broker the way the daemon wires it: url "embedded" resolved to
// the broker's URL.
func TestBridgeAgainstEmbeddedBroker(t *testing.T) {
	b, _ := startBroker(t)
	cfg := bridge.Defaults()
	if !cfg.Embedded() {
		t.Fatal("default config is not embedded")
	}
	cfg.URL = b.URL()
	cfg = cfg.WithDeviceID("emb1")
	c, err := bridge.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	commands := make(chan string, 4)
	c.Handle(c.Base()+"/set", true, func(_ string, p []byte) { commands <- string(p) })
	connected := make(chan struct{}, 4)
	c.OnConnect(func() { connected <- struct{}{} })

	obs := connect(t, b.URL(), "observer")
	avail := subscribe(t, obs, c.Availability())
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		t.Fatal("bridge did not connect to the embedded broker")
	}
	if m := next(t, avail, "online"); m.payload != "online" {
		t.Fatalf("availability %+v", m)
	}
	if tok := obs.Publish(c.Base()+"/set", 1, false, "ON"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case p := <-commands:
		if p != "ON" {
			t.Fatalf("command %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("command not delivered")
	}
	c.Close()
	// Not next(): mochi writes SUBACK before its retained scan, so a
	// retained publish racing the observer's SUBSCRIBE may arrive twice.
	for m := next(t, avail, "offline"); m.payload != "offline"; m = next(t, avail, "offline") {
		if m.payload != "online" {
			t.Fatalf("availability after Close %+v", m)
		}
	}
	later := connect(t, b.URL(), "later")
	if m := next(t, subscribe(t, later, c.Availability()), "retained offline"); m != (msg{c.Availability(), "offline", true}) {
		t.Fatalf("retained availability %+v", m)
	}
}

// TestMochiWarningsRoutedToZerolog sends garbage to the listener; mochi
// logs the failed handshake as a warning, which must arrive as a zerolog
// JSON line with the broker component — and no info chatter before it.
func TestMochiWarningsRoutedToZerolog(t *testing.T) {
	b, logs := startBroker(t)
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET / HTTP/1.0\r\n\r\n")
	conn.Close()
	for {
		select {
		case line := <-logs:
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line not JSON: %q", line)
			}
			if rec["component"] != "broker" {
				t.Fatalf("log line without component=broker: %q", line)
			}
			if rec["message"] == "embedded broker listening" {
				continue // our own start-up line
			}
			if rec["level"] != "warn" && rec["level"] != "error" {
				t.Fatalf("mochi logged below warn: %q", line)
			}
			t.Logf("routed: %s", line)
			return
		case <-time.After(5 * time.Second):
			t.Fatal("no warning logged for a garbage connection")
		}
	}
}

// TestOversizePacketRefused shows a client cannot make the embedded broker
// (and through it the daemon) buffer a huge publish: the connection is
// closed, nothing is delivered, and the broker keeps serving others.
func TestOversizePacketRefused(t *testing.T) {
	b, _ := startBroker(t)
	sub := connect(t, b.URL(), "sub")
	got := subscribe(t, sub, "big/#")

	lost := make(chan struct{}, 1)
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("big").
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(paho.Client, error) { lost <- struct{}{} })
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	c.Publish("big/x", 0, false, bytes.Repeat([]byte("x"), MaxPacketSize+1))
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the oversize publisher was not disconnected")
	}

	// A normal publish from another client still arrives, and the big one
	// never did.
	p := connect(t, b.URL(), "small")
	p.Publish("big/y", 1, false, "ok").WaitTimeout(5 * time.Second)
	select {
	case m := <-got:
		if m.topic != "big/y" || m.payload != "ok" {
			t.Fatalf("delivered %s (%d bytes), want only big/y", m.topic, len(m.payload))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("broker stopped delivering after the oversize packet")
	}
}
