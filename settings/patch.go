package settings

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// Kind is the JSON type a field takes.
type Kind int

// Field kinds.
const (
	KindInt Kind = iota
	KindBool
	KindString
)

// Field describes one SystemConfig field: its name and how to set it. It
// is the single table behind the WebAPI, MQTT and YAML.
type Field struct {
	Name string
	Kind Kind
	ptrI func(*Settings) *int
	ptrB func(*Settings) *bool
	ptrS func(*Settings) *string
}

// Fields lists the SystemConfig fields in the vendor's order.
var Fields = []Field{
	{Name: "ChargerMode", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.ChargerMode }},
	{Name: "LockMethod", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.LockMethod }},
	{Name: "ChargeCurrent", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.ChargeCurrent }},
	{Name: "ChargeCurrentBoost", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.ChargeCurrentBoost }},
	{Name: "Meter1Type", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.Meter1Type }},
	{Name: "Meter1Ip", Kind: KindString, ptrS: func(s *Settings) *string { return &s.Meter1Ip }},
	{Name: "Meter2Type", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.Meter2Type }},
	{Name: "Meter2Ip", Kind: KindString, ptrS: func(s *Settings) *string { return &s.Meter2Ip }},
	{Name: "PhaseCurrentLimit", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.PhaseCurrentLimit }},
	{Name: "ControlStrategy", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.ControlStrategy }},
	{Name: "ControlLimit", Kind: KindInt, ptrI: func(s *Settings) *int { return &s.ControlLimit }},
	{Name: "ChargeAutoStart", Kind: KindBool, ptrB: func(s *Settings) *bool { return &s.ChargeAutoStart }},
	{Name: "Charge3Phase", Kind: KindBool, ptrB: func(s *Settings) *bool { return &s.Charge3Phase }},
}

// LookupField finds a field by name, case-insensitively as encoding/json
// matches keys, and returns its canonical spelling.
func LookupField(name string) (Field, bool) {
	for _, f := range Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// Value returns the field's value in s.
func (f Field) Value(s *Settings) any {
	switch f.Kind {
	case KindInt:
		return *f.ptrI(s)
	case KindBool:
		return *f.ptrB(s)
	default:
		return *f.ptrS(s)
	}
}

// decode parses raw JSON of exactly the field's kind into s (the strict
// rules of jsonstrict: null is no bool or string, and an int is exactly a
// whole number, never a rounded one).
func (f Field) decode(s *Settings, raw json.RawMessage) error {
	switch f.Kind {
	case KindInt:
		v, err := jsonstrict.Int(raw)
		if err != nil {
			return err
		}
		*f.ptrI(s) = int(v)
	case KindBool:
		b, err := jsonstrict.Bool(raw)
		if err != nil {
			return err
		}
		*f.ptrB(s) = b
	default:
		str, err := jsonstrict.String(raw)
		if err != nil {
			return err
		}
		*f.ptrS(s) = strings.TrimSpace(str)
	}
	return nil
}

// Change is one accepted field of a request: its canonical name and the
// request key it came in as (so the answer uses the client's spelling).
type Change struct {
	Key   string
	Field Field
}

// Patch applies a SystemConfig request (a JSON object of field → value) to
// cur as a whole. It returns the new settings and the fields changed, or —
// when anything is wrong — a reason per offending request key and leaves
// nothing applied. hwMax is the hardware maximum current.
//
// Rules beyond each field's own range: ChargeCurrentBoost ≥ ChargeCurrent,
// and, as the vendor's guide says, setting a meter to an IP type (or
// Meter2 to the remote supervisor) needs a valid address in the same
// request.
func Patch(cur Settings, req map[string]json.RawMessage, hwMax int) (Settings, []Change, map[string]string) {
	next := cur
	bad := map[string]string{}
	var changes []Change
	byField := map[string]string{} // canonical name → request key
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := LookupField(k)
		if !ok {
			bad[k] = "unknown object"
			continue
		}
		if prev, dup := byField[f.Name]; dup {
			bad[k] = "given twice (also as " + prev + ")"
			continue
		}
		byField[f.Name] = k
		if err := f.decode(&next, req[k]); err != nil {
			bad[k] = err.Error()
			continue
		}
		changes = append(changes, Change{Key: k, Field: f})
	}
	if len(bad) > 0 {
		return cur, nil, bad
	}
	for _, m := range []struct{ typ, ip string }{{"Meter1Type", "Meter1Ip"}, {"Meter2Type", "Meter2Ip"}} {
		k, set := byField[m.typ]
		if !set {
			continue
		}
		t := *mustField(m.typ).ptrI(&next)
		if IsIPMeter(t) || (t == MeterRemoteSuperv && m.typ == "Meter2Type") {
			if _, given := byField[m.ip]; !given {
				bad[k] = fmt.Sprintf("type %d needs a valid %s in the same request", t, m.ip)
			}
		}
	}
	for _, e := range next.Validate("", hwMax) {
		k, inReq := byField[e.Field]
		if !inReq {
			// A rule between fields failed on a field the request did not
			// touch; answer it on the requested partner.
			k = partnerKey(e.Field, byField)
			if k == "" {
				continue // already invalid before this request; not its fault
			}
		}
		if _, dup := bad[k]; !dup {
			bad[k] = e.Reason
		}
	}
	if len(bad) > 0 {
		return cur, nil, bad
	}
	// Report in the vendor's field order.
	sort.SliceStable(changes, func(i, j int) bool { return fieldIndex(changes[i].Field.Name) < fieldIndex(changes[j].Field.Name) })
	return next, changes, nil
}

func partnerKey(field string, byField map[string]string) string {
	partners := map[string][]string{
		"ChargeCurrentBoost": {"ChargeCurrent"},
		"ChargeCurrent":      {"ChargeCurrentBoost"},
		"Meter1Ip":           {"Meter1Type"},
		"Meter2Ip":           {"Meter2Type"},
	}
	for _, p := range partners[field] {
		if k, ok := byField[p]; ok {
			return k
		}
	}
	return ""
}

func mustField(name string) Field {
	f, ok := LookupField(name)
	if !ok {
		panic("settings: no field " + name)
	}
	return f
}

func fieldIndex(name string) int {
	for i, f := range Fields {
		if f.Name == name {
			return i
		}
	}
	return len(Fields)
}
