package pspbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// Service codes of POST SystemInfo.
const (
	SCodeReset          = "Reset"
	SCodeFactoryDefault = "FactoryDefault"
	// SCodeWiFiSetToAP takes the box off the network.
	SCodeWiFiSetToAP = "WiFiSetToAP"
)

// lockWriter waits for the writer's turn, or for ctx.
func (c *Client) lockWriter(ctx context.Context) (unlock func(), err error) {
	select {
	case c.writer <- struct{}{}:
		return func() { <-c.writer }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another write to the box: %w", context.Cause(ctx))
	}
}

// post sends a write. The body is a JSON object we build ourselves.
func (c *Client) post(ctx context.Context, doc string, obj any) (reply, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return reply{}, fmt.Errorf("POST %s: %w", doc, err)
	}
	return c.do(ctx, http.MethodPost, doc, b)
}

// SetCharging starts (on) or stops charging and returns the state the box
// confirms. It reads ChargerStarted, sends ChargeStartToggle only if the
// state differs, and reads it back. It sends at most one toggle: if the
// answer is lost the read back decides, and a toggle that does not show
// is reported (ErrUnconfirmed), never resent.
func (c *Client) SetCharging(ctx context.Context, on bool) (bool, error) {
	return c.setToggle(ctx, "ChargeStartToggle", func(s Status) bool { return s.ChargerStarted }, on)
}

// SetBoost switches BOOST on or off, as SetCharging does with
// ChargeBoostToggle and ChargeBoosted.
func (c *Client) SetBoost(ctx context.Context, on bool) (bool, error) {
	return c.setToggle(ctx, "ChargeBoostToggle", func(s Status) bool { return s.ChargeBoosted }, on)
}

func (c *Client) setToggle(ctx context.Context, key string, state func(Status) bool, on bool) (bool, error) {
	unlock, err := c.lockWriter(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	st, err := c.Status(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: reading the state first: %w", key, err)
	}
	if state(st) == on {
		return on, nil // already so: a toggle would undo it
	}
	rep, postErr := c.post(ctx, "EvseCtrl", map[string]bool{key: true})
	var refused error
	if postErr == nil {
		if _, err := DecodeToggleAnswer(rep.body, key); err != nil {
			refused = err // the box's reason, or an answer we cannot read
		} else if rep.status != http.StatusOK {
			refused = fmt.Errorf("%w: %s answered HTTP %d", ErrRefused, key, rep.status)
		}
	}
	// The box's Status is the truth, whatever the answer said or whether
	// it arrived: read back even if ctx ended meanwhile, within a budget
	// of its own, so a toggle lost in flight is always looked at.
	// A refusal changes nothing, so one read suffices; after an answer we
	// could not read, or none, the box gets the whole budget to show it.
	got, err := c.readBack(ctx, func(s Status) bool { return state(s) == on }, !errors.Is(refused, ErrRefused))
	if err != nil {
		return false, fmt.Errorf("%w: %s sent, state unknown (%v); not resent", ErrUnconfirmed, key, err)
	}
	now := state(got)
	switch {
	case now == on:
		return on, nil
	case errors.Is(refused, ErrRefused):
		return now, refused
	case postErr != nil:
		return now, fmt.Errorf("%w: %s lost in flight (%v) and not in force; not resent", ErrUnconfirmed, key, postErr)
	case refused != nil:
		return now, fmt.Errorf("%w: %s: %v, and the box still reads %t; not resent", ErrUnconfirmed, key, refused, now)
	default:
		return now, fmt.Errorf("%w: %s answered, but the box still reads %t", ErrUnconfirmed, key, now)
	}
}

// readBack reads Status until done(status) or the confirmation budget is
// spent; wait=false reads once (the box refused: nothing will change).
// It returns the last status read, or the last error if none was read.
func (c *Client) readBack(ctx context.Context, done func(Status) bool, wait bool) (Status, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.ConfirmWithin+c.o.Timeout)
	defer cancel()
	deadline := time.Now().Add(c.o.ConfirmWithin)
	var last Status
	var lastErr error
	read := false
	for {
		st, err := c.Status(ctx)
		if err == nil {
			last, read, lastErr = st, true, nil
			if done(st) || !wait {
				return st, nil
			}
		} else {
			lastErr = err
		}
		if time.Now().Add(c.o.ConfirmInterval).After(deadline) {
			break
		}
		t := time.NewTimer(c.o.ConfirmInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if !read {
		return Status{}, lastErr
	}
	return last, nil
}

// SetPowerAvailable writes EVSEPowerAvailable, the supervisor's available
// power, rounded down to whole watts (never offer more than given). It
// returns the power the box reports set. The box takes it only from the
// address in Meter2Ip with Meter2Type 7 (see SetSupervisor); otherwise it
// answers ErrSupervisorNotSet or ErrRefused. A lost answer is not resent:
// the caller pushes on its own period anyway.
func (c *Client) SetPowerAvailable(ctx context.Context, w units.Watts) (units.Watts, error) {
	f := math.Floor(float64(w))
	if math.IsNaN(f) || f < 0 || f > float64(MaxPower) {
		return 0, fmt.Errorf("%w: EVSEPowerAvailable must be 0…%d W, got %v", ErrInvalid, int(MaxPower), float64(w))
	}
	unlock, err := c.lockWriter(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	rep, err := c.post(ctx, "EvseCtrl", map[string]int64{"EVSEPowerAvailable": int64(f)})
	if err != nil {
		return 0, err
	}
	got, err := DecodePowerAnswer(rep.body)
	if err == nil && rep.status != http.StatusOK {
		err = fmt.Errorf("%w: EVSEPowerAvailable answered HTTP %d", ErrRefused, rep.status)
	}
	return got, err
}

// ServiceCode sends a SystemInfo service code (SCodeReset,
// SCodeFactoryDefault, SCodeWiFiSetToAP) and returns the box's answer
// ("Performing"). It is sent once; after Reset the box may drop the
// connection before answering, which reads as ErrUnreachable.
func (c *Client) ServiceCode(ctx context.Context, code string) (string, error) {
	known := false
	for _, k := range []string{SCodeReset, SCodeFactoryDefault, SCodeWiFiSetToAP} {
		if strings.EqualFold(k, code) {
			code, known = k, true
		}
	}
	if !known {
		return "", fmt.Errorf("%w: unknown service code %s", ErrInvalid, quote(code))
	}
	unlock, err := c.lockWriter(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	rep, err := c.post(ctx, "SystemInfo", map[string]string{"SCode": code, "SCodeData": ""})
	if err != nil {
		return "", err
	}
	t, err := DecodeServiceAnswer(rep.body, code)
	if err == nil && rep.status != http.StatusOK {
		err = fmt.Errorf("%w: %s answered HTTP %d", ErrRefused, code, rep.status)
	}
	if err != nil && !errors.Is(err, ErrRefused) {
		return "", err
	}
	return t, err
}
