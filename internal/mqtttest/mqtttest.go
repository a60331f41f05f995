// Package mqtttest runs a real Mosquitto broker on a free loopback port for
// tests, and an independent paho client to watch and drive it. It is test
// support only; no production package imports it.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Binary is Debian's mosquitto; CI installs it (.ci/run).
const Binary = "/usr/sbin/mosquitto"

// Broker is a mosquitto process owned by a test.
type Broker struct {
	t      testing.TB
	Port   int
	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback TCP port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs mosquitto on a free port with persistence off (so a restart
// loses retained messages, as a real broker without persistence does) and
// kills it when the test ends. It fails, never skips, without the binary.
func Start(t testing.TB) *Broker {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("%s missing (apt-get install mosquitto): %v", Binary, err)
	}
	b := &Broker{t: t, Port: FreePort(t), logs: &syncBuffer{}}
	b.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nuser root\nlog_dest stderr\nlog_type error\nlog_type warning\n", b.Port)
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	t.Cleanup(b.Kill)
	return b
}

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.Port) }

// Restart starts the broker (again) on its port and waits until it accepts
// connections.
func (b *Broker) Restart() {
	b.t.Helper()
	b.cmd = exec.Command(Binary, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.logs, b.logs
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	b.exited = exited
	go func(c *exec.Cmd) { _ = c.Wait(); close(exited) }(b.cmd)
	addr := "127.0.0.1:" + strconv.Itoa(b.Port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b.t.Fatalf("mosquitto exited before listening on %s:\n%s", addr, b.logs)
		case <-time.After(10 * time.Millisecond): // polling an external process's port
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto not listening on %s after 5 s:\n%s", addr, b.logs)
		}
	}
}

// Kill stops the broker with SIGKILL and waits until it is gone.
func (b *Broker) Kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

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
func NewObserver(t testing.TB, url string) *Observer {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(5 * time.Second).SetOrderMatters(true)
	mq := mqtt.NewClient(opts)
	tok := mq.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { mq.Disconnect(0) })
	return &Observer{t: t, mq: mq}
}

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
