package discovery

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// checkComponent applies the rules specific to each component.
func checkComponent(t, comp string, p map[string]any, env ruleEnv) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", t, fmt.Sprintf(format, args...)))
	}
	str := func(k string) string { s, _ := p[k].(string); return s }
	tmpl := str("value_template")
	field := ""
	if r := fieldRef.FindStringSubmatch(tmpl); r != nil {
		field = r[1]
	}
	switch comp {
	case "sensor":
		dc, unit, sc := str("device_class"), str("unit_of_measurement"), str("state_class")
		if sc != "" && !slices.Contains([]string{"measurement", "total", "total_increasing"}, sc) {
			fail("state_class %q", sc)
		}
		if dc != "" {
			rule, ok := sensorClasses[dc]
			switch {
			case !ok:
				fail("sensor device_class %q not in the checked table", dc)
			case !slices.Contains(rule.units, unit):
				fail("unit %q does not fit device_class %s (HA rejects the sensor)", unit, dc)
			case !slices.Contains(rule.stateClasses, sc):
				fail("state_class %q does not fit device_class %s", sc, dc)
			}
		}
		opts, hasOpts := p["options"].([]any)
		if (dc == "enum") != hasOpts {
			fail("options go with device_class enum and only with it")
		}
		if dc == "enum" && len(opts) == 0 {
			fail("enum without options")
		}
		if field == "State" && !slices.Equal(toStrings(opts), evseStates()) {
			fail("State options %v: want the 12 EVSE states in order", opts)
		}
		if field == "ActualEnergy" {
			div := map[string]string{"Wh": "/ 3600)", "kWh": "/ 3600000)"}[unit]
			if div == "" || !strings.Contains(tmpl, div) {
				fail("ActualEnergy is in Ws: template %q must convert to %q", tmpl, unit)
			}
		}
		if v, ok := p["suggested_display_precision"]; ok {
			if f, _ := v.(float64); f < 0 || f != float64(int(f)) {
				fail("suggested_display_precision %v", v)
			}
		}
	case "binary_sensor":
		if !slices.Contains(binaryClasses, str("device_class")) {
			fail("binary_sensor device_class %q", str("device_class"))
		}
		on, off := withDefault(str("payload_on"), "ON"), withDefault(str("payload_off"), "OFF")
		errs = append(errs, checkFlagTemplate(t, tmpl, on, off)...)
	case "switch":
		on, off := withDefault(str("payload_on"), "ON"), withDefault(str("payload_off"), "OFF")
		errs = append(errs, checkFlagTemplate(t, tmpl, withDefault(str("state_on"), on), withDefault(str("state_off"), off))...)
		cmd := strings.TrimPrefix(str("command_topic"), env.base+"/")
		if strings.HasPrefix(cmd, "config/") {
			// The payload is a JSON value of the field's documented type.
			for _, pl := range []string{on, off} {
				var v any
				if err := json.Unmarshal([]byte(pl), &v); err != nil {
					fail("payload %q is not JSON", pl)
				} else if _, isBool := v.(bool); isBool != (configFields()[field] == tBool) {
					fail("payload %q does not fit %s's type", pl, field)
				}
			}
		} else if on != "ON" || off != "OFF" {
			fail("%s takes ON|OFF, not %q|%q", cmd, on, off)
		}
	case "number":
		lo, hi, step := num(p, "min", 0), num(p, "max", 100), num(p, "step", 1)
		if !(lo < hi) || step <= 0 {
			fail("min %v max %v step %v", lo, hi, step)
		}
		if m := str("mode"); m != "" && !slices.Contains([]string{"auto", "box", "slider"}, m) {
			fail("mode %q", m)
		}
		if dc := str("device_class"); dc != "" && !slices.Contains(numberClasses[dc], str("unit_of_measurement")) {
			fail("number device_class %q with unit %q", dc, str("unit_of_measurement"))
		}
		if field == "ChargeCurrent" || field == "ChargeCurrentBoost" {
			if lo < 6 || hi != env.hwMax {
				fail("%s range %v..%v: want 6..%v (IEC 61851 minimum to hardware max)", field, lo, hi, env.hwMax)
			}
		}
	case "select":
		errs = append(errs, checkSelect(t, p, field)...)
		if cmd, ok := wordCommands()[field]; ok && str("command_topic") != env.base+"/"+cmd {
			fail("%s is written on %s/%s, not %q", field, env.base, cmd, str("command_topic"))
		}
	case "text":
		errs = append(errs, checkText(t, p)...)
	case "button":
		if !slices.Contains(buttonClasses, str("device_class")) {
			fail("button device_class %q", str("device_class"))
		}
		if str("command_topic") == env.base+"/system/set" {
			var cmd map[string]any
			if err := json.Unmarshal([]byte(str("payload_press")), &cmd); err != nil ||
				!slices.Contains([]any{"Reset", "FactoryDefault", "WiFiSetToAP"}, cmd["SCode"]) {
				fail("payload_press %q is not a documented {\"SCode\": ...}", str("payload_press"))
			}
		}
	}
	return errs
}

