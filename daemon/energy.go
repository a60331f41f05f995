package daemon

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// energyCounter keeps the charger's lifetime delivered energy, persisted
// atomically in the state directory so a kill -9 loses at most the energy
// since the last save, never the counter.
type energyCounter struct {
	path  string
	Total units.WattHours `json:"TotalWh"`
	last  units.WattSeconds
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
	e.saved = e.Total
	return e, nil
}

// observe adds what the session counter grew by since the last look; a
// counter that went down means a new session began.
func (e *energyCounter) observe(session units.WattSeconds) {
	if session < e.last {
		e.last = 0
	}
	e.Total += (session - e.last).WattHours()
	e.last = session
}

// save persists the total when it changed.
func (e *energyCounter) save() error {
	if e.Total == e.saved {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := settings.WriteFileAtomic(e.path, data, 0o644); err != nil {
		return err
	}
	e.saved = e.Total
	return nil
}
