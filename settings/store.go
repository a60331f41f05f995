package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// WriteFileAtomic writes data to path so that a crash or kill -9 at any
// moment leaves either the old or the new content: write a temporary file
// in the same directory, fsync it, rename it over the target, fsync the
// directory so the rename itself is durable.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: open dir: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	return nil
}

// Store persists the runtime settings as JSON in a state directory.
type Store struct {
	Path string
}

// NewStore returns the store for dir (file settings.json), creating dir.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	RemoveStaleTemps(dir)
	return &Store{Path: filepath.Join(dir, "settings.json")}, nil
}

// RemoveStaleTemps deletes temporary files that a write interrupted by a
// crash or kill -9 left behind in dir (the target files themselves are
// always whole).
func RemoveStaleTemps(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, f := range stale {
		_ = os.Remove(f)
	}
}

// ErrNoSettings means nothing has been persisted yet.
var ErrNoSettings = errors.New("no persisted settings")

// Load reads the persisted settings on top of base (so a field added in a
// newer version keeps base's value). It returns ErrNoSettings when the file
// does not exist.
func (st *Store) Load(base Settings) (Settings, error) {
	data, err := os.ReadFile(st.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return base, ErrNoSettings
	}
	if err != nil {
		return base, fmt.Errorf("settings: %w", err)
	}
	s, err := decodeFile(base, data)
	if err != nil {
		return base, fmt.Errorf("settings: %s: %w", st.Path, err)
	}
	return s, nil
}

// decodeFile reads a settings file on top of base with the same strict
// rules as every write surface (a hand-edited null, "16" or duplicate key
// is an error, not a silent default). A name this version does not know
// is skipped: a newer version may have written it.
func decodeFile(base Settings, data []byte) (Settings, error) {
	obj, err := jsonstrict.ObjectBytes(data)
	if err != nil {
		return base, err
	}
	s := base
	seen := map[string]string{}
	for k, raw := range obj {
		f, ok := LookupField(k)
		if !ok {
			continue
		}
		if prev, dup := seen[f.Name]; dup {
			return base, fmt.Errorf("%s given twice (also as %s)", jsonstrict.Quote(k), jsonstrict.Quote(prev))
		}
		seen[f.Name] = k
		if err := f.decode(&s, raw); err != nil {
			return base, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return s, nil
}

// Save persists s atomically. When the file already holds exactly these
// settings it writes nothing: a client that repeats the same write (a
// home automation re-sending its config, 70 times a second under load)
// must not rewrite and fsync flash each time.
func (st *Store) Save(s Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if cur, err := os.ReadFile(st.Path); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	return WriteFileAtomic(st.Path, data, 0o644)
}

// Remove deletes the persisted settings (factory default).
func (st *Store) Remove() error {
	err := os.Remove(st.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
