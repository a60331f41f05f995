package meter

import "fmt"

// Type is the WebAPI's Meter1Type/Meter2Type value.
type Type int

// Meter types as numbered by the WebAPI.
const (
	TypeNone       Type = 0 // no meter
	TypeRTUSDM72DM Type = 1 // Modbus RTU SDM72D-M
	TypeRTUNMID30  Type = 2 // Modbus RTU NMID30-2
	TypeRTUSDM120M Type = 3 // Modbus RTU SDM120M
	TypeIPSDM72DM  Type = 4 // SDM72D-M behind a Modbus IP bridge
	TypeIPNMID30   Type = 5 // NMID30-2 behind a Modbus IP bridge
	TypeIPSDM120M  Type = 6 // SDM120M behind a Modbus IP bridge
	TypeRemote     Type = 7 // remote supervisor (Meter2 only): not a meter
)

// Model is the meter model behind a Type.
type Model int

// Meter models.
const (
	ModelNone Model = iota
	ModelSDM72DM
	ModelNMID30
	ModelSDM120M
)

// IsMeter reports whether a poller reads this type (1..6).
func (t Type) IsMeter() bool { return t >= TypeRTUSDM72DM && t <= TypeIPSDM120M }

// IsIP reports whether the meter is reached through an IP bridge (4..6).
func (t Type) IsIP() bool { return t >= TypeIPSDM72DM && t <= TypeIPSDM120M }

// Model returns the meter model of a meter type, ModelNone otherwise.
func (t Type) Model() Model {
	switch t {
	case TypeRTUSDM72DM, TypeIPSDM72DM:
		return ModelSDM72DM
	case TypeRTUNMID30, TypeIPNMID30:
		return ModelNMID30
	case TypeRTUSDM120M, TypeIPSDM120M:
		return ModelSDM120M
	}
	return ModelNone
}

// String names the type as the guide does.
func (t Type) String() string {
	switch t {
	case TypeNone:
		return "none"
	case TypeRemote:
		return "remote control"
	}
	if !t.IsMeter() {
		return fmt.Sprintf("type %d", int(t))
	}
	bus := "RTU"
	if t.IsIP() {
		bus = "IP"
	}
	return bus + " " + t.Model().String()
}

// String names the model.
func (m Model) String() string {
	switch m {
	case ModelSDM72DM:
		return "SDM72D-M"
	case ModelNMID30:
		return "NMID30-2"
	case ModelSDM120M:
		return "SDM120M"
	}
	return "none"
}
