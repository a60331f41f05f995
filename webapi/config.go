package webapi

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Config protects the writes (every POST). Reads stay open: they are what
// dashboards and the vendor's app poll. The listen address is the
// daemon's.
//
// A write passes when its Host is a name of this charger (Hosts), it is
// not a browser's cross-site request, it comes from WriteAllow, and
// either it comes from WriteWithoutCredentials or it carries valid
// credentials. The daemon generates a token when none are configured, so
// by default only loopback writes without one.
type Config struct {
	// Username and Password enable HTTP Basic authentication for POSTs
	// when both are set.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Token enables "Authorization: Bearer <token>" for POSTs. With both
	// Basic and a token configured, either is accepted.
	Token string `yaml:"token"`
	// WriteWithoutCredentials lists the client networks (CIDR, or a bare
	// address) that may POST without credentials: loopback by default,
	// plus any legacy client that cannot authenticate (the vendor's app, a
	// supervisor posting EVSEPowerAvailable). Empty means nobody: every
	// write needs credentials, loopback included (e.g. behind a reverse
	// proxy on the same host). An address outside WriteAllow cannot write
	// at all, whatever this list says.
	WriteWithoutCredentials []string `yaml:"write_without_credentials"`
	// Hosts are extra names of this charger that a write's Host header
	// may carry (a DNS name your router gives it, a reverse proxy's name).
	// IP addresses, localhost and the host's own name (also as
	// <name>.local) are always accepted; any other name is refused, which
	// is what stops DNS rebinding.
	Hosts []string `yaml:"hosts"`
	// WriteAllow lists the client networks (CIDR, or a bare address) that
	// may POST at all, with credentials or from WriteWithoutCredentials.
	// Empty means DefaultWriteAllow.
	WriteAllow []string `yaml:"write_allow"`
}

// DefaultWriteWithoutCredentials is loopback: the machine itself (the
// README's curl session, a local script) writes without a token.
var DefaultWriteWithoutCredentials = []string{"127.0.0.0/8", "::1/128"}

// DefaultWriteAllow is loopback and the private LAN ranges: RFC 1918,
// IPv4 link-local, IPv6 unique-local and link-local.
var DefaultWriteAllow = []string{
	"127.0.0.0/8", "::1/128",
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
	"fc00::/7", "fe80::/10",
}

// DefaultConfig returns no credentials and the default lists: loopback
// writes without credentials, the LAN would need them (the daemon adds a
// generated token).
func DefaultConfig() Config {
	return Config{
		WriteAllow:              append([]string(nil), DefaultWriteAllow...),
		WriteWithoutCredentials: append([]string(nil), DefaultWriteWithoutCredentials...),
	}
}

// HasCredentials reports whether Basic or a token is configured.
func (c Config) HasCredentials() bool { return c.Token != "" || c.Username != "" && c.Password != "" }

// Validate reports every problem, each named by its field path under
// prefix (e.g. "webapi.").
func (c Config) Validate(prefix string) settings.Errors {
	var es settings.Errors
	if (c.Username == "") != (c.Password == "") {
		es = append(es, settings.FieldError{Field: prefix + "password", Reason: "username and password must be set together"})
	}
	if strings.ContainsRune(c.Username, ':') {
		es = append(es, settings.FieldError{Field: prefix + "username", Reason: "must not contain ':' (HTTP Basic)"})
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		es = append(es, settings.FieldError{Field: prefix + "token", Reason: "must not contain white space (it travels in a header)"})
	}
	for i, h := range c.Hosts {
		if !settings.ValidHostname(strings.TrimSuffix(h, ".")) {
			es = append(es, settings.FieldError{Field: fmt.Sprintf("%shosts[%d]", prefix, i), Reason: fmt.Sprintf("%q is not a host name (letters, digits, '-' and '.'; no scheme or port)", h)})
		}
	}
	for i, a := range c.WriteAllow {
		if _, err := parsePrefix(a); err != nil {
			es = append(es, settings.FieldError{Field: fmt.Sprintf("%swrite_allow[%d]", prefix, i), Reason: err.Error()})
		}
	}
	for i, a := range c.WriteWithoutCredentials {
		if _, err := parsePrefix(a); err != nil {
			es = append(es, settings.FieldError{Field: fmt.Sprintf("%swrite_without_credentials[%d]", prefix, i), Reason: err.Error()})
		}
	}
	return es
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network (CIDR)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or network", s)
	}
	a = a.WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// prefixes parses the allow-list (already validated).
func (c Config) prefixes() ([]netip.Prefix, error) {
	list := c.WriteAllow
	if len(list) == 0 {
		list = DefaultWriteAllow
	}
	return parsePrefixes("write_allow", list)
}

// noAuthPrefixes parses the networks that write without credentials;
// empty is nobody.
func (c Config) noAuthPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("write_without_credentials", c.WriteWithoutCredentials)
}

func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("webapi: %s: %w", key, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

