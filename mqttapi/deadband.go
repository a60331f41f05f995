package mqttapi

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
)

// Meter documents carry fast-changing values (voltages, per-phase powers
// and currents) that move a little at every poll. Republished on every
// change they flood Home Assistant's recorder, so a document goes out
// when a value moved by more than its unit's deadband (or anything else
// changed: a register, an error count, a data status), and in any case
// with every heartbeat (Pacing.MaxInterval), which refreshes the rest.

// deadbands per unit (the bracket in a register's Desc, "L1Voltage[V]").
var deadbands = map[string]float64{
	"V": 2, "A": 0.2, "W": 50, "VA": 50, "VAr": 50, "var": 50, "Hz": 0.05,
}

// band is a register's deadband; 0 (any change) for counters (kWh) and
// values without a known unit.
func band(desc string) float64 {
	i, j := strings.LastIndexByte(desc, '['), strings.LastIndexByte(desc, ']')
	if i < 0 || j <= i {
		return 0
	}
	return deadbands[desc[i+1:j]]
}

type regState struct {
	Desc       string
	ErrCounter int
	Value      float64
	DataStatus string
}

// registers reads a meter document's ModbusData; ok false when it does
// not parse (then any byte change counts).
func registers(doc []byte) (map[string]regState, bool) {
	var d map[string]struct {
		ModbusData map[string]regState
	}
	if err := json.Unmarshal(doc, &d); err != nil || len(d) != 1 {
		return nil, false
	}
	for _, m := range d {
		return m.ModbusData, true
	}
	return nil, false
}

// significant reports whether next (a meter document without its
// timestamp) differs from prev, the last one published, by more than the
// deadbands.
func significant(prev, next []byte) bool {
	if prev == nil || bytes.Equal(prev, next) {
		return prev == nil
	}
	a, okA := registers(prev)
	b, okB := registers(next)
	if !okA || !okB || len(a) != len(b) {
		return true
	}
	for k, y := range b {
		x, ok := a[k]
		if !ok || x.Desc != y.Desc || x.ErrCounter != y.ErrCounter || x.DataStatus != y.DataStatus {
			return true
		}
		if d := math.Abs(y.Value - x.Value); d > band(y.Desc) || math.IsNaN(d) {
			return true
		}
	}
	return false
}
