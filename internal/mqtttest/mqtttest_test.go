package mqtttest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestStartWithExtraListener proves extra config lines reach mosquitto: a
// websockets listener answers MQTT, and its retained message is seen on
// the plain listener.
func TestStartWithExtraListener(t *testing.T) {
	ws := FreePort(t)
	b := StartWith(t, "listener "+strconv.Itoa(ws)+" 127.0.0.1\nprotocol websockets\n")
	b.WaitListening(ws)
	o := NewObserverWith(t, "ws://127.0.0.1:"+strconv.Itoa(ws)+"/mqtt", func(o *mqtt.ClientOptions) {
		o.SetAutoReconnect(false).SetConnectRetry(false)
	})
	o.Publish("t/ws", "over websockets", true)
	if got := RetainedPayload(t, b.URL(), "t/ws"); got != "over websockets" {
		t.Fatalf("retained %q", got)
	}
}

// TestRestartLosesRetained: persistence is off, which e2e relies on.
func TestRestartLosesRetained(t *testing.T) {
	b := Start(t)
	o := NewObserver(t, b.URL())
	o.Publish("t/r", "before", true)
	b.Kill()
	b.Restart()
	o = NewObserver(t, b.URL())
	live := o.Subscribe("t/#")
	o.Publish("t/marker", "m", false)
	if m := Next(t, live, 5*time.Second, "first message after restart"); m.Topic != "t/marker" {
		t.Fatalf("first message %+v, want the marker (retained t/r survived a restart)", m)
	}
}

// TestLogsCaptured: what mosquitto writes ends up in Logs, across a
// restart. The restarted broker's readiness probe is a connection that
// the extra notice level logs (the first broker is killed at once, maybe
// before it accepted its probe, so only the restart is certain to log).
func TestLogsCaptured(t *testing.T) {
	b := StartWith(t, "log_type notice\n")
	b.Kill()
	b.Restart()
	// Bounded poll: mosquitto's stderr reaches the buffer through a copying
	// goroutine, possibly a moment after the port opened.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(b.Logs(), "New connection from 127.0.0.1") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("logs lack the restarted broker's readiness probe:\n%s", b.Logs())
		}
		<-time.After(10 * time.Millisecond)
	}
}
