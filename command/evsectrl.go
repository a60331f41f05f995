package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// MaxPower bounds EVSEPowerAvailable, as settings bounds ControlLimit: a
// larger figure is a client bug, not a building.
const MaxPower = 1_000_000

func parseBool(raw json.RawMessage) (any, error) {
	return jsonstrict.Bool(raw)
}

// parsePower reads the supervisor's watts: a JSON number and nothing else
// ("5000 W" is refused, not read as 5000).
func parsePower(raw json.RawMessage) (any, error) {
	w, err := jsonstrict.Float(raw)
	if err != nil {
		return nil, fmt.Errorf("must be a number of watts, got %s", jsonstrict.Shorten(bytes.TrimSpace(raw)))
	}
	if w < 0 || w > MaxPower {
		return nil, fmt.Errorf("must be 0…%d W, got %s", MaxPower, jsonstrict.Shorten(bytes.TrimSpace(raw)))
	}
	return w, nil
}

// setAnswer is the vendor's answer for a new boolean state.
func setAnswer(on bool) string {
	if on {
		return "Set=>True"
	}
	return "Set=>False"
}

// refused words a controller error as an answer.
func refused(err error) string { return "refused: " + err.Error() }

func applyStartToggle(t *Table, v any, _ Origin) (string, int) {
	if !v.(bool) {
		return NoAction, http.StatusOK
	}
	on, err := t.ctl.ToggleCharging()
	if err != nil {
		return refused(err), statusFor(err)
	}
	return setAnswer(on), http.StatusOK
}

func applyCharging(t *Table, v any, _ Origin) (string, int) {
	on := v.(bool)
	if err := t.ctl.SetCharging(on); err != nil {
		return refused(err), statusFor(err)
	}
	return setAnswer(on), http.StatusOK
}

func applyBoostToggle(t *Table, v any, _ Origin) (string, int) {
	if !v.(bool) {
		return NoAction, http.StatusOK
	}
	on, err := t.ctl.ToggleBoost()
	if err != nil {
		return refused(err), statusFor(err)
	}
	return setAnswer(on), http.StatusOK
}

func applyBoost(t *Table, v any, _ Origin) (string, int) {
	on := v.(bool)
	if err := t.ctl.SetBoost(on); err != nil {
		return refused(err), statusFor(err)
	}
	return setAnswer(on), http.StatusOK
}

func applyPower(t *Table, v any, o Origin) (string, int) {
	w := v.(float64)
	if reason := t.supervisorRule(o); reason != "" {
		return reason, http.StatusOK
	}
	if err := t.ctl.SetSupervisorPower(units.Watts(w)); err != nil {
		if errors.Is(err, charger.ErrNoSupervisor) {
			return charger.ErrNoSupervisor.Error(), http.StatusOK
		}
		return refused(err), statusFor(err)
	}
	return "Set=>" + strconv.FormatFloat(w, 'f', -1, 64), http.StatusOK
}

// supervisorRule says why a power write from o is refused, or "" when it
// may go ahead: Meter2 must be the remote supervisor (type 7) and, on
// HTTP, the request must come from the address in Meter2Ip.
func (t *Table) supervisorRule(o Origin) string {
	if g, ok := t.ctl.(charger.SupervisorGate); ok {
		return g.SupervisorRefusal()
	}
	s := t.ctl.Settings()
	if s.Meter2Type != settings.MeterRemoteSuperv || s.Meter2Ip == "" {
		return charger.ErrNoSupervisor.Error()
	}
	if o.SupervisorTrusted {
		return ""
	}
	want, err := netip.ParseAddr(s.Meter2Ip)
	if err != nil {
		return fmt.Sprintf("refused: supervisor address %q in Meter2Ip is not an IP address", s.Meter2Ip)
	}
	if !o.Remote.IsValid() {
		return "refused: request source address unknown"
	}
	got := o.Remote.Unmap().WithZone("")
	if got != want.Unmap().WithZone("") {
		return fmt.Sprintf("refused: request from %s, supervisor is %s (Meter2Ip)", got, want)
	}
	return ""
}

// EvseCtrl runs the vendor's POST EvseCtrl request.
func (t *Table) EvseCtrl(req map[string]json.RawMessage, o Origin) Reply {
	return t.run(req, o, GroupEvseCtrl)
}

// Set runs an MQTT <base>/set request: any EvseCtrl, explicit (Charging,
// Boost) and SystemConfig objects in one object. Everything is validated
// first; if anything is bad nothing is applied.
func (t *Table) Set(req map[string]json.RawMessage, o Origin) Reply {
	return t.run(req, o, GroupEvseCtrl, GroupExplicit, GroupSystemConfig)
}

// Charging starts (true) or stops (false) charging, idempotently.
func (t *Table) Charging(on bool, o Origin) Reply {
	return t.run(map[string]json.RawMessage{CmdCharging: jsonBool(on)}, o, GroupExplicit)
}

// Boost switches boost on or off, idempotently.
func (t *Table) Boost(on bool, o Origin) Reply {
	return t.run(map[string]json.RawMessage{CmdBoost: jsonBool(on)}, o, GroupExplicit)
}

// PowerAvailable is the supervisor's power write (EVSEPowerAvailable).
func (t *Table) PowerAvailable(w json.RawMessage, o Origin) Reply {
	return t.run(map[string]json.RawMessage{"EVSEPowerAvailable": w}, o, GroupEvseCtrl)
}

func jsonBool(b bool) json.RawMessage {
	if b {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}
