package mqtttest

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message an Observer saw.
type Message struct {
	Topic    string
	Payload  string
	Retained bool
	At       time.Time
}

// Observer is an independent paho client watching and driving the broker.
type Observer struct {
	t  testing.TB
	mq mqtt.Client
}

// NewObserver connects a client to url; it disconnects when the test ends.
// It reconnects by itself, so it survives Broker.Restart.
func NewObserver(t testing.TB, url string) *Observer {
	t.Helper()
	return NewObserverWith(t, url, nil)
}

// NewObserverWith is NewObserver with configure applied to the client
// options last, e.g. to add a TLS config or turn reconnection off. A nil
// configure changes nothing.
func NewObserverWith(t testing.TB, url string, configure func(*mqtt.ClientOptions)) *Observer {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(5 * time.Second).SetOrderMatters(true)
	if configure != nil {
		configure(opts)
	}
	mq := mqtt.NewClient(opts)
	tok := mq.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { mq.Disconnect(0) })
	return &Observer{t: t, mq: mq}
}

// Client is the observer's paho client, for what the helpers here do not
// cover (fire-and-forget publishes in benchmarks, custom handlers).
func (o *Observer) Client() mqtt.Client { return o.mq }

// Close disconnects now rather than when the test ends.
func (o *Observer) Close() { o.mq.Disconnect(0) }

// Subscribe returns a channel with every message on filter, in order.
func (o *Observer) Subscribe(filter string) <-chan Message {
	o.t.Helper()
	ch := make(chan Message, 8192)
	tok := o.mq.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- Message{Topic: m.Topic(), Payload: string(m.Payload()), Retained: m.Retained(), At: time.Now()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("observer subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

// Publish publishes at QoS 1 and waits for the broker's acknowledgement.
func (o *Observer) Publish(topic, payload string, retained bool) {
	o.t.Helper()
	tok := o.mq.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("observer publish %s: %v", topic, tok.Error())
	}
}

// Wait returns the first message on ch for which match is true, failing
// after within.
func Wait(t testing.TB, ch <-chan Message, within time.Duration, what string, match func(Message) bool) Message {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m := <-ch:
			if match(m) {
				return m
			}
		case <-timeout:
			t.Fatalf("no message within %v: %s", within, what)
			return Message{}
		}
	}
}

// Next returns the next message on ch, whatever it is, failing after
// within.
func Next(t testing.TB, ch <-chan Message, within time.Duration, what string) Message {
	t.Helper()
	return Wait(t, ch, within, what, func(Message) bool { return true })
}

// RetainedPayload connects a fresh observer to url and returns the payload
// the broker retains on topic. It fails if nothing arrives within 2 s, or
// if for 3 s every fresh subscriber gets the topic only live.
func RetainedPayload(t testing.TB, url, topic string) string {
	t.Helper()
	// A client publishes asynchronously: a message that arrives live (not
	// retained) was published after we subscribed. Look again with a fresh
	// subscriber; what was published retained must then come back so.
	deadline := time.Now().Add(3 * time.Second)
	for {
		o := NewObserver(t, url)
		m := Next(t, o.Subscribe(topic), 2*time.Second, "retained "+topic)
		o.Close()
		if m.Retained {
			return m.Payload
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got non-retained %q, want a retained message", topic, m.Payload)
		}
	}
}
