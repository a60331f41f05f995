// Package ocpp makes the charger an OCPP 1.6J charge point: it joins a
// central system (CSMS) over a websocket and serves the core, smart
// charging and remote trigger profiles over the charger seam (package
// charger), with no charger logic of its own beyond the protocol. Writes
// the central system asks for go through the command table (package
// command); what the seam lacks (an external current cap, availability)
// is asked for through small optional interfaces. Transaction messages
// go through a queue persisted in the state directory, so a session
// survives a dead link and a kill -9.
//
// The protocol itself is github.com/lorenzodonini/ocpp-go's charge-point
// role; this package adds the persisted queue, OCPP-level liveness and
// smart-charging composition around it.
package ocpp

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Config is the `ocpp:` section of the configuration file. An empty URL
// leaves OCPP off.
type Config struct {
	// URL is the central system's websocket endpoint, ws://… or wss://…;
	// the charge point id is appended.
	URL string `yaml:"url"`
	// ID is the charge point identity; "" means the device id.
	ID string `yaml:"id"`
	// Password is the HTTP Basic password (security profile 1 over ws,
	// 2 over wss); the user is the charge point id.
	Password string `yaml:"password"`
	// CAFile is the central system's CA (PEM) for wss.
	CAFile string `yaml:"ca_file"`
	// IDTag is the idTag of sessions started locally (MQTT, HTTP, auto
	// start).
	IDTag string `yaml:"id_tag"`
	// Liveness is how long the central system may answer nothing before
	// the socket is dropped and opened again; probed with Heartbeat.
	Liveness time.Duration `yaml:"liveness"`
}

// Defaults returns the section's defaults: off.
func Defaults() Config {
	return Config{IDTag: "evse-mqtt", Liveness: 5 * time.Minute}
}

// Enabled reports whether OCPP is configured.
func (c Config) Enabled() bool { return c.URL != "" }

// Validate reports every problem, each with its field path under prefix
// (e.g. "ocpp").
func (c Config) Validate(prefix string) error {
	var es []error
	add := func(field, format string, a ...any) {
		es = append(es, settings.FieldError{Field: prefix + "." + field, Reason: fmt.Sprintf(format, a...)})
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		switch {
		case err != nil || u.Host == "":
			add("url", "must be ws://host[:port]/path or wss://…, got %q", clip(c.URL))
		case u.Scheme != "ws" && u.Scheme != "wss":
			add("url", "scheme must be ws or wss, got %q", clip(u.Scheme))
		}
	}
	if len(c.ID) > 48 || !printable(c.ID) {
		add("id", "at most 48 printable characters without '/', got %q", clip(c.ID))
	}
	if c.IDTag == "" || len(c.IDTag) > 20 || !printable(c.IDTag) {
		add("id_tag", "1…20 printable characters (OCPP IdToken), got %q", clip(c.IDTag))
	}
	if len(c.Password) > 40 {
		add("password", "at most 40 characters (OCPP AuthorizationKey), got %d", len(c.Password))
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			add("ca_file", "%v", err)
		}
	}
	if c.Liveness < time.Second || c.Liveness > time.Hour {
		add("liveness", "must be 1s…1h, got %v", c.Liveness)
	}
	return errors.Join(es...)
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '/' {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
