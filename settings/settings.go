// Package settings holds the charger's runtime settings — the vendor's
// SystemConfig fields — with their defaults, the one set of validation rules
// that every entry point (YAML, WebAPI, MQTT) goes through, and their atomic
// persistence under the state directory.
package settings

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// Charger modes (SystemConfig ChargerMode).
const (
	ModeCaseC = 0 // tethered cable: no proximity pilot, no lock
	ModeCaseB = 1 // socket: PP-coded cable and a cable lock
)

// Meter types (SystemConfig Meter1Type / Meter2Type).
const (
	MeterNone         = 0
	MeterRTUSDM72D    = 1
	MeterRTUNMID30    = 2
	MeterRTUSDM120    = 3
	MeterIPSDM72D     = 4
	MeterIPNMID30     = 5
	MeterIPSDM120     = 6
	MeterRemoteSuperv = 7 // Meter2 only: an external supervisor sets the power
)

// MinCurrent is the smallest current IEC 61851 lets an EVSE advertise.
const MinCurrent = 6

// Settings are the vendor's SystemConfig fields. JSON names are the
// WebAPI's; the YAML names are the same so a user can copy them.
type Settings struct {
	ChargerMode        int    `json:"ChargerMode" yaml:"ChargerMode"`
	LockMethod         int    `json:"LockMethod" yaml:"LockMethod"`
	ChargeCurrent      int    `json:"ChargeCurrent" yaml:"ChargeCurrent"`
	ChargeCurrentBoost int    `json:"ChargeCurrentBoost" yaml:"ChargeCurrentBoost"`
	Meter1Type         int    `json:"Meter1Type" yaml:"Meter1Type"`
	Meter1Ip           string `json:"Meter1Ip" yaml:"Meter1Ip"`
	Meter2Type         int    `json:"Meter2Type" yaml:"Meter2Type"`
	Meter2Ip           string `json:"Meter2Ip" yaml:"Meter2Ip"`
	PhaseCurrentLimit  int    `json:"PhaseCurrentLimit" yaml:"PhaseCurrentLimit"`
	ControlStrategy    int    `json:"ControlStrategy" yaml:"ControlStrategy"`
	ControlLimit       int    `json:"ControlLimit" yaml:"ControlLimit"`
	ChargeAutoStart    bool   `json:"ChargeAutoStart" yaml:"ChargeAutoStart"`
	Charge3Phase       bool   `json:"Charge3Phase" yaml:"Charge3Phase"`
}

// Defaults returns the factory settings: a Case C charger at 16 A on three
// phases with auto start, no meters and no power limiting.
func Defaults() Settings {
	return Settings{
		ChargerMode:        ModeCaseC,
		LockMethod:         0,
		ChargeCurrent:      16,
		ChargeCurrentBoost: 16,
		Meter1Type:         MeterNone,
		Meter2Type:         MeterNone,
		PhaseCurrentLimit:  25,
		ControlStrategy:    0,
		ControlLimit:       11000,
		ChargeAutoStart:    true,
		Charge3Phase:       true,
	}
}

// FieldError is one validation problem, named by its field path.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// Errors is a list of validation problems; it is an error when non-empty.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// IsIPMeter reports whether a meter type is reached over IP.
func IsIPMeter(t int) bool { return t >= MeterIPSDM72D && t <= MeterIPSDM120 }

// IsModbusMeter reports whether a meter type is a Modbus energy meter.
func IsModbusMeter(t int) bool { return t >= MeterRTUSDM72D && t <= MeterIPSDM120 }

