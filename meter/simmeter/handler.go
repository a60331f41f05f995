package simmeter

import (
	"log"
	"strings"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/evse-mqtt/evse-mqtt/meter"
)

// inputEnd is past the last SDM72D-M-2 input register (0x0502).
const inputEnd = 0x0504

type handler struct{ s *Server }

func (h *handler) count(unit uint8) error {
	h.s.mu.Lock()
	h.s.requests++
	h.s.mu.Unlock()
	if unit != h.s.opts.UnitID {
		return modbus.ErrGWTargetFailedToRespond // what a bridge answers for a silent unit
	}
	return nil
}

// checkRange enforces the Eastron rules: even start, even count, at most
// MaxRegs registers.
func checkRange(addr, qty uint16) error {
	if qty > MaxRegs {
		return modbus.ErrIllegalDataValue
	}
	if addr%2 != 0 || qty%2 != 0 {
		return modbus.ErrIllegalDataAddress
	}
	return nil
}

func (h *handler) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (h *handler) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (h *handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	if err := h.count(req.UnitId); err != nil {
		return nil, err
	}
	if err := checkRange(req.Addr, req.Quantity); err != nil {
		return nil, err
	}
	if int(req.Addr)+int(req.Quantity) > inputEnd {
		return nil, modbus.ErrIllegalDataAddress
	}
	vals := h.s.values()
	out := make([]uint16, req.Quantity)
	for i := 0; i < int(req.Quantity); i += 2 {
		w := meter.EncodeFloat32(vals[req.Addr+uint16(i)]) // reserved addresses read 0
		out[i], out[i+1] = w[0], w[1]
	}
	return out, nil
}

// HandleHoldingRegisters serves the read-only identification and the
// serial settings a real meter would report; writes are refused.
func (h *handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if err := h.count(req.UnitId); err != nil {
		return nil, err
	}
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	if req.Quantity > MaxRegs {
		return nil, modbus.ErrIllegalDataValue
	}
	regs := map[uint16]uint16{
		0xFC00: uint16(h.s.opts.Serial >> 16), 0xFC01: uint16(h.s.opts.Serial),
		meter.CodeRegister: meter.CodeSDM72DMv2, 0xFC03: 0x0101,
	}
	for addr, f := range map[uint16]float32{0x0A: 3, 0x12: 0, 0x14: float32(h.s.opts.UnitID), 0x1C: 2} {
		w := meter.EncodeFloat32(f)
		regs[addr], regs[addr+1] = w[0], w[1]
	}
	out := make([]uint16, req.Quantity)
	for i := range out {
		v, ok := regs[req.Addr+uint16(i)]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

func newStdLogger(lg zerolog.Logger) *log.Logger {
	return log.New(debugWriter{lg.With().Str("component", "simmeter").Logger()}, "", 0)
}

type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
