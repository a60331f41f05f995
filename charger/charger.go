// Package charger is the seam between the charger's backends and the
// surfaces that serve it. A backend is either the local controller
// (package controller, driving the simulator's or real hardware) or a
// bridged PSP EVSE v1.0 box (package pspcharger, driving the box over its
// WebAPI). The surfaces — the command table (package command), the vendor
// WebAPI (package webapi) and MQTT (package mqttapi) — see only Charger and
// ask for what one backend lacks through the small optional interfaces
// below, never by the driver's name.
package charger

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Status is the charger's typed snapshot. The controller defines it (it
// fills one every step without allocating); a bridged box fills the same
// fields from its documents. Unreachable is empty while the charger
// answers.
type Status = controller.Status

// Params are the installation's fixed properties (the hardware maximum
// bounds every current a write may set).
type Params = controller.Params

// Errors a backend returns and surfaces act on (match with errors.Is).
var (
	// ErrStopped: the backend is not running.
	ErrStopped = controller.ErrStopped
	// ErrNoSupervisor: a supervisor's power write without one configured.
	ErrNoSupervisor = controller.ErrNoSupervisor
	// ErrUnreachable: the charger does not answer; the command was not
	// sent. Commands fail with it at once while the status says so.
	ErrUnreachable = errors.New("charger unreachable")
)

// Charger is what every backend offers. Its methods are safe for
// concurrent use.
type Charger interface {
	// Status returns the latest snapshot.
	Status() Status
	// Subscribe returns a channel that receives (coalesced) whenever the
	// snapshot changes in something a subscriber should hear at once,
	// and a function to stop.
	Subscribe() (<-chan struct{}, func())
	// Settings returns the SystemConfig settings in force.
	Settings() settings.Settings
	Params() Params
	// OnApplied makes f follow every settings change once it is in force.
	OnApplied(f func(settings.Settings))

	ToggleCharging() (bool, error)
	SetCharging(on bool) error
	ToggleBoost() (bool, error)
	SetBoost(on bool) error
	// SetSupervisorPower takes a supervisor's available power (a lease).
	SetSupervisorPower(w units.Watts) error
	// UpdateSettings validates a SystemConfig request as a whole and
	// puts it in force, or answers a reason per bad field (bad) and
	// changes nothing.
	UpdateSettings(req map[string]json.RawMessage) (changes []settings.Change, next settings.Settings, bad map[string]string, err error)
}

var _ Charger = (*controller.Controller)(nil)

// Simulator is a backend with a simulated vehicle and building under
// /sim/v1/State. A bridged box has none.
type Simulator interface {
	SimHandler() http.Handler
}

// SupervisorGate is a backend that judges a supervisor's power write
// itself instead of by the vendor's rule (Meter2Type 7 and the request's
// address equal to Meter2Ip). A bridge is the box's supervisor, so the
// box's Meter2Ip names the bridge, not who may give it leases; it answers
// "" to let the write through or the refusal.
type SupervisorGate interface {
	SupervisorRefusal() string
}

// Box is a backend that bridges a remote box: its identity and its own
// documents, for the surfaces that show them.
type Box interface {
	// Identity is the box's SystemInfo: version, product type, MAC.
	Identity() Identity
	// MeterDocument renders GET Meter<n> as the box gave it, nil when the
	// box has no such meter or it was not read yet.
	MeterDocument(n int, timestampMs int64) []byte
	// MeterGauge is Status' Meter<n>Status as the box reports it.
	MeterGauge(n int) int
	// URL is the box's address (configuration_url).
	URL() string
}

// Identity names a bridged box.
type Identity struct {
	SystemVersion, ProductType, MAC string
}

// Mode is a charging mode (off, now, solar, minsolar).
type Mode = controller.Mode

// GridReading is one pushed control-meter reading.
type GridReading = controller.GridReading

// Modes is a backend with charging modes, whose surplus it computes
// itself (the local controller). A bridged box has none.
type Modes interface {
	// SetMode persists the mode and puts it in force.
	SetMode(Mode) error
}

// GridFeed is a backend that takes its control meter's readings pushed
// (Meter2Type 8). A bridged box has its own meter.
type GridFeed interface {
	// SetGrid takes one reading; it is stamped on arrival.
	SetGrid(GridReading) error
}

var (
	_ Modes    = (*controller.Controller)(nil)
	_ GridFeed = (*controller.Controller)(nil)
)

// PhaseRequest is a phases/set request (1, 3 or auto).
type PhaseRequest = controller.PhaseRequest

// PhaseSwitcher is a backend with the phase contactor C2 (1p/3p).
type PhaseSwitcher interface {
	// SetPhases asks for 1p, 3p or auto (auto only in the solar modes).
	SetPhases(PhaseRequest) error
}

var _ PhaseSwitcher = (*controller.Controller)(nil)