// Validate checks every rule and reports every problem, each with its
// field name prefixed by prefix (e.g. "settings." for the YAML file).
// hwMax is the installation's hardware maximum current.
func (s Settings) Validate(prefix string, hwMax int) Errors {
	var es Errors
	add := func(f, format string, a ...any) {
		es = append(es, FieldError{Field: prefix + f, Reason: fmt.Sprintf(format, a...)})
	}
	if s.ChargerMode != ModeCaseC && s.ChargerMode != ModeCaseB {
		add("ChargerMode", "must be 0 (Case C, tethered) or 1 (Case B, socket), got %d", s.ChargerMode)
	}
	if s.LockMethod != 0 && s.LockMethod != 1 {
		add("LockMethod", "must be 0 (solenoid) or 1 (servomotor), got %d", s.LockMethod)
	}
	if s.ChargeCurrent < MinCurrent || s.ChargeCurrent > hwMax {
		add("ChargeCurrent", "must be %d…%d A (hardware maximum), got %d", MinCurrent, hwMax, s.ChargeCurrent)
	}
	if s.ChargeCurrentBoost < MinCurrent || s.ChargeCurrentBoost > hwMax {
		add("ChargeCurrentBoost", "must be %d…%d A (hardware maximum), got %d", MinCurrent, hwMax, s.ChargeCurrentBoost)
	} else if s.ChargeCurrentBoost < s.ChargeCurrent {
		add("ChargeCurrentBoost", "must be at least ChargeCurrent (%d A), got %d", s.ChargeCurrent, s.ChargeCurrentBoost)
	}
	if s.Meter1Type < MeterNone || s.Meter1Type > MeterIPSDM120 {
		add("Meter1Type", "must be 0…6, got %d", s.Meter1Type)
	}
	if s.Meter2Type < MeterNone || s.Meter2Type > MeterRemoteSuperv {
		add("Meter2Type", "must be 0…7, got %d", s.Meter2Type)
	}
	if err := checkAddress(s.Meter1Ip, IsIPMeter(s.Meter1Type), false); err != "" {
		add("Meter1Ip", "%s", err)
	}
	if err := checkAddress(s.Meter2Ip, IsIPMeter(s.Meter2Type) || s.Meter2Type == MeterRemoteSuperv, s.Meter2Type == MeterRemoteSuperv); err != "" {
		add("Meter2Ip", "%s", err)
	}
	if s.PhaseCurrentLimit < MinCurrent || s.PhaseCurrentLimit > 1000 {
		add("PhaseCurrentLimit", "must be %d…1000 A, got %d", MinCurrent, s.PhaseCurrentLimit)
	}
	if s.ControlStrategy != 0 && s.ControlStrategy != 1 {
		add("ControlStrategy", "must be 0 (disabled) or 1 (limit power), got %d", s.ControlStrategy)
	}
	if s.ControlLimit < 0 || s.ControlLimit > 1_000_000 {
		add("ControlLimit", "must be 0…1000000 W, got %d", s.ControlLimit)
	}
	return es
}

// checkAddress validates a meter or supervisor address. An empty address
// is fine unless required. ipOnly demands a bare IP (the supervisor is
// recognised by its source address, so a port would mean nothing).
func checkAddress(a string, required, ipOnly bool) string {
	if a == "" {
		if required {
			return "an address is required for this meter type"
		}
		return ""
	}
	if ipOnly {
		if _, err := netip.ParseAddr(a); err != nil {
			return fmt.Sprintf("%s is not an IPv4 or IPv6 address", jsonstrict.Quote(a))
		}
		return ""
	}
	return CheckHostPort(a)
}

// CheckHostPort accepts an IPv4/IPv6 address, a host name, or either with
// a port ("192.168.0.30", "meter.local:502", "[fd00::5]:1502"). It returns
// a reason, or "" when the address is good.
func CheckHostPort(a string) string {
	if _, err := netip.ParseAddr(a); err == nil {
		return ""
	}
	host, port := a, ""
	if h, p, err := net.SplitHostPort(a); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%s: port must be 1…65535", jsonstrict.Quote(a))
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return ""
		}
	}
	if !ValidHostname(host) {
		return fmt.Sprintf("%s is not an IP address, host name or host:port", jsonstrict.Quote(a))
	}
	return ""
}

// ValidHostname accepts a DNS host name (RFC 1123): labels of letters,
// digits and '-' (not at either end), at most 63 characters each, joined
// by dots, at most 253 characters. The one rule for every host name a
// setting or the configuration holds.
func ValidHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
