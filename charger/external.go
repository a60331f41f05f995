package charger

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// ExternalLimiter is a backend that takes a current cap from outside (an
// OCPP central system's charging profiles) as one more limit: it only
// ever lowers what the backend's own limits allow, and the status names
// it (LimitSource "ocpp") while it is the lowest. a < 0 removes the cap;
// a zero until means until replaced.
type ExternalLimiter interface {
	SetExternalLimit(a units.Amps, until time.Time) error
}

// Availability is a backend that can be taken out of service: out of
// service stops a running session and refuses every start.
type Availability interface {
	SetOperative(on bool) error
	Operative() bool
}

// Unlocker is a backend that can release its cable lock on request (Case
// B); it refuses while current may flow.
type Unlocker interface {
	Unlock() error
}

var (
	_ ExternalLimiter = (*controller.Controller)(nil)
	_ Availability    = (*controller.Controller)(nil)
)
