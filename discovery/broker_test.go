package discovery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

func connect(t *testing.T, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// pahoPublisher publishes with QoS 1 and waits for the broker's ack, as the
// bridge's serialised publisher does.
type pahoPublisher struct {
	c    mqtt.Client
	mu   sync.Mutex
	errs []error
}

func (p *pahoPublisher) Publish(topic string, payload []byte, retained bool) {
	tok := p.c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("publish %s: %v", topic, tok.Error()))
		p.mu.Unlock()
	}
}

// retainedConfigs returns what a newcomer (say, a restarted Home Assistant)
// finds retained under the discovery prefix. A marker published after the
// subscription arrives after every retained message, so no sleep is needed.
func retainedConfigs(t *testing.T, url string) map[string]string {
	t.Helper()
	c := connect(t, url, fmt.Sprintf("reader-%d", time.Now().UnixNano()))
	got := map[string]string{}
	var mu sync.Mutex
	marker := make(chan struct{})
	tok := c.Subscribe("homeassistant/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		if m.Topic() == "homeassistant/test_marker" {
			close(marker)
			return
		}
		mu.Lock()
		got[m.Topic()] = string(m.Payload())
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish("homeassistant/test_marker", 1, false, "x"); !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("marker not acknowledged")
	}
	select {
	case <-marker:
	case <-time.After(5 * time.Second):
		t.Fatal("marker never arrived")
	}
	c.Unsubscribe("homeassistant/#").WaitTimeout(time.Second)
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestAnnouncerAgainstMosquitto checks the retained semantics on a real
// broker: configs stay for late subscribers, an empty retained payload
// really clears one, and a birth on homeassistant/status re-announces.
func TestAnnouncerAgainstMosquitto(t *testing.T) {
	url := mqtttest.Start(t).URL()
	pub := &pahoPublisher{c: connect(t, url, "evse-abc123")}
	a := NewAnnouncer(pub, zerolog.Nop(), WithJitter(func() time.Duration { return 0 }))
	o := testOptions()
	full := mustBuild(t, testDevice(), o)
	a.Announce(full)

	got := retainedConfigs(t, url)
	if len(got) != len(full) {
		t.Fatalf("broker retains %d configs, want %d", len(got), len(full))
	}
	for _, m := range full {
		if got[m.Topic] != string(m.Payload) {
			t.Fatalf("%s retained as %q", m.Topic, got[m.Topic])
		}
	}

	o.Meter2Type = 0
	reduced := mustBuild(t, testDevice(), o)
	a.Announce(reduced)
	got = retainedConfigs(t, url)
	if len(got) != len(reduced) {
		t.Fatalf("after meter 2 removal the broker retains %d configs, want %d", len(got), len(reduced))
	}
	for topic := range got {
		if strings.Contains(topic, "/meter2_") {
			t.Errorf("%s still retained", topic)
		}
	}

	// Home Assistant's birth: the bridge hands it to HandleHAStatus.
	watcher := connect(t, url, "watcher")
	seen := make(chan string, 2*len(full))
	if tok := watcher.Subscribe("homeassistant/+/+/+/config", 1, func(_ mqtt.Client, m mqtt.Message) {
		if !m.Retained() { // live re-announces, not the replay on subscribe
			seen <- m.Topic()
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	done := make(chan struct{})
	bridge := connect(t, url, "bridge-status")
	if tok := bridge.Subscribe(StatusTopic(""), 1, func(_ mqtt.Client, m mqtt.Message) {
		a.HandleHAStatus(context.Background(), m.Payload(), done)
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	ha := connect(t, url, "home-assistant")
	ha.Publish(StatusTopic(""), 1, false, "online").WaitTimeout(5 * time.Second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no re-announce after the birth message")
	}
	for range reduced {
		select {
		case topic := <-seen:
			if strings.Contains(topic, "/meter2_") {
				t.Errorf("removed entity %s re-announced", topic)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("re-announce incomplete at the watcher")
		}
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for _, err := range pub.errs {
		t.Error(err)
	}
}
