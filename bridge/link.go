package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

const (
	// failureLogEvery bounds how often a persisting connection failure is
	// logged: the first failure is logged at once, a changed reason at
	// once, the same reason again at most this often (with a count).
	failureLogEvery = 30 * time.Second
	// refusedMaxDelay caps the extra wait before retrying a broker that
	// refused us (bad credentials, not authorised): retrying every second
	// cannot succeed until someone changes a password, and it floods the
	// broker's log. The wait doubles from refusedFirstDelay.
	refusedFirstDelay = time.Second
	refusedMaxDelay   = 30 * time.Second
)

// State is the broker connection as the daemon reports it (/healthz,
// /api/v1/status, --healthcheck).
type State struct {
	// Connected is true while the client has a live, accepted connection.
	Connected bool
	// Error is why the client is not connected: the broker's refusal
	// (CONNACK reason), the DNS, TCP or TLS error, or the lost
	// connection's cause. Empty when connected or before the first try
	// has failed.
	Error string
	// Since is when the connection last came up or went down (Start for
	// a client that has never connected).
	Since time.Time
	// Failures counts failed attempts since the last successful connect.
	Failures int
	// Attempts counts connection attempts since Start.
	Attempts int
}

// linkState tracks State from paho's connection notifications; paho calls
// them from several goroutines.
type linkState struct {
	mu           sync.Mutex
	st           State
	refusedDelay time.Duration // extra wait before the next attempt; 0 unless refused
	lastLog      time.Time     // when a failure was last logged
	lastLogged   string        // the reason logged then
	suppressed   int           // failures not logged since
}

// State returns the connection state now.
func (c *Client) State() State {
	c.link.mu.Lock()
	defer c.link.mu.Unlock()
	return c.link.st
}

// notify receives paho's connection notifications. Attempts and failures
// come synchronously from the connecting goroutine; connect and loss are
// handled in onConnect and onLost.
func (c *Client) notify(_ mqtt.Client, n mqtt.ConnectionNotification) {
	switch n := n.(type) {
	case mqtt.ConnectionNotificationConnecting:
		c.link.mu.Lock()
		c.link.st.Attempts++
		c.link.mu.Unlock()
		if c.onAttempt != nil {
			c.onAttempt()
		}
	case mqtt.ConnectionNotificationFailed:
		c.failed(n.Reason)
	}
}

// failed records a failed attempt, logs it (rate-limited) and sets the
// wait before the next one.
func (c *Client) failed(err error) {
	if c.onFailed != nil {
		defer c.onFailed()
	}
	reason, hint, refused := describe(err)
	now := c.now()
	l := &c.link
	l.mu.Lock()
	if l.st.Connected || l.st.Since.IsZero() {
		l.st.Since = now
	}
	l.st.Connected = false
	l.st.Error = reason
	l.st.Failures++
	failures := l.st.Failures
	if refused {
		switch {
		case l.refusedDelay == 0:
			l.refusedDelay = refusedFirstDelay
		default:
			l.refusedDelay = min(2*l.refusedDelay, refusedMaxDelay)
		}
	} else {
		l.refusedDelay = 0
	}
	next := l.refusedDelay
	logIt := failures == 1 || reason != l.lastLogged || now.Sub(l.lastLog) >= failureLogEvery
	suppressed := l.suppressed
	if logIt {
		l.lastLog, l.lastLogged, l.suppressed = now, reason, 0
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	if !logIt {
		return
	}
	ev := c.log.Warn().Str("url", c.cfg.URL).Str("reason", reason).Int("failures", failures)
	if suppressed > 0 {
		ev = ev.Int("not_logged", suppressed)
	}
	if next > 0 {
		ev = ev.Dur("retry_in", next+c.cfg.MaxReconnectInterval)
	}
	ev.Msg("MQTT broker not reachable: " + hint)
}

// holdOff runs before each attempt (paho's connection-attempt handler,
// on the connecting goroutine): after a refusal it waits the growing
// refusal delay on top of paho's own retry interval. Close ends the wait.
func (c *Client) holdOff() {
	c.link.mu.Lock()
	d := c.link.refusedDelay
	c.link.mu.Unlock()
	if d <= 0 {
		return
	}
	select {
	case <-c.after(d):
	case <-c.stop:
	}
}

// connectedNow records a successful connect; it returns how many attempts
// had failed before it.
func (c *Client) connectedNow() int {
	l := &c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	failed := l.st.Failures
	l.st = State{Connected: true, Since: c.now(), Attempts: l.st.Attempts}
	l.refusedDelay, l.lastLogged, l.suppressed = 0, "", 0
	return failed
}

// lostNow records the loss of a live connection.
func (c *Client) lostNow(err error) {
	l := &c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Connected = false
	l.st.Since = c.now()
	l.st.Error = "connection lost"
	if err != nil {
		l.st.Error += ": " + err.Error()
	}
}

// refusals are the CONNACK codes of MQTT 3.1.1 that mean "not you": retrying
// does not help until the configuration or the broker's changes.
var refusals = map[error]byte{
	packets.ErrorRefusedBadProtocolVersion:    packets.ErrRefusedBadProtocolVersion,
	packets.ErrorRefusedIDRejected:            packets.ErrRefusedIDRejected,
	packets.ErrorRefusedBadUsernameOrPassword: packets.ErrRefusedBadUsernameOrPassword,
	packets.ErrorRefusedNotAuthorised:         packets.ErrRefusedNotAuthorised,
}

// describe turns a failed attempt into a reason people can act on and a
// hint of what to check; refused reports a CONNACK refusal.
func describe(err error) (reason, hint string, refused bool) {
	if err == nil {
		return "connection failed", "unknown reason", false
	}
	for e, code := range refusals {
		if errors.Is(err, e) {
			reason = fmt.Sprintf("broker refused the connection: %v (CONNACK %d)", e, code)
			switch code {
			case packets.ErrRefusedBadUsernameOrPassword, packets.ErrRefusedNotAuthorised:
				hint = "check mqtt.username and mqtt.password against the broker's users"
			case packets.ErrRefusedIDRejected:
				hint = "the broker rejects the client id; set mqtt.client_id"
			default:
				hint = "the broker does not speak MQTT 3.1.1"
			}
			return reason, hint, true
		}
	}
	if errors.Is(err, packets.ErrorRefusedServerUnavailable) {
		return fmt.Sprintf("broker refused the connection: %v (CONNACK 3)", err), "the broker is busy or starting; retrying", false
	}
	// paho wraps transport errors as "network Error : <cause>".
	cause := err
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			cause = errs[len(errs)-1]
		}
	}
	reason = cause.Error()
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		hint = "the broker's host name does not resolve; check --mqtt-url"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		hint = "TLS: the broker's certificate is not trusted; check mqtt.ca_file and the host name"
	case isRefusedDial(err):
		hint = "nothing accepts connections there; is the broker running?"
	default:
		hint = "retrying"
	}
	return reason, hint, false
}

func isRefusedDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
