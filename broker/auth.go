package broker

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/netip"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Option configures Start.
type Option func(*options)

type options struct {
	user, pass string
}

// WithCredentials makes the broker accept only clients that log in with
// this username and password. Start requires it for any listener beyond
// loopback: the daemon takes commands (start charging, 32 A, reset) on
// this broker, so anonymous clients may only be processes on the machine
// itself.
func WithCredentials(username, password string) Option {
	return func(o *options) { o.user, o.pass = username, password }
}

// Loopback reports whether addr (host:port) can only be reached from the
// machine itself: a loopback IP or "localhost". An empty host, a wildcard
// and any other name (which may resolve to a LAN address) are not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// passwordHook lets in only clients with the configured username and
// password; they may use every topic.
type passwordHook struct {
	mqtt.HookBase
	user, pass [32]byte // sha256, so comparisons take constant time whatever the length
}

func newPasswordHook(user, pass string) *passwordHook {
	return &passwordHook{user: sha256.Sum256([]byte(user)), pass: sha256.Sum256([]byte(pass))}
}

// ID implements mqtt.Hook.
func (h *passwordHook) ID() string { return "evse-password-auth" }

// Provides implements mqtt.Hook.
func (h *passwordHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate implements mqtt.Hook: anonymous clients and wrong
// credentials are refused (CONNACK "not authorized").
func (h *passwordHook) OnConnectAuthenticate(_ *mqtt.Client, pk packets.Packet) bool {
	u, p := sha256.Sum256(pk.Connect.Username), sha256.Sum256(pk.Connect.Password)
	okU := subtle.ConstantTimeCompare(u[:], h.user[:])
	okP := subtle.ConstantTimeCompare(p[:], h.pass[:])
	return pk.Connect.UsernameFlag && okU&okP == 1
}

// OnACLCheck implements mqtt.Hook: a client that logged in may use every
// topic (the daemon's own topics are all there is).
func (h *passwordHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
