package daemon

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// energyCounter keeps the charger's lifetime delivered energy, persisted
// atomically in the state directory so a kill -9 loses at most the energy
// since the last save, never the counter. The controller counts the
// energy of this process (across sessions and in-process restarts); the
// file adds what earlier processes delivered.
type energyCounter struct {
	mu    sync.Mutex
	path  string
	base  units.WattHours // from earlier processes
	Total units.WattHours `json:"TotalWh"`
	saved units.WattHours
}

func loadEnergy(dir string) (*energyCounter, error) {
	e := &energyCounter{path: filepath.Join(dir, "energy.json")}
	data, err := os.ReadFile(e.path)
	if errors.Is(err, fs.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, err
	}
	e.base, e.saved = e.Total, e.Total
	return e, nil
}

// observe takes the controller's energy delivered since the process
// started.
func (e *energyCounter) observe(process units.WattSeconds) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Total = e.base + process.WattHours()
}

// save persists the total when it changed.
func (e *energyCounter) save() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Total == e.saved {
		return nil
	}
	data, err := json.Marshal(struct {
		TotalWh units.WattHours
	}{e.Total})
	if err != nil {
		return err
	}
	if err := settings.WriteFileAtomic(e.path, data, 0o644); err != nil {
		return err
	}
	e.saved = e.Total
	return nil
}

// total is the lifetime energy as last observed.
func (e *energyCounter) total() units.WattHours {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Total
}
