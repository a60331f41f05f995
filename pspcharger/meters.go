package pspcharger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/discovery"
)

// MeterDocument renders GET Meter<n> with the registers as the box gave
// them (its keys, order, Desc, Value, ErrCounter and DataStatus), nil when
// the box has no such meter or it was not read yet.
func (c *Charger) MeterDocument(n int, timestampMs int64) []byte {
	if n < 1 || n > 2 {
		return nil
	}
	c.mu.RLock()
	m := c.meters[n-1]
	c.mu.RUnlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"Meter%d":{"TimeStamp":%d,"ModbusData":{`, n, timestampMs)
	if m != nil {
		for i, r := range m.Registers {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, r.Key)
			b.WriteString(`:{"Desc":`)
			writeString(&b, r.Desc)
			b.WriteString(`,"ErrCounter":`)
			b.WriteString(strconv.Itoa(r.ErrCounter))
			b.WriteString(`,"Value":`)
			b.WriteString(strconv.FormatFloat(r.Value, 'f', -1, 64))
			b.WriteString(`,"DataStatus":`)
			writeString(&b, r.DataStatus)
			b.WriteByte('}')
		}
	}
	b.WriteString("}}}")
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)
	b.Truncate(b.Len() - 1)
}

// MeterGauge is Status' Meter<n>Status as the box reports it.
func (c *Charger) MeterGauge(n int) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n == 1 {
		return c.raw.Meter1Status
	}
	return c.raw.Meter2Status
}

// MeterRegisters lists meter n's registers for Home Assistant sensors.
func (c *Charger) MeterRegisters(n int) []discovery.MeterRegister {
	c.mu.RLock()
	m := c.meters[n-1]
	c.mu.RUnlock()
	if m == nil {
		return nil
	}
	var regs []discovery.MeterRegister
	for _, r := range m.Registers {
		if strings.TrimSpace(r.Desc) == "" {
			continue // nothing to name a sensor by
		}
		regs = append(regs, discovery.MeterRegister{Meter: n, Key: r.Key, Desc: r.Desc})
	}
	return regs
}
