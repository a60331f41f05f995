package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// modeFile keeps the charging mode in the state directory (mode.json),
// written atomically before the mode is put in force, so the charger
// comes back in the mode the user chose.
type modeFile struct{ path string }

type modeDoc struct {
	Mode string `json:"Mode"`
}

// load returns the persisted mode; now when none was saved. An unreadable
// file is an error (the caller keeps now and says so).
func (f modeFile) load() (controller.Mode, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return controller.ModeNow, nil
	}
	if err != nil {
		return controller.ModeNow, err
	}
	var d modeDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return controller.ModeNow, fmt.Errorf("%s: %w", f.path, err)
	}
	m, err := controller.ParseMode(d.Mode)
	if err != nil {
		return controller.ModeNow, fmt.Errorf("%s: %w", f.path, err)
	}
	return m, nil
}

func (f modeFile) save(m controller.Mode) error {
	data, err := json.Marshal(modeDoc{m.String()})
	if err != nil {
		return err
	}
	return settings.WriteFileAtomic(f.path, data, 0o644)
}

func newModeFile(dir string) modeFile { return modeFile{filepath.Join(dir, "mode.json")} }
