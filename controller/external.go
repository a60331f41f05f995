package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// ErrInoperative: a session may not start while the charger is out of
// service (OCPP ChangeAvailability Inoperative).
var ErrInoperative = errors.New("charger is inoperative")

// MaxExternalLimit bounds an external limit: anything above every
// hardware maximum means "no limit" and is refused as a client bug.
const MaxExternalLimit units.Amps = 1000

// external is what a party outside the charger (an OCPP central system)
// imposes on it: one more current cap and whether it may charge at all.
// It is carried over an in-process restart (swap), because the central
// system does not know about that restart.
type external struct {
	limit       units.Amps // per phase; meaningful while limitOn
	limitOn     bool
	until       time.Time // zero: until replaced
	inoperative bool
}

// capAt returns the external cap in force at now.
func (e *external) capAt(now time.Time) (units.Amps, bool) {
	if !e.limitOn || (!e.until.IsZero() && !now.Before(e.until)) {
		return 0, false
	}
	return e.limit, true
}

// SetExternalLimit caps the advertised current at a (A per phase) until
// the given time (zero: until replaced); a < 0 removes the cap. The cap is
// one more limit: it lowers what the others allow and never raises it; it
// is reported as SourceOCPP while it is the lowest.
func (c *Controller) SetExternalLimit(a units.Amps, until time.Time) error {
	if a > MaxExternalLimit {
		return fmt.Errorf("external limit must be at most %v A, got %v A", float64(MaxExternalLimit), float64(a))
	}
	return c.do(func(time.Time) error {
		if a < 0 {
			c.m.ext.limitOn = false
			return nil
		}
		c.m.ext.limit, c.m.ext.until, c.m.ext.limitOn = a, until, true
		return nil
	})
}

// SetOperative puts the charger in (true) or out of service. Out of
// service stops a running session and refuses every start, auto start
// included, until it is put back.
func (c *Controller) SetOperative(on bool) error {
	return c.do(func(now time.Time) error {
		c.m.ext.inoperative = !on
		if !on {
			return c.m.Stop(now)
		}
		return nil
	})
}

// Operative reports whether the charger is in service.
func (c *Controller) Operative() bool {
	var on bool
	if err := c.do(func(time.Time) error { on = !c.m.ext.inoperative; return nil }); err != nil {
		c.mu.RLock()
		on = !c.m.ext.inoperative
		c.mu.RUnlock()
	}
	return on
}
