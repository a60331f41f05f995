package bridge

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// lockedBuffer collects log lines written from paho's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// warnings returns the logged lines that carry the failure message.
func (l *lockedBuffer) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, "MQTT broker not reachable") {
			out = append(out, line)
		}
	}
	return out
}

// TestRefusedCredentialsVisibleAndBackedOff runs a real Mosquitto that
// refuses the client's password. The client must say why (the CONNACK
// reason) in State and at warn — once, then at most every 30 s with a
// count — and wait longer and longer between refused attempts instead of
// retrying every second forever. The delays and the clock are injected, so
// the test sees the schedule without waiting it out.
func TestRefusedCredentialsVisibleAndBackedOff(t *testing.T) {
	b := mqtttest.StartWithPassword(t, "evse", "right")
	cfg := testConfig(t, b.URL())
	cfg.Username, cfg.Password = "evse", "wrong"
	cfg.MaxReconnectInterval = 10 * time.Millisecond // paho's own retry pause
	var logs lockedBuffer
	c, err := New(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var clock atomic.Int64 // fake seconds since the epoch
	c.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	delays := make(chan time.Duration, 64)
	c.after = func(d time.Duration) <-chan time.Time {
		delays <- d
		ch := make(chan time.Time, 1)
		ch <- time.Time{}
		return ch
	}
	connects := make(chan struct{}, 1)
	c.OnConnect(func() { connects <- struct{}{} })
	start(t, c)

	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		select {
		case d := <-delays:
			if d != w*time.Second {
				t.Fatalf("wait before refused attempt %d = %v, want %v", i+2, d, w*time.Second)
			}
		case <-connects:
			t.Fatal("connected with a wrong password")
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d retries after refusals in 10 s", i)
		}
	}
	st := c.State()
	if st.Connected || st.Failures < len(want) || st.Attempts < st.Failures {
		t.Fatalf("state %+v", st)
	}
	if !strings.Contains(st.Error, "CONNACK 5") || !strings.Contains(st.Error, "refused") {
		t.Fatalf("state error %q does not carry the broker's reason", st.Error)
	}
	if w := logs.warnings(); len(w) != 1 || !strings.Contains(w[0], "CONNACK 5") || !strings.Contains(w[0], "mqtt.password") {
		t.Fatalf("want exactly one warning with the reason and a hint within the first 30 s, got %d:\n%s", len(w), strings.Join(w, "\n"))
	}

	// 31 s later the same failure is logged again, with how many were not.
	clock.Add(31)
	deadline := time.After(10 * time.Second)
	for len(logs.warnings()) < 2 {
		select {
		case <-delays:
		case <-deadline:
			t.Fatal("no second warning after 31 s of failures")
		}
	}
	if w := logs.warnings()[1]; !strings.Contains(w, `"not_logged"`) {
		t.Fatalf("second warning lacks the count of silent failures: %s", w)
	}
}

// TestDescribeFailures: every kind of failure names its cause and what to
// check, and only a refusal by the broker slows the retries down.
func TestDescribeFailures(t *testing.T) {
	network := func(cause error) error { return fmt.Errorf("%w : %w", packets.ErrorNetworkError, cause) }
	cases := []struct {
		name         string
		err          error
		reason, hint string
		wantRefused  bool
	}{
		{"bad password", packets.ErrorRefusedBadUsernameOrPassword, "bad user name or password (CONNACK 4)", "mqtt.password", true},
		{"not authorised", packets.ErrorRefusedNotAuthorised, "(CONNACK 5)", "mqtt.username", true},
		{"server unavailable", packets.ErrorRefusedServerUnavailable, "CONNACK 3", "busy", false},
		{"dns", network(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}}),
			"no such host", "does not resolve", false},
		{"refused", network(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}),
			"connection refused", "is the broker running", false},
		{"tls", network(x509.UnknownAuthorityError{}), "unknown authority", "mqtt.ca_file", false},
	}
	for _, tc := range cases {
		reason, hint, refused := describe(tc.err)
		if !strings.Contains(reason, tc.reason) || !strings.Contains(hint, tc.hint) || refused != tc.wantRefused {
			t.Errorf("%s: describe = %q, %q, %v; want reason ~%q, hint ~%q, refused %v",
				tc.name, reason, hint, refused, tc.reason, tc.hint, tc.wantRefused)
		}
		if strings.Contains(reason, "network Error") {
			t.Errorf("%s: reason keeps paho's wrapper: %q", tc.name, reason)
		}
	}
}

// TestUntrustedTLSCertificateReported: a TLS broker whose certificate the
// client does not trust (no mqtt.ca_file). State and the warning must name
// the certificate problem and point at ca_file, not just "connecting".
func TestUntrustedTLSCertificateReported(t *testing.T) {
	pki := newPKI(t)
	tlsPort := mqtttest.FreePort(t)
	b := mqtttest.StartWith(t, fmt.Sprintf("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n", tlsPort, pki.serverCert, pki.serverKey))
	b.WaitListening(tlsPort)
	cfg := testConfig(t, fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)) // system roots only
	var logs lockedBuffer
	c, err := New(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	failed := make(chan struct{}, 1)
	c.onFailed = func() {
		select {
		case failed <- struct{}{}:
		default:
		}
	}
	start(t, c)
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatalf("no failed attempt reported: %+v", c.State())
	}
	if st := c.State(); st.Connected || !strings.Contains(st.Error, "certificate") {
		t.Fatalf("state %+v does not name the certificate", st)
	}
	if w := logs.warnings(); len(w) != 1 || !strings.Contains(w[0], "mqtt.ca_file") {
		t.Fatalf("warnings %q", w)
	}
}
