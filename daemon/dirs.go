package daemon

import (
	"os"
	"path/filepath"
	"strings"
)

// Where a packaged daemon finds its files without being told: systemd
// passes ConfigurationDirectory= and StateDirectory= as the environment
// variables below, and the container image sets the same two to
// /etc/evse-mqtt and /data. Both are defaults of the lowest rank: an
// explicit flag or EVSE_* variable wins, and the YAML's state_dir wins
// over STATE_DIRECTORY, so nothing the image sets overrides a mounted
// configuration.
const (
	configDirEnv = "CONFIGURATION_DIRECTORY"
	stateDirEnv  = "STATE_DIRECTORY"
	// ConfigFileName is the file looked for in $CONFIGURATION_DIRECTORY.
	ConfigFileName = "config.yaml"
)

// FoundConfig returns $CONFIGURATION_DIRECTORY/config.yaml when that file
// exists, else "" (the simulator's defaults). A path that exists but
// cannot be read is returned too, so loading it reports why.
func FoundConfig() string {
	dir := firstDir(os.Getenv(configDirEnv))
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, ConfigFileName)
	if _, err := os.Lstat(p); err != nil {
		return ""
	}
	return p
}

// systemdStateDir is the first directory of $STATE_DIRECTORY, or "".
func systemdStateDir() string { return firstDir(os.Getenv(stateDirEnv)) }

// firstDir takes the first of systemd's colon-separated directories.
func firstDir(v string) string {
	d, _, _ := strings.Cut(v, ":")
	return d
}