// checkText: HA's text limits (min ≤ max ≤ 255 characters, both whole
// numbers ≥ 0), its two modes, and a pattern that compiles.
func checkText(t string, p map[string]any) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", t, fmt.Sprintf(format, args...)))
	}
	lo, hi := num(p, "min", 0), num(p, "max", 255)
	if lo < 0 || lo != float64(int(lo)) || hi != float64(int(hi)) || lo > hi || hi > 255 {
		fail("text min %v max %v: want whole numbers, 0 ≤ min ≤ max ≤ 255 (HA rejects the entity)", p["min"], p["max"])
	}
	if m, has := p["mode"]; has && m != "text" && m != "password" {
		fail("text mode %v: want text or password", m)
	}
	if pat, has := p["pattern"]; has {
		s, ok := pat.(string)
		if _, err := regexp.Compile(s); !ok || err != nil {
			fail("text pattern %v does not compile", pat)
		}
	}
	return errs
}

func checkFlagTemplate(t, tmpl, on, off string) []error {
	m := flagTmpl.FindStringSubmatch(tmpl)
	if m == nil {
		return []error{fmt.Errorf("%s: template %q is not {{ 'X' if value_json.F else 'Y' }}", t, tmpl)}
	}
	if m[1] != on || m[2] != off {
		return []error{fmt.Errorf("%s: template yields %q/%q, entity expects %q/%q", t, m[1], m[2], on, off)}
	}
	return nil
}

var (
	quotedLabel = regexp.MustCompile(`^'([^']*)'$`)
	labelPair   = regexp.MustCompile(`^'([^']*)': (\d+)$`)
)

// checkSelect: the labels a select shows map to 0..n-1 and back, n being
// the number of values the SystemConfig field has.
func checkSelect(t string, p map[string]any, field string) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", t, fmt.Sprintf(format, args...)))
	}
	opts := toStrings(p["options"])
	if len(opts) == 0 {
		fail("select without options")
	}
	if words, ok := stringEnums()[field]; ok {
		// A word-valued field: shown and written as it is.
		if !slices.Equal(opts, words) {
			fail("%s takes %v, select offers %v", field, words, opts)
		}
		if tmpl, _ := p["value_template"].(string); tmpl != "{{ value_json."+field+" }}" {
			fail("value_template %q does not read %s as it is", tmpl, field)
		}
		if _, has := p["command_template"]; has {
			fail("%s is written as it is: no command_template", field)
		}
		return errs
	}
	if n := enumCounts()[field]; n != len(opts) {
		fail("%s has %d values, select has %d options", field, n, len(opts))
	}
	tmpl, _ := p["value_template"].(string)
	lm := listTmpl.FindStringSubmatch(tmpl)
	if lm == nil {
		return append(errs, fmt.Errorf("%s: value_template %q is not a label list", t, tmpl))
	}
	var labels []string
	for _, part := range strings.Split(lm[1], ", ") {
		q := quotedLabel.FindStringSubmatch(part)
		if q == nil {
			fail("label %q", part)
			continue
		}
		labels = append(labels, q[1])
	}
	if !slices.Equal(labels, opts) {
		fail("value_template labels %v differ from options %v", labels, opts)
	}
	ct, _ := p["command_template"].(string)
	dm := dictTmpl.FindStringSubmatch(ct)
	if dm == nil {
		return append(errs, fmt.Errorf("%s: command_template %q is not a label map", t, ct))
	}
	mapped := map[string]int{}
	for _, part := range strings.Split(dm[1], ", ") {
		q := labelPair.FindStringSubmatch(part)
		if q == nil {
			fail("command_template entry %q", part)
			continue
		}
		mapped[q[1]], _ = strconv.Atoi(q[2])
	}
	for i, o := range opts {
		if v, ok := mapped[o]; !ok || v != i {
			fail("command_template maps %q to %d, value_template to %d", o, v, i)
		}
	}
	if len(mapped) != len(opts) {
		fail("command_template maps %d labels, options has %d", len(mapped), len(opts))
	}
	return errs
}

func toStrings(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	case []string:
		out = l
	}
	return out
}

func withDefault(s, def string) string { return firstNonEmpty(s, def) }

func num(p map[string]any, k string, def float64) float64 {
	if f, ok := p[k].(float64); ok {
		return f
	}
	return def
}
