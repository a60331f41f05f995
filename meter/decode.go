package meter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrShortData is returned when a response holds fewer bytes than a value
// or block needs.
var ErrShortData = errors.New("short register data")

// ErrNotFinite is returned for NaN or infinite values: no meter measures
// those, so they are treated as a failed read rather than shown.
var ErrNotFinite = errors.New("value is not finite")

// DecodeFloat32 decodes an IEEE-754 float32 held in two registers, high
// word first, each big-endian ("ABCD"), as Eastron meters send it.
func DecodeFloat32(b []byte) (float32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("float32 from %d bytes: %w", len(b), ErrShortData)
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b[:4])), nil
}

// EncodeFloat32 is the inverse of DecodeFloat32, for servers and tests.
func EncodeFloat32(v float32) [2]uint16 {
	bits := math.Float32bits(v)
	return [2]uint16{uint16(bits >> 16), uint16(bits)}
}

// Value is one decoded register of a block: its index in the map, the
// value, and the error when this value alone is unusable.
type Value struct {
	Index int
	Value float32
	Err   error
}

// Decode extracts the block's registers from the raw bytes of its
// response (2·Count bytes, registers in address order). A short response
// fails the whole block; a non-finite value fails only that register.
func (b Block) Decode(m *Map, raw []byte) ([]Value, error) {
	if len(raw) != 2*int(b.Count) {
		return nil, fmt.Errorf("block 0x%02x/0x%04x+%d: got %d bytes: %w", b.FC, b.Start, b.Count, len(raw), ErrShortData)
	}
	out := make([]Value, 0, len(b.Regs))
	for _, i := range b.Regs {
		off := 2 * int(m.Registers[i].Addr-b.Start)
		v, err := DecodeFloat32(raw[off : off+4])
		if err == nil && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			err = fmt.Errorf("%s: %w", m.Registers[i].Key(), ErrNotFinite)
		}
		out = append(out, Value{Index: i, Value: v, Err: err})
	}
	return out, nil
}
