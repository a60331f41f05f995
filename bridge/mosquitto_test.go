package bridge

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

const mosquittoBin = "/usr/sbin/mosquitto"

// mosquitto is a real broker run by a test on loopback.
type mosquitto struct {
	t      testing.TB
	port   int
	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// syncBuffer collects the broker's log for failure messages.
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

// freePort asks the kernel for an unused loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMosquitto runs mosquitto with a plain listener on a free port plus
// any extra config lines, and stops it when the test ends. It fails (never
// skips) when the binary is missing: CI installs it.
func startMosquitto(t testing.TB, extra string) *mosquitto {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		t.Fatalf("%s missing (apt-get install mosquitto): %v", mosquittoBin, err)
	}
	m := &mosquitto{t: t, port: freePort(t), logs: &syncBuffer{}}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n%s", m.port, extra)
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.kill)
	return m
}

// URL is the plain listener's URL.
func (m *mosquitto) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.port) }

// start launches the broker and waits (bounded) until the listener accepts.
func (m *mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(mosquittoBin, "-c", m.conf)
	m.cmd.Stdout = m.logs
	m.cmd.Stderr = m.logs
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	m.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(m.cmd)
	waitListening(m.t, "127.0.0.1:"+strconv.Itoa(m.port), exited, m.logs)
}

// waitListening polls (the broker is an external process) until addr
// accepts a connection, the process exits, or 5 s pass.
func waitListening(t testing.TB, addr string, exited <-chan struct{}, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("mosquitto exited before listening on %s:\n%s", addr, logs)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto not listening on %s after 5s:\n%s", addr, logs)
		}
	}
}

// kill stops the broker with SIGKILL and waits for it to be gone.
func (m *mosquitto) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	m.cmd = nil
}

// received is one message seen by an observer.
type received struct {
	topic    string
	payload  string
	retained bool
}

// observer is an independent paho client used to watch and drive the
// broker from the test.
type observer struct {
	t  testing.TB
	mq mqtt.Client
}

func newObserver(t testing.TB, url string, tc *tlsFiles) *observer {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano())).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if tc != nil {
		opts.SetTLSConfig(tc.clientTLS(t))
	}
	mq := mqtt.NewClient(opts)
	tok := mq.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { mq.Disconnect(0) })
	return &observer{t: t, mq: mq}
}

// subscribe returns a channel with every message on filter, in order.
func (o *observer) subscribe(filter string) <-chan received {
	o.t.Helper()
	ch := make(chan received, 4096)
	tok := o.mq.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- received{topic: m.Topic(), payload: string(m.Payload()), retained: m.Retained()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("observer subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func (o *observer) publish(topic, payload string, retained bool) {
	o.t.Helper()
	tok := o.mq.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("observer publish %s: %v", topic, tok.Error())
	}
}

// next waits for the next message on ch.
func next(t *testing.T, ch <-chan received, within time.Duration, what string) received {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(within):
		t.Fatalf("no message within %v: %s", within, what)
		return received{}
	}
}

// retainedValue connects a fresh observer and returns the retained payload
// on topic, failing if none arrives within 2 s.
func retainedValue(t *testing.T, url, topic string, tc *tlsFiles) string {
	t.Helper()
	o := newObserver(t, url, tc)
	m := next(t, o.subscribe(topic), 2*time.Second, "retained "+topic)
	if !m.retained {
		t.Fatalf("%s: got non-retained %q, want a retained message", topic, m.payload)
	}
	o.mq.Disconnect(0)
	return m.payload
}
