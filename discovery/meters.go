package discovery

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

var descUnit = regexp.MustCompile(`\[([^\]]*)\]\s*$`)

// meterEntities turns the registers of the meters that are present into
// sensors, after the health diagnostics of those meters.
func meterEntities(o Options) ([]entity, error) {
	present := map[int]bool{1: isMeter(o.Meter1Type), 2: isMeter(o.Meter2Type)}
	var out []entity
	for m := 1; m <= 2; m++ {
		if present[m] {
			out = append(out, meterHealth(m))
		}
	}
	var errs []error
	seen := map[string]bool{}
	ids := map[string]bool{"meter1_status": true, "meter2_status": true}
	names := map[string]bool{meterHealth(1).name: true, meterHealth(2).name: true}
	for i, r := range o.Meters {
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("meter register %d: %w", i, err))
			continue
		}
		e := meterEntity(r)
		if seen[e.key] {
			errs = append(errs, fmt.Errorf("meter register %d: meter %d key %s listed twice", i, r.Meter, r.Key))
			continue
		}
		seen[e.key] = true
		if !present[r.Meter] {
			continue
		}
		// Two registers with the same description would get the same name
		// and entity id; the second one is told apart by its key.
		if ids[e.entityID] || strings.HasSuffix(e.entityID, "_") {
			e.entityID = e.key
		}
		if names[e.name] {
			e.name += " (" + r.Key + ")"
		}
		ids[e.entityID], names[e.name] = true, true
		if perPhase(r.Desc) {
			// Three of each flood a dashboard and the recorder; the user
			// enables the ones wanted.
			e.extra = map[string]any{"enabled_by_default": false}
		}
		out = append(out, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// validate rejects registers whose key or description would not fit in a
// template or a topic.
func (r MeterRegister) validate() error {
	if r.Meter != 1 && r.Meter != 2 {
		return fmt.Errorf("meter %d: must be 1 or 2", r.Meter)
	}
	if !meterKey.MatchString(r.Key) {
		return fmt.Errorf("key %q: want 0x<fc>_0x<addr> in lower-case hex", r.Key)
	}
	if strings.TrimSpace(r.Desc) == "" {
		return fmt.Errorf("key %s: empty description", r.Key)
	}
	return nil
}

// meterEntity is the sensor for one register: device and state class from
// the unit, state from the meter document, and unavailable whenever the
// register's DataStatus is not "Valid".
func meterEntity(r MeterRegister) entity {
	doc := fmt.Sprintf("Meter%d", r.Meter)
	ref := fmt.Sprintf("value_json.%s.ModbusData['%s']", doc, r.Key)
	unit := r.Unit
	if unit == "" {
		if m := descUnit.FindStringSubmatch(r.Desc); m != nil {
			unit = strings.TrimSpace(m[1])
		}
	}
	label := humanize(r.Desc)
	e := entity{
		component:     sensor,
		key:           fmt.Sprintf("meter%d_%s", r.Meter, r.Key),
		name:          fmt.Sprintf("Meter %d %s", r.Meter, label),
		entityID:      fmt.Sprintf("meter%d_%s", r.Meter, slug(label)),
		source:        strings.ToLower(doc),
		field:         doc,
		template:      "{{ " + ref + ".Value }}",
		unit:          unit,
		availSource:   strings.ToLower(doc),
		availTemplate: "{{ 'online' if " + ref + ".DataStatus == 'Valid' else 'offline' }}",
	}
	e.class, e.stateCls = classesFor(unit, r.Desc)
	return e
}

// classesFor derives device and state class from a register's unit. A net
// energy counter can fall, so it is a total, not total_increasing.
func classesFor(unit, desc string) (class, stateClass string) {
	switch unit {
	case "W":
		return "power", "measurement"
	case "kWh":
		if strings.Contains(strings.ToLower(desc), "net") {
			return "energy", "total"
		}
		return "energy", "total_increasing"
	case "V":
		return "voltage", "measurement"
	case "A":
		return "current", "measurement"
	case "Hz":
		return "frequency", "measurement"
	}
	return "", ""
}

// humanize turns a register description like "TotalSystemPower[W]" into
// "total system power" (to follow "Meter 1"): brackets dropped, camel case
// split, capitalised words lowered, acronyms such as "L1" kept.
func humanize(desc string) string {
	desc = strings.TrimSpace(descUnit.ReplaceAllString(desc, ""))
	var b strings.Builder
	rs := []rune(desc)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	words := strings.Fields(strings.NewReplacer("_", " ").Replace(b.String()))
	for i, w := range words {
		rw := []rune(w)
		rest := string(rw[1:])
		if unicode.IsUpper(rw[0]) && strings.ToLower(rest) == rest && strings.IndexFunc(rest, unicode.IsLower) >= 0 {
			words[i] = strings.ToLower(w)
		}
	}
	if len(words) == 0 {
		return "register"
	}
	return strings.Join(words, " ")
}

// perPhase reports a per-phase register ("L1Voltage[V]", "L2Current[A]").
func perPhase(desc string) bool {
	return len(desc) > 2 && desc[0] == 'L' && desc[1] >= '1' && desc[1] <= '3'
}
