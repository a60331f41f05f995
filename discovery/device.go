// Package discovery builds Home Assistant MQTT discovery messages for the
// charger from one entity table and announces them: retained, only when they
// change, removed with an empty retained payload when they no longer apply,
// and re-announced when Home Assistant comes back online.
//
// The state the entities read is published elsewhere (package bridge) on the
// topics fixed for the project: <base>/status, <base>/config,
// <base>/meter1, <base>/meter2 and <base>/availability.
package discovery

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// DefaultPrefix is Home Assistant's default discovery prefix.
const DefaultPrefix = "homeassistant"

// Origin identifies this software in every discovery payload; Home Assistant
// logs it when it adds or updates an entity.
const (
	OriginName = "evse-mqtt"
	OriginURL  = "https://github.com/evse-mqtt/evse-mqtt"
)

// Defaults used when the matching Device field is zero.
const (
	DefaultName         = "EVSE"
	DefaultManufacturer = "PSP"
	DefaultModel        = "EVSE v1.0"
	// DefaultMaxPhaseCurrent bounds the phase current limit number: the
	// largest main fuse usual in a residential connection.
	DefaultMaxPhaseCurrent units.Amps = 63
)

// MinChargeCurrent is the lowest current IEC 61851 lets a charger offer.
const MinChargeCurrent units.Amps = 6

// Device describes the one charger all entities belong to.
type Device struct {
	// ID is the stable device id; node id, unique ids and the default base
	// topic derive from it. Characters outside [a-zA-Z0-9_-] become '_'.
	ID string
	// Name is the device name shown in Home Assistant (default "EVSE").
	Name string
	// Manufacturer and Model default to DefaultManufacturer/DefaultModel.
	Manufacturer, Model string
	// ModelID is the device's model_id (a bridged box's ProductType);
	// omitted when empty.
	ModelID string
	// SWVersion is the software version, used as the device's sw_version
	// and the origin's sw_version (the daemon is the charger's firmware).
	SWVersion string
	// OriginVersion is the origin's sw_version when the device's is not
	// ours (a bridged box runs its own firmware); "" means SWVersion.
	OriginVersion string
	// DeviceAvailability, when set, is a second availability topic
	// relative to Base ("online"/"offline"): a bridged box's own, beside
	// the bridge's last will on <base>/availability. Entities are
	// available only while both say online.
	DeviceAvailability string
	// ConfigURL is the link to the WebAPI shown on the device page.
	ConfigURL string
	// Base is the MQTT base topic (default "evse/<ID>").
	Base string
	// HardwareMaxCurrent is the most the hardware can carry; it bounds the
	// charge and boost current numbers. Must be at least MinChargeCurrent.
	HardwareMaxCurrent units.Amps
	// MaxPhaseCurrent bounds the phase current limit number
	// (default DefaultMaxPhaseCurrent).
	MaxPhaseCurrent units.Amps
	// MaxControlLimit bounds the control limit number (default: three
	// phases of MaxPhaseCurrent at the nominal voltage, in whole 100 W).
	MaxControlLimit units.Watts
	// Modes says the charger has charging modes (the local controller,
	// not a bridged box): a Mode select is announced.
	Modes bool
	// LifetimeEnergy says the status carries LifetimeEnergy (kWh): an
	// energy sensor for the Energy dashboard is announced.
	LifetimeEnergy bool
	// PhaseSwitch says the charger switches 1p/3p with C2: its phase
	// status and a select for the phase request are announced.
	PhaseSwitch bool
}

// MeterRegister is one register of a meter's WebAPI map that gets a sensor:
// Key is the ModbusData key ("0x04_0x0034"), Desc its description
// ("TotalSystemPower[W]") and Unit its unit ("W"; when empty, the unit in
// Desc's brackets is used).
type MeterRegister struct {
	Meter int // 1 or 2
	Key   string
	Desc  string
	Unit  string
}

// Options say what to announce.
type Options struct {
	// Prefix is the discovery prefix (default DefaultPrefix).
	Prefix string
	// Enabled false makes Build return no messages, so an Announcer removes
	// everything it announced.
	Enabled bool
	// Meter1Type and Meter2Type are SystemConfig's Meter1Type/Meter2Type:
	// a meter's entities (registers and health) are announced only when it
	// is a meter (types 1–6); 0 is none, 7 a remote supervisor.
	Meter1Type, Meter2Type int
	// Meters lists the registers to expose, of either meter.
	Meters []MeterRegister
}

// Message is one discovery config: Payload is published retained on Topic;
// an empty Payload removes the entity.
type Message struct {
	Topic   string
	Payload []byte
}

var (
	idCharset   = regexp.MustCompile(`[^a-zA-Z0-9_-]`)
	slugCharset = regexp.MustCompile(`[^a-z0-9]+`)
	meterKey    = regexp.MustCompile(`^0x[0-9a-f]{2}_0x[0-9a-f]{4}$`)
)

// NodeID is the discovery node id for a device id: "evse_" and the id with
// every character outside [a-zA-Z0-9_-] replaced by '_'.
func NodeID(deviceID string) string {
	return "evse_" + idCharset.ReplaceAllString(deviceID, "_")
}

// slug makes s fit an entity id: lower case, runs of other characters as
// one '_', no leading or trailing '_'.
func slug(s string) string {
	return strings.Trim(slugCharset.ReplaceAllString(strings.ToLower(s), "_"), "_")
}

// validTopic reports whether s can start a topic we publish: MQTT wants
// UTF-8 without NUL, and a wildcard or trailing '/' would change its meaning.
func validTopic(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsAny(s, "+#\x00") && !strings.HasSuffix(s, "/")
}

// isMeter reports whether a Meter1Type/Meter2Type value is a real meter.
func isMeter(t int) bool { return t >= 1 && t <= 6 }

// withDefaults fills zero fields and checks what cannot be defaulted.
func (d Device) withDefaults() (Device, error) {
	var errs []error
	if d.ID == "" {
		errs = append(errs, errors.New("device id is empty"))
	}
	if d.Name == "" {
		d.Name = DefaultName
	}
	if d.Manufacturer == "" {
		d.Manufacturer = DefaultManufacturer
	}
	if d.Model == "" {
		d.Model = DefaultModel
	}
	if d.Base == "" {
		d.Base = "evse/" + d.ID
	}
	if !validTopic(d.Base) {
		errs = append(errs, fmt.Errorf("base topic %q: want UTF-8 without wildcards, NUL or a trailing '/'", d.Base))
	}
	if d.HardwareMaxCurrent < MinChargeCurrent {
		errs = append(errs, fmt.Errorf("hardware max current %g A: below %g A", d.HardwareMaxCurrent, MinChargeCurrent))
	}
	if d.MaxPhaseCurrent == 0 {
		d.MaxPhaseCurrent = DefaultMaxPhaseCurrent
	}
	if d.MaxPhaseCurrent < MinChargeCurrent {
		errs = append(errs, fmt.Errorf("max phase current %g A: below %g A", d.MaxPhaseCurrent, MinChargeCurrent))
	}
	if d.MaxControlLimit == 0 {
		// Whole hundreds, to match the number's 100 W step.
		d.MaxControlLimit = units.Watts(math.Floor(float64(units.PowerFor(d.MaxPhaseCurrent, 3))/100) * 100)
	}
	if d.MaxControlLimit <= 0 {
		errs = append(errs, fmt.Errorf("max control limit %g W: must be positive", d.MaxControlLimit))
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("discovery: %w", err)
	}
	return d, nil
}
