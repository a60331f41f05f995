package daemon

import (
	"fmt"
	"path/filepath"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/broker"
	"github.com/evse-mqtt/evse-mqtt/credentials"
)

// APITokenFile is the generated WebAPI token's file in the state dir.
const APITokenFile = "api-token"

// MQTTPasswordFile is the embedded broker's generated password's file in
// the state dir; the username is MQTTUser.
const (
	MQTTPasswordFile = "mqtt-password"
	MQTTUser         = "evse"
)

// apiToken gives the WebAPI a token when the configuration has no
// credentials, so writes from beyond loopback need one by default. The
// token itself is never logged: logs reach more people than the state
// dir (journal readers, log shippers, a log pasted into a bug report);
// the log says where the file is and how to use it.
func (d *Daemon) apiToken() error {
	c := &d.cfg.HTTP.Config
	if c.HasCredentials() {
		return nil
	}
	s, err := credentials.Ensure(filepath.Join(d.cfg.StateDir, APITokenFile))
	if err != nil {
		return fmt.Errorf("API token: %w", err)
	}
	c.Token = s.Value
	if s.Tightened {
		d.log.Warn().Str("token_file", s.Path).Msg("the API token file was readable by others and is now private (0600); if someone may have read it, delete it and restart for a new token")
	}
	d.log.Info().Str("token_file", s.Path).Bool("generated", s.Created).
		Msg(fmt.Sprintf(`writes from other hosts need the API token: curl -H "Authorization: Bearer $(cat '%s')" -d '{...}' http://<charger>:<port>/webapi/v1/...`, s.Path))
	return nil
}

// startBroker starts the embedded broker for cfg and makes the bridge log
// in to it. Configured mqtt.username/password are required of every
// client. Without them a broker on loopback stays anonymous, as before;
// one that other hosts can reach gets a generated password (user "evse",
// password in the state dir), since the daemon takes commands on it.
// cfg gets the login only once the broker runs: if it cannot start
// (e.g. the port is taken), a generated password must not be offered to
// whatever else listens there.
func (d *Daemon) startBroker(cfg *bridge.Config) (*broker.Broker, error) {
	user, pass := cfg.Username, cfg.Password
	var opts []broker.Option
	switch {
	case user != "" && pass != "":
		opts = append(opts, broker.WithCredentials(user, pass))
	case !broker.Loopback(cfg.EmbeddedListen):
		s, err := credentials.Ensure(filepath.Join(d.cfg.StateDir, MQTTPasswordFile))
		if err != nil {
			return nil, fmt.Errorf("MQTT password: %w", err)
		}
		if user == "" {
			user = MQTTUser
		}
		pass = s.Value
		opts = append(opts, broker.WithCredentials(user, pass))
		if s.Tightened {
			d.log.Warn().Str("password_file", s.Path).Msg("the MQTT password file was readable by others and is now private (0600); if someone may have read it, delete it and restart for a new password")
		}
		d.log.Info().Str("listen", cfg.EmbeddedListen).Str("username", user).Str("password_file", s.Path).Bool("generated", s.Created).
			Msg(fmt.Sprintf(`the embedded broker listens beyond loopback and needs a login: mosquitto_sub -u %s -P "$(cat '%s')" -h <charger> -t 'evse/#'`, user, s.Path))
	}
	b, err := broker.Start(cfg.EmbeddedListen, d.log, opts...)
	if err != nil {
		return nil, err
	}
	cfg.Username, cfg.Password = user, pass
	return b, nil
}
