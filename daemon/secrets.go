package daemon

import (
	"fmt"
	"path/filepath"

	"github.com/evse-mqtt/evse-mqtt/credentials"
)

// APITokenFile is the generated WebAPI token's file in the state dir.
const APITokenFile = "api-token"

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
