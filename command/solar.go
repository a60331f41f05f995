package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// CmdMode is the charging mode command (MQTT <base>/mode/set, POST
// /api/v1/mode, the Home Assistant select).
const CmdMode = "Mode"

// CmdPhases is the 1p/3p request (MQTT <base>/phases/set, POST
// /api/v1/mode {"Phases": ...}, the Home Assistant select): follow, 1, 3
// or auto.
const CmdPhases = "Phases"

// parsePhases reads "follow", 1, 3 (numbers or strings) or "auto".
func parsePhases(raw json.RawMessage) (any, error) {
	if n, err := jsonstrict.Int(raw); err == nil {
		return controller.ParsePhaseRequest(strconv.FormatInt(n, 10))
	}
	s, err := jsonstrict.String(raw)
	if err != nil {
		return nil, fmt.Errorf("must be follow, 1, 3 or auto, got %s", jsonstrict.Shorten(bytes.TrimSpace(raw)))
	}
	return controller.ParsePhaseRequest(strings.ToLower(s))
}

func applyPhases(t *Table, v any, _ Origin) (string, int) {
	ps, ok := t.ctl.(charger.PhaseSwitcher)
	if !ok {
		return Unsupported, http.StatusOK
	}
	r := v.(controller.PhaseRequest)
	if err := ps.SetPhases(r); err != nil {
		return refused(err), statusFor(err)
	}
	return "Set=>" + r.String(), http.StatusOK
}

// MaxGridPower bounds a pushed grid reading, as MaxPower bounds the
// supervisor's: a larger figure is a client bug, not a building.
const MaxGridPower = 1_000_000

// MaxGridCurrent bounds a pushed phase current.
const MaxGridCurrent = 1000

func parseMode(raw json.RawMessage) (any, error) {
	s, err := jsonstrict.String(raw)
	if err != nil {
		return nil, fmt.Errorf("must be one of %s, got %s", strings.Join(controller.ModeNames(), ", "), jsonstrict.Shorten(bytes.TrimSpace(raw)))
	}
	return controller.ParseMode(s)
}

func applyMode(t *Table, v any, _ Origin) (string, int) {
	ms, ok := t.ctl.(charger.Modes)
	if !ok {
		return Unsupported, http.StatusOK
	}
	m := v.(controller.Mode)
	if err := ms.SetMode(m); err != nil {
		return refused(err), statusFor(err)
	}
	return "Set=>" + m.String(), http.StatusOK
}

// Mode runs a POST /api/v1/mode request ({"Mode": "solar"}).
func (t *Table) Mode(req map[string]json.RawMessage, o Origin) Reply {
	return t.run(req, o, GroupMode)
}

// Grid takes one grid reading pushed on MQTT <base>/grid/set: a number of
// watts (import positive) or {"power": W, "currents": [A, A, A]}.
func (t *Table) Grid(payload []byte, o Origin) Reply {
	req, err := decodeGridPayload(payload)
	if err != nil {
		return ErrorReply(http.StatusBadRequest, err.Error())
	}
	return t.GridObject(req, o)
}

// decodeGridPayload reads the MQTT form: a bare number is the power.
func decodeGridPayload(payload []byte) (map[string]json.RawMessage, error) {
	p := bytes.TrimSpace(payload)
	if len(p) > 0 && p[0] != '{' {
		return map[string]json.RawMessage{"power": p}, nil
	}
	req, err := jsonstrict.ObjectBytes(p)
	if err != nil {
		return nil, fmt.Errorf("grid reading must be a number of watts or {\"power\": W, \"currents\": [A, A, A]}: %w", err)
	}
	return req, nil
}

// GridObject takes one grid reading as an object (POST /api/v1/grid):
// "power" in W, import positive, required; "currents", three phase
// currents in A signed like the power, optional. Anything else, or a
// value out of range, refuses the whole reading.
func (t *Table) GridObject(req map[string]json.RawMessage, o Origin) (out Reply) {
	defer func() { t.observe(o, out) }()
	g, err := decodeGrid(req)
	if err != nil {
		return ErrorReply(http.StatusBadRequest, err.Error())
	}
	f, ok := t.ctl.(charger.GridFeed)
	if !ok {
		return ErrorReply(http.StatusNotImplemented, "this charger takes no grid readings (its control meter is its own)")
	}
	if err := f.SetGrid(g); err != nil {
		st := statusFor(err)
		if errors.Is(err, controller.ErrNoGridFeed) {
			st = http.StatusConflict
		}
		return ErrorReply(st, refused(err))
	}
	r := Reply{Status: http.StatusOK}
	r.set("power", fmt.Sprintf("Set=>%g", float64(g.Power)))
	return r
}

// decodeGrid judges a grid reading strictly: known keys only (any case,
// once each), finite numbers in range.
func decodeGrid(req map[string]json.RawMessage) (controller.GridReading, error) {
	var g controller.GridReading
	var havePower bool
	for k, v := range req {
		switch strings.ToLower(k) {
		case "power":
			if havePower {
				return g, fmt.Errorf("power given twice")
			}
			w, err := jsonstrict.Float(v)
			if err != nil || w < -MaxGridPower || w > MaxGridPower {
				return g, fmt.Errorf("power must be a number of watts within ±%d, got %s", MaxGridPower, jsonstrict.Shorten(bytes.TrimSpace(v)))
			}
			g.Power, havePower = units.Watts(w), true
		case "currents":
			if g.HasPhases {
				return g, fmt.Errorf("currents given twice")
			}
			var raw []json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil || len(raw) != 3 {
				return g, fmt.Errorf("currents must be an array of three numbers (A), got %s", jsonstrict.Shorten(bytes.TrimSpace(v)))
			}
			for i, r := range raw {
				a, err := jsonstrict.Float(r)
				if err != nil || a < -MaxGridCurrent || a > MaxGridCurrent {
					return g, fmt.Errorf("currents[%d] must be a number of amps within ±%d, got %s", i, MaxGridCurrent, jsonstrict.Shorten(bytes.TrimSpace(r)))
				}
				g.Currents[i] = units.Amps(a)
			}
			g.HasPhases = true
		default:
			return g, fmt.Errorf("unknown object %s in a grid reading (power, currents)", jsonstrict.Quote(k))
		}
	}
	if !havePower {
		return g, fmt.Errorf("a grid reading needs power (W, import positive)")
	}
	return g, nil
}
