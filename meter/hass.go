package meter

import "strings"

// HAEntity is how Home Assistant should present a register: its
// device_class, state_class and unit_of_measurement ("" means omit).
type HAEntity struct {
	DeviceClass string
	StateClass  string
	Unit        string
}

// HA returns the Home Assistant presentation of a register, from its unit:
// energy counters are total_increasing except a net counter, which can
// fall; everything else is a measurement.
func (r Register) HA() HAEntity {
	switch r.Unit {
	case "W":
		return HAEntity{"power", "measurement", "W"}
	case "kWh", "Wh":
		if strings.HasPrefix(r.Desc, "Net") {
			return HAEntity{"energy", "total", r.Unit}
		}
		return HAEntity{"energy", "total_increasing", r.Unit}
	case "V":
		return HAEntity{"voltage", "measurement", "V"}
	case "A":
		return HAEntity{"current", "measurement", "A"}
	case "Hz":
		return HAEntity{"frequency", "measurement", "Hz"}
	case "VA":
		return HAEntity{"apparent_power", "measurement", "VA"}
	case "VAr":
		return HAEntity{"reactive_power", "measurement", "var"}
	case "kVArh":
		return HAEntity{"", "total_increasing", "kvarh"}
	case "":
		if strings.Contains(r.Desc, "PowerFactor") {
			return HAEntity{"power_factor", "measurement", ""}
		}
	}
	return HAEntity{"", "measurement", r.Unit}
}
