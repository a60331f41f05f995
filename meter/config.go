package meter

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/simonvetter/modbus"
)

// Config is the transport and polling configuration of one meter. The
// meter's type and IP address come from the WebAPI settings
// (MeterNType/MeterNIp); these are the details the WebAPI has no field for.
// Zero values mean "default" (see Resolve).
type Config struct {
	Device   string `yaml:"device"`    // serial device for RTU types, e.g. /dev/ttyUSB0
	Baud     int    `yaml:"baud"`      // 0: per the manual (9600; SDM120M 2400)
	Parity   string `yaml:"parity"`    // none (default), even, odd
	StopBits int    `yaml:"stop_bits"` // 0: 1
	UnitID   int    `yaml:"unit_id"`   // 0: 1
	// Framing for IP types: "tcp" (Modbus TCP, default) or "rtuovertcp"
	// (raw RTU frames through a transparent bridge).
	Framing   string        `yaml:"framing"`
	Period    time.Duration `yaml:"period"`    // 0: 1 s statistics, 500 ms control
	Staleness time.Duration `yaml:"staleness"` // 0: three periods
	Timeout   time.Duration `yaml:"timeout"`   // 0: from baud and block size (RTU), 1 s (IP)
	// Variant of an SDM72D-M: "auto" (meter code at 0xFC02, default), "v1"
	// or "v2".
	Variant string `yaml:"variant"`
	// MapFile replaces the built-in register map with a YAML map.
	MapFile string `yaml:"map_file"`
}

// Defaults.
const (
	DefaultPeriodStatistics = time.Second
	DefaultPeriodControl    = 500 * time.Millisecond
	DefaultIPPort           = "502"
	DefaultIPTimeout        = time.Second
)

// Parity and framing names.
const (
	ParityNone     = "none"
	ParityEven     = "even"
	ParityOdd      = "odd"
	FramingTCP     = "tcp"
	FramingRTUOver = "rtuovertcp"
	VariantAuto    = "auto"
	VariantV1      = "v1"
	VariantV2      = "v2"
)

var validBauds = map[int]bool{1200: true, 2400: true, 4800: true, 9600: true, 19200: true, 38400: true}

// Resolve fills zero fields with the defaults for a meter of type t;
// control selects the control meter's faster period.
func (c Config) Resolve(t Type, control bool) Config {
	if c.Baud == 0 {
		c.Baud = 9600
		if t.Model() == ModelSDM120M {
			c.Baud = 2400 // SDM120M protocol v2.5
		}
	}
	if c.Parity == "" {
		c.Parity = ParityNone
	}
	if c.StopBits == 0 {
		c.StopBits = 1 // 8N1; the modbus library would pick 2 without parity
	}
	if c.UnitID == 0 {
		c.UnitID = 1
	}
	if c.Framing == "" {
		c.Framing = FramingTCP
	}
	if c.Period == 0 {
		c.Period = DefaultPeriodStatistics
		if control {
			c.Period = DefaultPeriodControl
		}
	}
	if c.Staleness == 0 {
		c.Staleness = 3 * c.Period
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultIPTimeout
		if !t.IsIP() && c.Baud > 0 {
			// the longest reply (5 + 2·80 bytes) at 11 bits per character, plus
			// 300 ms for the meter to answer
			c.Timeout = 300*time.Millisecond + time.Duration(11*(5+2*limitSDM630Like))*time.Second/time.Duration(c.Baud)
		}
	}
	if c.Variant == "" {
		c.Variant = VariantAuto
	}
	return c
}

// FieldError is one configuration problem with its field path.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Validate checks a resolved config for a meter of type t reached at
// address (MeterNIp, for IP types) and reports every problem, each with
// its path under prefix (e.g. "meters.meter1").
func (c Config) Validate(prefix string, t Type, address string) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Path: prefix + "." + field, Msg: fmt.Sprintf(format, a...)})
	}
	if t.IsMeter() && !t.IsIP() && c.Device == "" {
		bad("device", "required for %s", t)
	}
	if t.IsIP() {
		if _, err := IPAddress(address); err != nil {
			bad("ip", "%v", err)
		}
	}
	if !validBauds[c.Baud] {
		bad("baud", "%d is not one of 1200, 2400, 4800, 9600, 19200, 38400", c.Baud)
	}
	if _, err := parityCode(c.Parity); err != nil {
		bad("parity", "%v", err)
	}
	if c.StopBits != 1 && c.StopBits != 2 {
		bad("stop_bits", "%d is not 1 or 2", c.StopBits)
	}
	if c.UnitID < 1 || c.UnitID > 247 {
		bad("unit_id", "%d not in 1..247", c.UnitID)
	}
	if c.Framing != FramingTCP && c.Framing != FramingRTUOver {
		bad("framing", "%q is not %q or %q", c.Framing, FramingTCP, FramingRTUOver)
	}
	if c.Period < 100*time.Millisecond {
		bad("period", "%v is shorter than 100ms", c.Period)
	}
	if c.Staleness < c.Period {
		bad("staleness", "%v is shorter than the period %v", c.Staleness, c.Period)
	}
	if c.Timeout <= 0 {
		bad("timeout", "%v must be positive", c.Timeout)
	}
	if c.Variant != VariantAuto && c.Variant != VariantV1 && c.Variant != VariantV2 {
		bad("variant", "%q is not auto, v1 or v2", c.Variant)
	}
	return errors.Join(errs...)
}

// LinkConfig returns the transport for a meter of type t at address.
func (c Config) LinkConfig(t Type, address string) (LinkConfig, error) {
	p, err := parityCode(c.Parity)
	if err != nil {
		return LinkConfig{}, err
	}
	lc := LinkConfig{Baud: uint(c.Baud), Parity: p, StopBits: uint(c.StopBits), Timeout: c.Timeout}
	if !t.IsIP() {
		lc.URL = "rtu://" + c.Device
		return lc, nil
	}
	hp, err := IPAddress(address)
	if err != nil {
		return LinkConfig{}, err
	}
	lc.URL = c.Framing + "://" + hp
	return lc, nil
}

// IPAddress turns MeterNIp ("host" or "host:port") into host:port with the
// default Modbus port 502.
func IPAddress(s string) (string, error) {
	if s == "" {
		return "", errors.New("address is empty")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// no port: the whole string is the host (IPv6 literals need brackets)
		if net.ParseIP(s) == nil && !validHostname(s) {
			return "", fmt.Errorf("%q is not host or host:port", s)
		}
		return net.JoinHostPort(s, DefaultIPPort), nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: bad port", s)
	}
	if host == "" {
		return "", fmt.Errorf("%q: empty host", s)
	}
	return net.JoinHostPort(host, port), nil
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func parityCode(p string) (uint, error) {
	switch p {
	case ParityNone:
		return modbus.PARITY_NONE, nil
	case ParityEven:
		return modbus.PARITY_EVEN, nil
	case ParityOdd:
		return modbus.PARITY_ODD, nil
	}
	return 0, fmt.Errorf("%q is not none, even or odd", p)
}
