// Package bridge is the daemon's MQTT transport: one paho client that keeps
// a retained availability topic, reconnects by itself, renews its
// subscriptions on every connect and publishes through one serialised,
// coalescing outbox. Topics and payloads are the caller's business.
//
// Wiring, in the daemon:
//
//	cfg := bridge.Defaults()              // then decode YAML on top, apply --mqtt-url
//	if err := cfg.Validate("mqtt"); err != nil { ... }
//	cfg = cfg.WithDeviceID(id)
//	if cfg.Embedded() {
//		b, err := broker.Start(cfg.EmbeddedListen, log) // defer b.Close()
//		cfg.URL = b.URL()
//	}
//	c, err := bridge.New(cfg, log)
//	c.Handle(c.Base()+"/set", true, onCommand)             // ignores retained commands
//	c.Handle("homeassistant/status", false, onHAStatus)    // retained or not
//	c.OnConnect(func() { republishStateAndDiscovery() })
//	c.Start(ctx)                                           // Close on ctx end
//	c.Publish(c.Base()+"/status", doc, true)               // coalesced per topic
//	c.Publish(c.Base()+"/result", res, false)              // every one delivered
package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// EmbeddedURL is the literal URL value that asks the daemon to start the
// built-in broker (package broker) and connect to it.
const EmbeddedURL = "embedded"

// ErrUnresolved is returned by New for a Config whose URL is still
// EmbeddedURL or whose device-derived fields were never filled in.
var ErrUnresolved = errors.New("bridge: config not resolved")

// Config is the MQTT section of the daemon's configuration.
type Config struct {
	// URL is tcp://, ssl://, ws:// or wss:// host:port (mqtt:// and
	// mqtts:// are accepted as aliases of tcp:// and ssl://), or EmbeddedURL.
	URL string `yaml:"url"`
	// EmbeddedListen is the listener of the built-in broker, used only when
	// URL is EmbeddedURL.
	EmbeddedListen string `yaml:"embedded_listen"`

	Username string `yaml:"username"`
	Password string `yaml:"password"`

	// CAFile is a PEM bundle that replaces the system roots for the broker's
	// certificate.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key, for brokers
	// that authenticate clients by certificate. Both or neither.
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// ClientID defaults to "evse-mqtt-<device id>" so a restarted daemon
	// takes over its own session rather than leaving a ghost behind.
	ClientID string `yaml:"client_id"`
	// BaseTopic defaults to "evse/<device id>".
	BaseTopic string `yaml:"base_topic"`

	Keepalive time.Duration `yaml:"keepalive"`
	// MaxReconnectInterval caps paho's reconnect backoff; it bounds how long
	// the bridge stays away after the broker is back.
	MaxReconnectInterval time.Duration `yaml:"max_reconnect_interval"`
	// QoS is used for every publish and subscription.
	QoS int `yaml:"qos"`
}

// Defaults returns the configuration used for every field the user leaves
// out. Decode the user's YAML on top of it, then call WithDeviceID.
func Defaults() Config {
	return Config{
		URL:                  EmbeddedURL,
		EmbeddedListen:       "127.0.0.1:1883",
		Keepalive:            30 * time.Second,
		MaxReconnectInterval: time.Second,
		QoS:                  1,
	}
}

// WithDeviceID fills the fields whose defaults derive from the device id
// (client id and base topic) where the user left them empty.
func (c Config) WithDeviceID(deviceID string) Config {
	if c.ClientID == "" {
		c.ClientID = "evse-mqtt-" + deviceID
	}
	if c.BaseTopic == "" {
		c.BaseTopic = "evse/" + deviceID
	}
	return c
}

// Embedded reports whether the configuration asks for the built-in broker.
func (c Config) Embedded() bool { return c.URL == EmbeddedURL }

// Availability is the retained topic that carries "online" / "offline".
func (c Config) Availability() string { return c.BaseTopic + "/availability" }

// schemes maps the accepted URL schemes to whether they use TLS.
var schemes = map[string]bool{"tcp": false, "mqtt": false, "ws": false, "ssl": true, "mqtts": true, "wss": true}

// Validate reports every problem in the configuration, each prefixed with
// its field path below path (e.g. path "mqtt" gives "mqtt.url: ...").
// Empty client_id and base_topic are fine: WithDeviceID fills them.
func (c Config) Validate(path string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", joinPath(path, field), fmt.Sprintf(format, args...)))
	}
	if !c.Embedded() {
		u, err := url.Parse(c.URL)
		switch {
		case c.URL == "":
			bad("url", "is empty (use %q for the built-in broker)", EmbeddedURL)
		case err != nil:
			bad("url", "%v", err)
		default:
			if _, ok := schemes[u.Scheme]; !ok {
				bad("url", "scheme %q is not one of tcp, ssl, ws, wss, mqtt, mqtts", u.Scheme)
			}
			if u.Host == "" {
				bad("url", "%q has no host", c.URL)
			}
		}
	} else if _, _, err := net.SplitHostPort(c.EmbeddedListen); err != nil {
		bad("embedded_listen", "%v", err)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file must be given together")
	}
	for _, f := range []struct{ field, file string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			bad(f.field, "%v", err)
		}
	}
	if strings.ContainsAny(c.ClientID, "+#") {
		bad("client_id", "%q must not contain + or #", c.ClientID)
	}
	if c.BaseTopic != "" {
		if strings.ContainsAny(c.BaseTopic, "+#") {
			bad("base_topic", "%q must not contain wildcards", c.BaseTopic)
		}
		if strings.HasPrefix(c.BaseTopic, "/") || strings.HasSuffix(c.BaseTopic, "/") {
			bad("base_topic", "%q must not start or end with /", c.BaseTopic)
		}
	}
	if c.Keepalive < time.Second {
		bad("keepalive", "%v is below 1s", c.Keepalive)
	}
	if c.MaxReconnectInterval <= 0 {
		bad("max_reconnect_interval", "%v must be positive", c.MaxReconnectInterval)
	}
	if c.QoS < 0 || c.QoS > 2 {
		bad("qos", "%d is not 0, 1 or 2", c.QoS)
	}
	return errors.Join(errs...)
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// tlsConfig builds the TLS settings for ssl:// and wss:// URLs; nil for
// plain ones so paho never wraps a plain socket.
func (c Config) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if !schemes[u.Scheme] {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in by config
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
