// Package credentials keeps the secrets the daemon generates for itself:
// the WebAPI's bearer token and the embedded MQTT broker's password. Each
// lives in its own file in the state directory, readable by the daemon's
// user only, created on first start and kept across restarts, so a
// client configured once keeps working.
package credentials

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Mode is the permission of a secret's file.
const Mode fs.FileMode = 0o600

// Secret is a secret read from, or just written to, its file.
type Secret struct {
	Value string
	Path  string
	// Created: the file did not exist (or was empty) and was written now.
	Created bool
	// Tightened: the file was readable by others and is now Mode.
	Tightened bool
}

// Ensure returns the secret in path, generating one (32 random bytes, in
// hex: safe in a header, a YAML file or a shell) when the file is missing
// or empty. A file that others could read is made private again, since
// the secret may already have leaked: the caller should say so.
func Ensure(path string) (Secret, error) {
	s := Secret{Path: path}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		v := strings.TrimSpace(string(data))
		if v != "" {
			if strings.ContainsAny(v, " \t\r\n") || len(v) > 1024 {
				return s, fmt.Errorf("credentials: %s does not hold one secret (white space or over 1 KiB); delete it to have a new one generated", path)
			}
			s.Value = v
			fi, err := os.Stat(path)
			if err != nil {
				return s, fmt.Errorf("credentials: %w", err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				if err := os.Chmod(path, Mode); err != nil {
					return s, fmt.Errorf("credentials: making %s private: %w", path, err)
				}
				s.Tightened = true
			}
			return s, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("credentials: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return s, fmt.Errorf("credentials: %w", err)
	}
	s.Value = hex.EncodeToString(b[:])
	if err := settings.WriteFileAtomic(path, []byte(s.Value+"\n"), Mode); err != nil {
		return s, fmt.Errorf("credentials: %w", err)
	}
	s.Created = true
	return s, nil
}
