package meter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// WebAPI DataStatus values.
const (
	StatusValid        = "Valid"
	StatusNotAvailable = "Not available"
)

// RegisterState is one register as the WebAPI and MQTT show it.
type RegisterState struct {
	Register
	// Value is the last good value; 0 when the register was never read.
	Value      float64
	ErrCounter int
	// Valid is true when the last good value is younger than the
	// staleness limit.
	Valid bool
}

// DataStatus is the WebAPI DataStatus string.
func (s RegisterState) DataStatus() string {
	if s.Valid {
		return StatusValid
	}
	return StatusNotAvailable
}

// Health is the poller's communication state.
type Health struct {
	Healthy             bool   // the last poll read every register
	ConsecutiveFailures int    // polls in a row with an error; the MeterNStatus gauge
	NotAvailable        int    // registers whose DataStatus is "Not available"
	LastError           string // of the last poll, "" when it succeeded
}

// Snapshot returns every register of the current map, in map order.
func (p *Poller) Snapshot() []RegisterState {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]RegisterState, len(p.m.Registers))
	for i, r := range p.m.Registers {
		s := p.regs[i]
		out[i] = RegisterState{Register: r, Value: s.value, ErrCounter: s.errs,
			Valid: !s.lastGood.IsZero() && now.Sub(s.lastGood) <= p.cfg.Staleness}
	}
	return out
}

// Registers returns the current map's register metadata (key via
// Register.Key, Desc, Unit, Role) for Home Assistant discovery. An
// SDM72D-M in auto mode shows the v1 set until its variant is detected;
// MapName tells which map is in use.
func (p *Poller) Registers() []Register {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Register(nil), p.m.Registers...)
}

// MapName names the register map in use, e.g. "SDM72D-M-2".
func (p *Poller) MapName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m.Name
}

// Plan returns the current block plan (after any splits).
func (p *Poller) Plan() []Block {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Block(nil), p.plan...)
}

// Health returns the communication state.
func (p *Poller) Health() Health {
	snap := p.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	h := Health{Healthy: p.healthy, ConsecutiveFailures: p.failures}
	if p.lastErr != nil {
		h.LastError = p.lastErr.Error()
	}
	for _, s := range snap {
		if !s.Valid {
			h.NotAvailable++
		}
	}
	return h
}

// ErrorGauge is the MeterNStatus value: 0 while the meter reads cleanly,
// otherwise the number of consecutive failed polls.
func (p *Poller) ErrorGauge() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failures
}

// WebAPI renders GET /webapi/v1/MeterN for this meter; timestampMs is the
// daemon's milliseconds since start.
func (p *Poller) WebAPI(timestampMs int64) []byte {
	return RenderWebAPI(p.name, timestampMs, p.Snapshot())
}

// RenderWebAPI renders {"<name>":{"TimeStamp":ms,"ModbusData":{...}}} with
// the registers in the given order (JSON objects from Go maps would be
// sorted). With no registers (meter type 0) ModbusData is {}.
func RenderWebAPI(name string, timestampMs int64, regs []RegisterState) []byte {
	var b bytes.Buffer
	b.WriteString("{")
	writeJSONString(&b, name)
	b.WriteString(`:{"TimeStamp":`)
	b.WriteString(strconv.FormatInt(timestampMs, 10))
	b.WriteString(`,"ModbusData":{`)
	for i, s := range regs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, s.Key())
		b.WriteString(`:{"Desc":`)
		writeJSONString(&b, s.Desc)
		b.WriteString(`,"ErrCounter":`)
		b.WriteString(strconv.Itoa(s.ErrCounter))
		b.WriteString(`,"Value":`)
		v, err := json.Marshal(s.Value)
		if err != nil {
			v = []byte("0") // non-finite values never get stored; be safe anyway
		}
		b.Write(v)
		b.WriteString(`,"DataStatus":`)
		writeJSONString(&b, s.DataStatus())
		b.WriteByte('}')
	}
	b.WriteString("}}}")
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s) // a string always marshals
	b.Write(j)
}

// reading builds the controller's view from one poll's values.
func reading(m *Map, got map[int]float32, at time.Time) hw.MeterReading {
	r := hw.MeterReading{At: at, HasPhases: m.HasPhases()}
	for i, reg := range m.Registers {
		v, ok := got[i]
		if !ok {
			continue
		}
		f := float64(v)
		switch reg.Role {
		case RoleTotalPower:
			r.Power = units.Watts(f)
		case RoleImportEnergy:
			r.ImportEnergy = units.WattHours(f * 1000) // meters count kWh
			if reg.Unit == "Wh" {
				r.ImportEnergy = units.WattHours(f) // a user map may say otherwise
			}
		case RoleVoltageL1, RoleVoltageL2, RoleVoltageL3:
			r.PhaseVoltage[phaseOf(reg.Role)] = units.Volts(f)
		case RoleCurrentL1, RoleCurrentL2, RoleCurrentL3:
			r.PhaseCurrent[phaseOf(reg.Role)] = units.Amps(f)
		case RolePowerL1, RolePowerL2, RolePowerL3:
			r.PhasePower[phaseOf(reg.Role)] = units.Watts(f)
		}
	}
	return r
}

func phaseOf(r Role) int {
	switch r {
	case RoleVoltageL2, RoleCurrentL2, RolePowerL2:
		return 1
	case RoleVoltageL3, RoleCurrentL3, RolePowerL3:
		return 2
	}
	return 0
}
