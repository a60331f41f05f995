package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// State is the simulator's state as GET /sim/v1/State shows it. The
// writable fields are the vehicle, the building and the fault; the rest is
// what the EVSE drives and what really happens.
type State struct {
	EvPlugged       bool    `json:"EvPlugged"`
	EvRequestCharge bool    `json:"EvRequestCharge"`
	EvVentilation   bool    `json:"EvVentilation"`
	EvMaxCurrent    float64 `json:"EvMaxCurrent"`
	EvPhases        int     `json:"EvPhases"`
	EvResponseMs    int64   `json:"EvResponseMs"`
	EvAsleep        bool    `json:"EvAsleep"`
	CableRating     int     `json:"CableRating"`
	HousePower      float64 `json:"HousePower"`
	PVPower         float64 `json:"PVPower"`
	Fault           string  `json:"Fault"`
	// SupplyPhases is what C2 connects (1 or 3; 3 without C2), read-only.
	// The car draws on min(EvPhases, SupplyPhases).
	SupplyPhases int `json:"SupplyPhases"`

	PilotDuty  float64 `json:"PilotDuty"`
	PilotLevel string  `json:"PilotLevel"`
	Contactor  bool    `json:"Contactor"`
	Locked     bool    `json:"Locked"`
	EvCurrent  float64 `json:"EvCurrent"`
}

// State returns a snapshot.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return State{
		EvPlugged:       s.ev.Plugged,
		EvRequestCharge: s.ev.RequestCharge,
		EvVentilation:   s.ev.Ventilation,
		EvMaxCurrent:    float64(s.ev.MaxCurrent),
		EvPhases:        s.ev.Phases,
		EvResponseMs:    s.ev.Response.Milliseconds(),
		EvAsleep:        s.ev.Asleep,
		CableRating:     int(s.ev.CableRating),
		HousePower:      float64(s.house),
		PVPower:         float64(s.pv),
		Fault:           s.fault,
		PilotDuty:       float64(s.duty) / 10,
		PilotLevel:      levelName(s.sample().High),
		Contactor:       s.contactorClosed(),
		Locked:          s.locked,
		EvCurrent:       float64(s.current),
		SupplyPhases:    s.supplyPhases(),
	}
}

func levelName(v units.Volts) string {
	switch {
	case v >= 10.5:
		return "A"
	case v >= 7.5:
		return "B"
	case v >= 4.5:
		return "C"
	case v >= 1.5:
		return "D"
	case v >= -1.5:
		return "E"
	case v <= -10.5:
		return "F"
	}
	return "invalid"
}

// writable names the fields Update accepts, in order.
var writable = []string{"EvPlugged", "EvRequestCharge", "EvVentilation", "EvMaxCurrent", "EvPhases",
	"EvResponseMs", "EvAsleep", "CableRating", "HousePower", "PVPower", "Fault"}

// maxName is longer than any field name.
const maxName = 64

var readOnly = []string{"PilotDuty", "PilotLevel", "Contactor", "Locked", "EvCurrent", "SupplyPhases"}

// Update applies a JSON object with any subset of the writable fields,
// decoded by jsonstrict like every write surface. It validates the whole
// request first: on any problem nothing changes and the result maps each
// offending key to its reason ("" for the body as a whole).
func (s *Sim) Update(body []byte) map[string]string {
	req, err := jsonstrict.ObjectBytes(body)
	if err != nil {
		if errors.Is(err, jsonstrict.ErrNotObject) || errors.Is(err, jsonstrict.ErrEmpty) {
			return map[string]string{"": "body must be a JSON object"}
		}
		return map[string]string{"": err.Error()}
	}
	return s.Apply(req)
}

