// Package command is the one command table behind the vendor WebAPI and
// MQTT: every write either surface accepts (EvseCtrl toggles, the explicit
// on/off forms, the supervisor's power, SystemConfig fields, SystemInfo
// service codes) is named, parsed and applied here, so the two surfaces
// cannot drift. Transports only decode a JSON object and encode the Reply.
package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// Origin says where a command came from.
type Origin struct {
	Surface string     // "http" or "mqtt", for logs
	Remote  netip.Addr // the client's address (HTTP); zero when unknown
	// SupervisorTrusted skips the source-address check of EVSEPowerAvailable:
	// on MQTT who may publish is the broker's ACL, not an address.
	SupervisorTrusted bool
}

// Controller is what the table needs from the charger: the seam every
// backend satisfies (the local controller, a bridged box).
type Controller = charger.Charger

// Services are the daemon's SystemInfo service codes that reach beyond
// the controller. A nil service answers "not supported".
type Services struct {
	// Reset restarts the control logic in-process: re-read the config,
	// open the contactor, Controller.Restart.
	Reset func() error
	// FactoryDefault removes the persisted runtime settings and puts the
	// defaults in force (the user's YAML is left alone).
	FactoryDefault func() error
	// WiFiSetToAP puts a bridged box into its access-point mode (it
	// leaves the network); the local charger has no WiFi of its own.
	WiFiSetToAP func() error
}

// Table is the command table bound to a controller.
type Table struct {
	ctl Controller
	svc Services
	log zerolog.Logger
	now func() time.Time // for rate-limiting logs only; tests set it

	oversize oversizeLog
	observer atomic.Pointer[Observer] // see observe.go
}

// New returns the table for ctl.
func New(ctl Controller, svc Services, log zerolog.Logger) *Table {
	return &Table{ctl: ctl, svc: svc, log: log.With().Str("component", "command").Logger(), now: time.Now}
}

// Answers used on both surfaces.
const (
	NoAction    = "no action"
	NotApplied  = "not applied: request rejected"
	Performing  = "Performing"
	Unsupported = "not supported"
)

// Reply answers a request: an HTTP-like status and one string per object,
// in a stable order. It encodes as a JSON object in that order.
type Reply struct {
	Status int
	Keys   []string
	Values map[string]string
}

// set adds or replaces the answer for key k.
func (r *Reply) set(k, v string) {
	if r.Values == nil {
		r.Values = map[string]string{}
	}
	if _, ok := r.Values[k]; !ok {
		r.Keys = append(r.Keys, k)
	}
	r.Values[k] = v
}

// Get returns the answer for key k.
func (r Reply) Get(k string) (string, bool) {
	v, ok := r.Values[k]
	return v, ok
}

// Applied reports whether every object of the request was carried out:
// each answer is "Set=>…", "no action" or "Performing". A refusal inside
// a 200 (the vendor's EvseCtrl style) or "not supported" is not applied.
// MQTT's result document reports this as "ok".
func (r Reply) Applied() bool {
	if r.Status >= 300 || len(r.Keys) == 0 {
		return false
	}
	for _, k := range r.Keys {
		v := r.Values[k]
		if !strings.HasPrefix(v, "Set=>") && v != NoAction && v != Performing {
			return false
		}
	}
	return true
}

// ErrorReply is the answer to a request that has no objects to answer
// (malformed payload, empty object): {"error": msg}.
func ErrorReply(status int, msg string) Reply {
	r := Reply{Status: status}
	r.set("error", msg)
	return r
}

// MarshalJSON writes the answers as one object in Keys order. Note that
// json.Marshal escapes '>' in it as \u003e; publish JSON() to keep the
// vendor's "Set=>True" byte for byte.
func (r Reply) MarshalJSON() ([]byte, error) { return r.JSON(), nil }

// JSON writes the answers as one object in Keys order, without HTML
// escaping.
func (r Reply) JSON() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range r.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, k)
		b.WriteByte(':')
		writeString(&b, r.Values[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeString writes s as a JSON string without HTML escaping, so an
// answer reads "Set=>True" on the wire as the vendor's does.
func writeString(b *bytes.Buffer, s string) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	e.Encode(s)             // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// Kind is the JSON type a command takes.
type Kind int

// Command kinds.
const (
	KindBool Kind = iota
	KindNumber
	KindString
)

// Group says which surface object a command belongs to.
type Group int

// Groups.
const (
	GroupEvseCtrl     Group = iota // the vendor's EvseCtrl objects
	GroupExplicit                  // idempotent on/off forms (MQTT)
	GroupSystemConfig              // the vendor's SystemConfig fields
	GroupSystemInfo                // the vendor's SystemInfo objects
	GroupMode                      // the charging mode (our extension)
)

// Command describes one entry of the table, for surfaces that enumerate
// them (MQTT topics, Home Assistant discovery).
type Command struct {
	Name  string
	Kind  Kind
	Group Group
}

// ctrlEntry is a command applied on its own (not a settings field).
type ctrlEntry struct {
	Command
	parse func(raw json.RawMessage) (any, error)
	apply func(t *Table, v any, o Origin) (answer string, status int)
}

// Explicit command names (MQTT).
const (
	CmdCharging = "Charging"
	CmdBoost    = "Boost"
)

// ctrlEntries are applied in this order, after any settings change of the
// same request (so a new boost current is in force before boost is on).
var ctrlEntries = []ctrlEntry{
	{Command{"ChargeStartToggle", KindBool, GroupEvseCtrl}, parseBool, applyStartToggle},
	{Command{CmdCharging, KindBool, GroupExplicit}, parseBool, applyCharging},
	{Command{"ChargeBoostToggle", KindBool, GroupEvseCtrl}, parseBool, applyBoostToggle},
	{Command{CmdBoost, KindBool, GroupExplicit}, parseBool, applyBoost},
	{Command{"EVSEPowerAvailable", KindNumber, GroupEvseCtrl}, parsePower, applyPower},
	{Command{CmdMode, KindString, GroupMode}, parseMode, applyMode},
	{Command{CmdPhases, KindString, GroupMode}, parsePhases, applyPhases},
}

// conflicts are pairs that must not come in one request: both say what
// the same state should be.
var conflicts = [][2]string{{"ChargeStartToggle", CmdCharging}, {"ChargeBoostToggle", CmdBoost}}

// Commands lists every entry of the table.
func Commands() []Command {
	var cs []Command
	for _, e := range ctrlEntries {
		cs = append(cs, e.Command)
	}
	for _, f := range settings.Fields {
		k := KindNumber
		switch f.Kind {
		case settings.KindBool:
			k = KindBool
		case settings.KindString:
			k = KindString
		}
		cs = append(cs, Command{f.Name, k, GroupSystemConfig})
	}
	return append(cs, infoEntries...)
}

func lookupCtrl(name string, groups ...Group) (ctrlEntry, bool) {
	for _, e := range ctrlEntries {
		if strings.EqualFold(e.Name, name) {
			for _, g := range groups {
				if e.Group == g {
					return e, true
				}
			}
		}
	}
	return ctrlEntry{}, false
}

// statusFor maps a charger error to the reply status: a stopped loop or
// an unreachable box is the server's problem, anything else an answer in
// a 200.
func statusFor(err error) int {
	if errors.Is(err, charger.ErrStopped) || errors.Is(err, charger.ErrUnreachable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}
