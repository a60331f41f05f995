package pspbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DataStatus values of a register, as the guide names them.
const (
	DataValid        = "Valid"
	DataNotAvailable = "Not available"
)

// maxRegisters bounds ModbusData; the guide's SDM72D-M lists 9.
const maxRegisters = 256

// Meter is GET Meter1 or Meter2: the box's reading of one energy meter.
type Meter struct {
	N         int // 1 statistics, 2 control
	Uptime    time.Duration
	Registers []Register // in the box's order
}

// Register is one entry of ModbusData.
type Register struct {
	Key        string // "0x04_0x0034": function code and register address, lower-case hex
	Function   uint8
	Address    uint16
	Desc       string // as the meter maker names it: "TotalSystemPower[W]"
	Value      float64
	ErrCounter int
	DataStatus string // DataValid or DataNotAvailable
}

// Valid reports whether the value is current.
func (r Register) Valid() bool { return r.DataStatus == DataValid }

// DecodeMeter decodes GET Meter<n>: {"Meter<n>":{"TimeStamp":ms,
// "ModbusData":{key:{Desc,ErrCounter,Value,DataStatus}}}}. Registers keep
// the box's order. A key must be the guide's 0x<fc>_0x<addr>; a
// DataStatus other than the two the guide names is refused.
func DecodeMeter(b []byte, n int) (Meter, error) {
	doc := "Meter" + strconv.Itoa(n)
	fail := func(err error) (Meter, error) { return Meter{}, docError(doc, err) }
	if n != 1 && n != 2 {
		return fail(errors.New("meter number must be 1 or 2"))
	}
	top, err := readObject(b, maxMembers)
	if err != nil {
		return fail(err)
	}
	var body []byte
	for _, m := range top {
		if strings.EqualFold(m.Key, doc) {
			body = m.Raw
		}
	}
	if body == nil {
		return fail(fmt.Errorf("no %s object", doc))
	}
	ms, err := readObject(body, maxMembers)
	if err != nil {
		return fail(err)
	}
	mt := Meter{N: n}
	f := newFieldSet(doc)
	for _, m := range ms {
		name := canonical(m.Key, []string{"TimeStamp", "ModbusData"})
		if name == "" {
			continue
		}
		f.seen[name] = true
		switch name {
		case "TimeStamp":
			v, err := whole(m.Raw, 0, maxTimestampMs)
			if err != nil {
				f.fail(name, err)
			}
			mt.Uptime = time.Duration(v) * time.Millisecond
		case "ModbusData":
			regs, err := readObject(m.Raw, maxRegisters)
			if err != nil {
				f.fail(name, err)
				continue
			}
			for _, r := range regs {
				reg, err := decodeRegister(r)
				if err != nil {
					f.fail("ModbusData "+quote(r.Key), err)
					continue
				}
				mt.Registers = append(mt.Registers, reg)
			}
		}
	}
	f.require("ModbusData")
	if err := f.err(); err != nil {
		return Meter{}, err
	}
	return mt, nil
}

func decodeRegister(m member) (Register, error) {
	fc, addr, err := ParseRegisterKey(m.Key)
	if err != nil {
		return Register{}, err
	}
	reg := Register{Key: fmt.Sprintf("0x%02x_0x%04x", fc, addr), Function: fc, Address: addr}
	ms, err := readObject(m.Raw, maxMembers)
	if err != nil {
		return Register{}, err
	}
	names := []string{"Desc", "ErrCounter", "Value", "DataStatus"}
	seen := map[string]bool{}
	for _, mm := range ms {
		name := canonical(mm.Key, names)
		if name == "" {
			continue
		}
		seen[name] = true
		var err error
		switch name {
		case "Desc":
			reg.Desc, err = text(mm.Raw, 64)
		case "ErrCounter":
			reg.ErrCounter, err = gauge(mm.Raw)
		case "Value":
			reg.Value, err = number(mm.Raw, -1e15, 1e15)
		case "DataStatus":
			var s string
			if s, err = text(mm.Raw, 32); err == nil {
				switch {
				case strings.EqualFold(s, DataValid):
					reg.DataStatus = DataValid
				case strings.EqualFold(s, DataNotAvailable):
					reg.DataStatus = DataNotAvailable
				default:
					err = fmt.Errorf("DataStatus %s is neither %q nor %q", quote(s), DataValid, DataNotAvailable)
				}
			}
		}
		if err != nil {
			return Register{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, n := range names {
		if !seen[n] {
			return Register{}, fmt.Errorf("%s missing", n)
		}
	}
	return reg, nil
}

// ParseRegisterKey reads a ModbusData key, 0x<function code>_0x<register
// address> with 2 and 4 hex digits ("0x04_0x0034").
func ParseRegisterKey(k string) (fc uint8, addr uint16, err error) {
	bad := fmt.Errorf("register key %s is not 0x<fc>_0x<address>", quote(k))
	a, b, ok := strings.Cut(k, "_")
	if !ok || len(a) != 4 || len(b) != 6 || !strings.HasPrefix(a, "0x") || !strings.HasPrefix(b, "0x") {
		return 0, 0, bad
	}
	f, err1 := strconv.ParseUint(a[2:], 16, 8)
	r, err2 := strconv.ParseUint(b[2:], 16, 16)
	if err1 != nil || err2 != nil || strings.ContainsAny(a[2:]+b[2:], "+-_") {
		return 0, 0, bad
	}
	return uint8(f), uint16(r), nil
}