// Apply is Update for an object already decoded by jsonstrict (the HTTP
// handler decodes it with the WebAPI's request rules). Names match
// case-insensitively, so one field given twice in two spellings is
// refused rather than decided by key order.
func (s *Sim) Apply(req map[string]json.RawMessage) map[string]string {
	bad := map[string]string{}
	if len(req) == 0 {
		bad[""] = "no fields in the request"
		return bad
	}
	for k := range req {
		if len(k) > maxName { // answers are keyed by name: never echo a huge one
			bad[""] = "unknown field " + jsonstrict.Quote(k)
			return bad
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, house, pv, fault := s.ev, s.house, s.pv, s.fault
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		raw := req[k]
		var err error
		if c := canonical(k); c != "" {
			if prev, dup := seen[c]; dup {
				bad[k] = "given twice (also as " + prev + ")"
				continue
			}
			seen[c] = k
		}
		switch canonical(k) {
		case "EvPlugged":
			err = decodeBool(raw, &ev.Plugged)
		case "EvRequestCharge":
			err = decodeBool(raw, &ev.RequestCharge)
		case "EvVentilation":
			err = decodeBool(raw, &ev.Ventilation)
		case "EvAsleep":
			err = decodeBool(raw, &ev.Asleep)
		case "EvMaxCurrent":
			var v float64
			if err = decodeNum(raw, &v, 0, 80); err == nil {
				ev.MaxCurrent = units.Amps(v)
			}
		case "EvPhases":
			var v int64
			if err = decodeInt(raw, &v, 1, 3); err == nil {
				if v != 1 && v != 3 {
					err = fmt.Errorf("must be 1 or 3, got %v", v)
				}
				ev.Phases = int(v)
			}
		case "EvResponseMs":
			var v int64
			if err = decodeInt(raw, &v, 0, 10000); err == nil {
				ev.Response = time.Duration(v) * time.Millisecond
			}
		case "CableRating":
			var v int64
			if err = decodeInt(raw, &v, 0, 63); err == nil {
				switch v {
				case 0, 13, 20, 32, 63:
					ev.CableRating = units.Amps(v)
				default:
					err = fmt.Errorf("must be 13, 20, 32, 63 or 0 (invalid coding), got %v", v)
				}
			}
		case "HousePower":
			var v float64
			if err = decodeNum(raw, &v, 0, 1e6); err == nil {
				house = units.Watts(v)
			}
		case "PVPower":
			var v float64
			if err = decodeNum(raw, &v, 0, 1e6); err == nil {
				pv = units.Watts(v)
			}
		case "Fault":
			var v string
			if v, err = jsonstrict.String(raw); err == nil {
				if !validFault(v) {
					err = fmt.Errorf("must be one of %s, got %s", strings.Join(Faults, ", "), jsonstrict.Quote(v))
				} else {
					fault = v
				}
			}
		default:
			if isReadOnly(k) {
				err = fmt.Errorf("read-only")
			} else {
				err = fmt.Errorf("unknown field")
			}
		}
		if err != nil {
			bad[k] = err.Error()
		}
	}
	if len(bad) > 0 {
		return bad
	}
	s.ev, s.house, s.pv = ev, house, pv
	s.setFault(fault)
	s.advance()
	return nil
}

// SetVehicle replaces the vehicle's configuration (for tests).
func (s *Sim) SetVehicle(v Vehicle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev = v
	s.advance()
}

// Vehicle returns the vehicle's configuration.
func (s *Sim) Vehicle() Vehicle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ev
}

// SetFault injects a fault by name ("none" clears).
func (s *Sim) SetFault(f string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFault(f)
	s.advance()
}

func (s *Sim) setFault(f string) {
	s.fault = f
	s.welded = f == FaultWeld
}

// SetBuilding sets the house load and the PV generation.
func (s *Sim) SetBuilding(house, pv units.Watts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.house, s.pv = house, pv
}

// Phase is one phase's electrical values as a meter sees them.
type Phase struct {
	Voltage units.Volts
	Current units.Amps
	Power   units.Watts
}

// EVPhases returns the charger's output per phase (what meter 1 sees).
func (s *Sim) EVPhases() [3]Phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evPhases()
}

func (s *Sim) evPhases() [3]Phase {
	var ph [3]Phase
	n := min(s.ev.Phases, s.supplyPhases())
	for i := range ph {
		ph[i].Voltage = units.NominalVoltage
		if i < n {
			ph[i].Current = s.current
			ph[i].Power = units.PowerFor(s.current, 1)
		}
	}
	return ph
}

// SitePhases returns the building's connection point per phase (what
// meter 2 sees): house load and PV spread evenly over three phases, plus
// the EV on its phases. Export shows as negative power.
func (s *Sim) SitePhases() [3]Phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	ph := s.evPhases()
	per := (s.house - s.pv) / 3
	for i := range ph {
		ph[i].Power += per
		ph[i].Current = units.Amps(math.Abs(float64(ph[i].Power)) / float64(units.NominalVoltage))
	}
	return ph
}

func canonical(k string) string {
	for _, w := range writable {
		if strings.EqualFold(w, k) {
			return w
		}
	}
	return ""
}

func isReadOnly(k string) bool {
	for _, r := range readOnly {
		if strings.EqualFold(r, k) {
			return true
		}
	}
	return false
}

func validFault(f string) bool {
	for _, x := range Faults {
		if x == f {
			return true
		}
	}
	return false
}

func decodeBool(raw json.RawMessage, b *bool) (err error) {
	*b, err = jsonstrict.Bool(raw)
	return err
}

func decodeNum(raw json.RawMessage, v *float64, lo, hi float64) (err error) {
	if *v, err = jsonstrict.Float(raw); err != nil {
		return err
	}
	if *v < lo || *v > hi {
		return fmt.Errorf("must be %v…%v, got %v", lo, hi, *v)
	}
	return nil
}

func decodeInt(raw json.RawMessage, v *int64, lo, hi int64) (err error) {
	if *v, err = jsonstrict.Int(raw); err != nil {
		return err
	}
	if *v < lo || *v > hi {
		return fmt.Errorf("must be %d…%d, got %d", lo, hi, *v)
	}
	return nil
}
