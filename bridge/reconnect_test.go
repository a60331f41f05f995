package bridge

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// TestReconnectAfterBrokerRestart kills the broker, keeps it down long
// enough that an uncapped backoff (1 s, 2 s, 4 s …) would overshoot, and
// restarts it on the same port: the client must be back within 2 s of the
// broker's return, with "online" retained again (the broker has no
// persistence, so only a re-publish restores it), subscriptions renewed and
// OnConnect hooks re-run.
func TestReconnectAfterBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t)
	cfg := testConfig(t, b.URL())
	c, connects := newClient(t, cfg)
	commands := make(chan mqtttest.Message, 4)
	c.Handle(c.Base()+"/set", true, func(_ string, p []byte) { commands <- mqtttest.Message{Payload: string(p)} })
	c.OnConnect(func() { c.Publish(c.Base()+"/status", []byte(`{"state":"A"}`), true) })
	start(t, c)
	waitConnect(t, connects, 5*time.Second)

	b.Kill()
	// Wait (bounded poll: the trigger is an external process dying) until
	// the client has noticed, so the outage really is an outage for it.
	deadline := time.Now().Add(5 * time.Second)
	for c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("client still connected 5 s after the broker was killed")
		}
		<-time.After(10 * time.Millisecond)
	}
	// A deliberate 4 s outage (the scenario, not synchronisation).
	<-time.After(4 * time.Second)
	select {
	case <-connects:
		t.Fatal("OnConnect ran while the broker was down")
	default:
	}

	returned := time.Now() // before exec: includes mosquitto's own start-up
	b.Restart()
	back := waitConnect(t, connects, 5*time.Second)
	if d := back.Sub(returned); d >= 2*time.Second {
		t.Fatalf("client back %v after the broker's return, want < 2s", d)
	} else {
		t.Logf("client back %v after the broker's return", d)
	}
	if v := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); v != "online" {
		t.Fatalf("availability after reconnect = %q, want online", v)
	}
	if v := mqtttest.RetainedPayload(t, b.URL(), c.Base()+"/status"); v != `{"state":"A"}` {
		t.Fatalf("status not re-published by the OnConnect hook: %q", v)
	}
	obs := mqtttest.NewObserver(t, b.URL())
	obs.Publish(c.Base()+"/set", "after-restart", false)
	if m := mqtttest.Next(t, commands, 5*time.Second, "command after restart"); m.Payload != "after-restart" {
		t.Fatalf("got %q", m.Payload)
	}
}

// TestConnectRetryWhenBrokerStartsLate starts the client before the broker
// exists: ConnectRetry must keep trying until it appears.
func TestConnectRetryWhenBrokerStartsLate(t *testing.T) {
	port := mqtttest.FreePort(t)
	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", port))
	c, connects := newClient(t, cfg)
	start(t, c)
	select {
	case <-connects:
		t.Fatal("connected with no broker")
	case <-time.After(1500 * time.Millisecond): // let a few attempts fail
	}
	b := mqtttest.StartOnPort(t, port, "")
	returned := time.Now()
	back := waitConnect(t, connects, 5*time.Second)
	if d := back.Sub(returned); d >= 2*time.Second {
		t.Fatalf("client connected %v after the broker appeared, want < 2s", d)
	}
	if v := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); v != "online" {
		t.Fatalf("availability = %q", v)
	}
}

// Environment of the helper process used by TestWillOnSIGKILL.
const (
	helperURLEnv  = "BRIDGE_TEST_HELPER_URL"
	helperBaseEnv = "BRIDGE_TEST_HELPER_BASE"
)

// TestMain turns the test binary into a bridge process when re-executed by
// TestWillOnSIGKILL, so the test can kill a real client process.
func TestMain(m *testing.M) {
	if url := os.Getenv(helperURLEnv); url != "" {
		os.Exit(runHelper(url, os.Getenv(helperBaseEnv)))
	}
	os.Exit(m.Run())
}

// runHelper connects a Client, says "connected" on stdout and waits to be
// killed.
func runHelper(url, base string) int {
	cfg := Defaults().WithDeviceID("helper")
	cfg.URL, cfg.BaseTopic = url, base
	c, err := New(cfg, testLog())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	connected := make(chan struct{}, 1)
	c.OnConnect(func() { connected <- struct{}{} })
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := c.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	select {
	case <-connected:
		fmt.Println("connected")
	case <-time.After(10 * time.Second):
		return 3
	}
	<-ctx.Done()
	return 0
}

// TestWillOnSIGKILL runs a client in a child process, kills it with
// SIGKILL and expects the broker to publish the retained "offline" will.
func TestWillOnSIGKILL(t *testing.T) {
	b := mqtttest.Start(t)
	base := fmt.Sprintf("evse/will%d", time.Now().UnixNano())
	obs := mqtttest.NewObserver(t, b.URL())
	live := obs.Subscribe(base + "/availability")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperURLEnv+"="+b.URL(), helperBaseEnv+"="+base)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case l := <-lines:
		if l != "connected" {
			t.Fatalf("helper said %q", l)
		}
	case <-exited:
		t.Fatalf("helper exited early: %v", cmd.ProcessState)
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not connect")
	}
	waitPayload(t, live, "online", 5*time.Second)

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitPayload(t, live, "offline", 5*time.Second)
	if v := mqtttest.RetainedPayload(t, b.URL(), base+"/availability"); v != "offline" {
		t.Fatalf("retained availability after SIGKILL = %q, want offline", v)
	}
}
