package pspbox

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// SystemConfig is GET SystemConfig: the box's settings, in the project's
// settings type so the same validation rules apply to a write.
type SystemConfig struct {
	Uptime        time.Duration // TimeStamp
	SystemVersion string
	settings.Settings
}

// Plausible bounds of the box's settings. They are wider than our write
// rules (settings.Validate): a box set up by its own app may hold values we
// would not write, and reading them must still work.
var configBounds = map[string][2]int64{
	"ChargerMode":        {0, 1},
	"LockMethod":         {0, 1},
	"ChargeCurrent":      {0, maxAmps},
	"ChargeCurrentBoost": {0, maxAmps},
	"Meter1Type":         {0, settings.MeterIPSDM120},
	"Meter2Type":         {0, settings.MeterRemoteSuperv},
	"PhaseCurrentLimit":  {0, maxAmps},
	"ControlStrategy":    {0, 1},
	"ControlLimit":       {0, maxWatts},
}

// DecodeSystemConfig decodes GET SystemConfig. Every settings field is
// required (a write is planned against them); TimeStamp and SystemVersion
// may be missing. Whole numbers may come as floats (16.0).
func DecodeSystemConfig(b []byte) (SystemConfig, error) {
	ms, err := readObject(b, maxMembers)
	if err != nil {
		return SystemConfig{}, docError("SystemConfig", err)
	}
	var c SystemConfig
	f := newFieldSet("SystemConfig")
	names := []string{"TimeStamp", "SystemVersion"}
	for _, fd := range settings.Fields {
		names = append(names, fd.Name)
	}
	for _, m := range ms {
		name := canonical(m.Key, names)
		if name == "" {
			continue
		}
		f.seen[name] = true
		if err := c.set(name, m.Raw); err != nil {
			f.fail(name, err)
		}
	}
	f.require(names[2:]...)
	if err := f.err(); err != nil {
		return SystemConfig{}, err
	}
	return c, nil
}

func (c *SystemConfig) set(name string, raw []byte) error {
	switch name {
	case "TimeStamp":
		v, err := whole(raw, 0, maxTimestampMs)
		c.Uptime = time.Duration(v) * time.Millisecond
		return err
	case "SystemVersion":
		var err error
		c.SystemVersion, err = text(raw, 32)
		return err
	}
	fd, _ := settings.LookupField(name)
	switch fd.Kind {
	case settings.KindBool:
		v, err := boolean(raw)
		if err == nil {
			setField(&c.Settings, name, v)
		}
		return err
	case settings.KindString:
		v, err := text(raw, 253+6) // a host name and a port
		if err == nil {
			setField(&c.Settings, name, v)
		}
		return err
	}
	bound := configBounds[name]
	v, err := whole(raw, bound[0], bound[1])
	if err == nil {
		setField(&c.Settings, name, int(v))
	}
	return err
}

// setField stores v in the field called name. settings keeps its field
// pointers private, so the assignment is spelled out once here.
func setField(s *settings.Settings, name string, v any) {
	switch name {
	case "ChargerMode":
		s.ChargerMode = v.(int)
	case "LockMethod":
		s.LockMethod = v.(int)
	case "ChargeCurrent":
		s.ChargeCurrent = v.(int)
	case "ChargeCurrentBoost":
		s.ChargeCurrentBoost = v.(int)
	case "Meter1Type":
		s.Meter1Type = v.(int)
	case "Meter1Ip":
		s.Meter1Ip = v.(string)
	case "Meter2Type":
		s.Meter2Type = v.(int)
	case "Meter2Ip":
		s.Meter2Ip = v.(string)
	case "PhaseCurrentLimit":
		s.PhaseCurrentLimit = v.(int)
	case "ControlStrategy":
		s.ControlStrategy = v.(int)
	case "ControlLimit":
		s.ControlLimit = v.(int)
	case "ChargeAutoStart":
		s.ChargeAutoStart = v.(bool)
	case "Charge3Phase":
		s.Charge3Phase = v.(bool)
	}
}
