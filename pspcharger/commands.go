package pspcharger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// SetCharging starts or stops charging on the box: at most one
// ChargeStartToggle, only if the box's state differs, confirmed by
// reading it back (pspbox.Client.SetCharging). A toggle whose answer is
// lost is never resent.
func (c *Charger) SetCharging(on bool) error {
	_, err := c.toggle(on, c.c.SetCharging)
	return err
}

// SetBoost switches boost as SetCharging does with ChargeBoostToggle.
func (c *Charger) SetBoost(on bool) error {
	_, err := c.toggle(on, c.c.SetBoost)
	return err
}

// ToggleCharging is the vendor's ChargeStartToggle: the opposite of what
// the box reads now, sent as an explicit, confirmed state, so a stale
// snapshot can never make it toggle twice.
func (c *Charger) ToggleCharging() (bool, error) {
	return c.flip(func(s pspbox.Status) bool { return s.ChargerStarted }, c.c.SetCharging)
}

// ToggleBoost is the vendor's ChargeBoostToggle, as ToggleCharging.
func (c *Charger) ToggleBoost() (bool, error) {
	return c.flip(func(s pspbox.Status) bool { return s.ChargeBoosted }, c.c.SetBoost)
}

type setFunc = func(ctx context.Context, on bool) (bool, error)

func (c *Charger) flip(state func(pspbox.Status) bool, set setFunc) (bool, error) {
	if err := c.gate(); err != nil {
		return false, err
	}
	ctx, cancel := c.cmdContext()
	defer cancel()
	st, err := c.c.Status(ctx)
	if err != nil {
		c.poke()
		return false, asCharger(err)
	}
	return c.toggle(!state(st), set)
}

func (c *Charger) toggle(on bool, set setFunc) (bool, error) {
	if err := c.gate(); err != nil {
		return false, err
	}
	ctx, cancel := c.cmdContext()
	defer cancel()
	got, err := set(ctx, on)
	c.poke() // the snapshot follows at once, whatever the outcome
	if err != nil {
		return got, asCharger(err)
	}
	if got != on {
		return got, fmt.Errorf("%w: the box reads %t", pspbox.ErrUnconfirmed, got)
	}
	return got, nil
}

// SetSupervisorPower takes a lease on the available power (only in
// supervisor mode); the loop pushes it to the box at once.
func (c *Charger) SetSupervisorPower(w units.Watts) error {
	if !c.o.Supervise {
		return charger.ErrNoSupervisor
	}
	if err := c.gate(); err != nil {
		return err
	}
	now := c.o.Now()
	c.mu.Lock()
	c.lease = lease{power: max(w, 0), expires: now.Add(c.o.Limiter.LeaseTTL), valid: true}
	c.mu.Unlock()
	c.poke()
	return nil
}

// SupervisorRefusal: with supervise the bridge takes leases from any
// writer its WebAPI lets through (credentials, write_allow) and from
// MQTT; the box's Meter2Ip names the bridge itself. Without it there is
// no supervisor.
func (c *Charger) SupervisorRefusal() string {
	if !c.o.Supervise {
		return charger.ErrNoSupervisor.Error()
	}
	return ""
}

// UpdateSettings writes a SystemConfig request to the box: validated with
// the project's rules against the box's settings, only the changed fields
// POSTed, confirmed with a GET (pspbox.Client.UpdateConfig). A refusal,
// ours or the box's, answers per field and changes nothing.
func (c *Charger) UpdateSettings(req map[string]json.RawMessage) ([]settings.Change, settings.Settings, map[string]string, error) {
	cur := c.Settings()
	if err := c.gate(); err != nil {
		return nil, cur, nil, err
	}
	ctx, cancel := c.cmdContext()
	defer cancel()
	sc, err := c.c.UpdateConfig(ctx, req)
	c.poke()
	var rej *pspbox.RejectedError
	switch {
	case errors.As(err, &rej):
		return nil, cur, rej.Reasons, nil
	case err != nil:
		return nil, cur, nil, asCharger(err)
	}
	// The changes as the request named them, for the answers; the values
	// are the box's, read back.
	_, changes, _ := settings.Patch(cur, req, int(c.o.HardwareMax))
	c.setConfig(sc)
	return changes, sc.Settings, nil, nil
}

// Service sends a SystemInfo service code to the box once.
func (c *Charger) Service(code string) error {
	if err := c.gate(); err != nil {
		return err
	}
	ctx, cancel := c.cmdContext()
	defer cancel()
	_, err := c.c.ServiceCode(ctx, code)
	c.poke()
	return asCharger(err)
}
