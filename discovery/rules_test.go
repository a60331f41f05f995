package discovery

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// ruleEnv is what the rules are checked against.
type ruleEnv struct {
	prefix, base, node string
	registers          map[string]map[string]bool // "Meter1" → ModbusData keys published
	hwMax              float64
}

func envFor(d Device, o Options) ruleEnv {
	env := ruleEnv{prefix: firstNonEmpty(o.Prefix, DefaultPrefix), base: firstNonEmpty(d.Base, "evse/"+d.ID),
		node: NodeID(d.ID), hwMax: float64(d.HardwareMaxCurrent),
		registers: map[string]map[string]bool{"Meter1": {}, "Meter2": {}}}
	for _, r := range o.Meters {
		if r.Meter == 1 || r.Meter == 2 {
			env.registers[fmt.Sprintf("Meter%d", r.Meter)][r.Key] = true
		}
	}
	return env
}

var (
	topicRule = regexp.MustCompile(`^([^+#]+)/(sensor|binary_sensor|switch|number|select|button|text)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config$`)
	idRule    = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	// Every value_json reference must be one of these two shapes.
	fieldRef = regexp.MustCompile(`value_json\.([A-Za-z0-9_]+)`)
	meterRef = regexp.MustCompile(`value_json\.(Meter[12])\.ModbusData\['([^']*)'\]\.(Value|DataStatus)`)
	// ON/OFF-style templates: {{ 'A' if value_json.X else 'B' }}.
	flagTmpl = regexp.MustCompile(`^\{\{ '([^']*)' if value_json\.[A-Za-z0-9_]+ else '([^']*)' \}\}$`)
	listTmpl = regexp.MustCompile(`^\{\{ \[(.*)\]\[value_json\.[A-Za-z0-9_]+\] \}\}$`)
	dictTmpl = regexp.MustCompile(`^\{\{ \{(.*)\}\[value\] \}\}$`)
)

// Keys HA knows per component (long forms); unknown keys are dropped
// silently by HA, which hides typos, so they are errors here.
var commonKeys = []string{"name", "unique_id", "default_entity_id", "device", "origin", "availability",
	"availability_mode", "entity_category", "icon", "state_topic", "value_template", "command_topic",
	"device_class", "enabled_by_default", "qos", "encoding"}

var componentKeys = map[string][]string{
	"sensor":        {"unit_of_measurement", "state_class", "options", "suggested_display_precision", "expire_after", "force_update"},
	"binary_sensor": {"payload_on", "payload_off", "expire_after", "force_update"},
	"switch":        {"payload_on", "payload_off", "state_on", "state_off", "optimistic", "retain"},
	"number":        {"min", "max", "step", "mode", "unit_of_measurement", "command_template", "retain"},
	"select":        {"options", "command_template", "retain"},
	"button":        {"payload_press", "retain"},
	"text":          {"min", "max", "mode", "pattern", "command_template", "retain"},
}

var (
	deviceKeys = []string{"identifiers", "connections", "name", "manufacturer", "model", "model_id", "sw_version",
		"hw_version", "serial_number", "configuration_url", "suggested_area", "via_device"}
	originKeys = []string{"name", "sw_version", "support_url"}
	availKeys  = []string{"topic", "payload_available", "payload_not_available", "value_template"}
)

// sensorClasses: allowed units and state classes per sensor device class
// (sensor/const.py, the subset relevant here).
var sensorClasses = map[string]struct{ units, stateClasses []string }{
	"energy":    {[]string{"Wh", "kWh", "MWh"}, []string{"total", "total_increasing"}},
	"power":     {[]string{"W", "kW"}, []string{"measurement"}},
	"current":   {[]string{"A", "mA"}, []string{"measurement"}},
	"voltage":   {[]string{"V", "mV", "kV"}, []string{"measurement"}},
	"frequency": {[]string{"Hz", "kHz"}, []string{"measurement"}},
	"duration":  {[]string{"s", "min", "h", "d"}, []string{"measurement", "total", "total_increasing"}},
	"enum":      {[]string{""}, []string{""}},
}

var numberClasses = map[string][]string{"current": {"A", "mA"}, "power": {"W", "kW"}}
var binaryClasses = []string{"", "plug", "battery_charging", "problem", "running", "power", "connectivity"}
var buttonClasses = []string{"", "restart", "identify", "update"}

// checkRules checks every payload against ../shared/reference/ha-mqtt-discovery.md
// and the documented state and command topics; it returns every violation.
func checkRules(msgs []Message, env ruleEnv) []error {
	var errs []error
	fail := func(topic, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", topic, fmt.Sprintf(format, args...)))
	}
	uniq := map[string]string{}
	names := map[string]string{}
	entityIDs := map[string]string{}
	var firstDevice any
	for _, m := range msgs {
		t := m.Topic
		tm := topicRule.FindStringSubmatch(t)
		if tm == nil {
			fail(t, "topic does not match <prefix>/<component>/<node_id>/<object_id>/config with [a-zA-Z0-9_-] ids")
			continue
		}
		if tm[1] != env.prefix || tm[3] != env.node {
			fail(t, "prefix or node id: want %s and %s", env.prefix, env.node)
		}
		comp := tm[2]
		var p map[string]any
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			fail(t, "payload is not a JSON object: %v", err)
			continue
		}
		str := func(k string) string { s, _ := p[k].(string); return s }

		// Keys.
		allowed := append(slices.Clone(commonKeys), componentKeys[comp]...)
		for k := range p {
			if !slices.Contains(allowed, k) {
				fail(t, "unknown key %q for %s", k, comp)
			}
		}
		if str("name") == "" {
			fail(t, "name missing")
		} else if other := names[str("name")]; other != "" {
			fail(t, "name %q also used by %s: two entities HA shows alike", str("name"), other)
		}
		names[str("name")] = t

		// Identity.
		uid := str("unique_id")
		switch {
		case uid == "":
			fail(t, "unique_id missing")
		case !idRule.MatchString(uid):
			fail(t, "unique_id %q outside [a-zA-Z0-9_-]", uid)
		case uniq[uid] != "":
			fail(t, "unique_id %q also used by %s", uid, uniq[uid])
		default:
			uniq[uid] = t
		}
		eid := str("default_entity_id")
		if !regexp.MustCompile(`^` + comp + `\.[a-z0-9_]+$`).MatchString(eid) {
			fail(t, "default_entity_id %q: want %s.<slug>", eid, comp)
		} else if entityIDs[eid] != "" {
			fail(t, "default_entity_id %q also used by %s", eid, entityIDs[eid])
		}
		entityIDs[eid] = t

		// Device and origin.
		dev, _ := p["device"].(map[string]any)
		if dev == nil {
			fail(t, "device missing")
		} else {
			errs = append(errs, onlyKeys(t, "device", dev, deviceKeys)...)
			if ids, _ := dev["identifiers"].([]any); len(ids) == 0 {
				fail(t, "device.identifiers missing")
			}
			for _, k := range []string{"name", "manufacturer", "model", "sw_version", "configuration_url"} {
				if s, _ := dev[k].(string); s == "" {
					fail(t, "device.%s missing", k)
				}
			}
			if firstDevice == nil {
				firstDevice = dev
			} else if !reflect.DeepEqual(firstDevice, dev) {
				fail(t, "device differs from the first entity's: one charger, one device")
			}
		}
		origin, _ := p["origin"].(map[string]any)
		if origin == nil || origin["name"] != OriginName {
			fail(t, "origin.name must be %q", OriginName)
		} else {
			errs = append(errs, onlyKeys(t, "origin", origin, originKeys)...)
		}

		// Availability.
		errs = append(errs, checkAvailability(t, p, env)...)

		// Category.
		cat := str("entity_category")
		if cat != "" && cat != "config" && cat != "diagnostic" {
			fail(t, "entity_category %q", cat)
		}
		if cat == "config" && (comp == "sensor" || comp == "binary_sensor") {
			fail(t, "a %s may not be in category config", comp)
		}

		// State and command topics, templates.
		errs = append(errs, checkState(t, comp, p, env)...)
		errs = append(errs, checkCommand(t, comp, p, env)...)
		errs = append(errs, checkComponent(t, comp, p, env)...)
		errs = append(errs, checkDisabled(t, p)...)
	}
	return errs
}

func onlyKeys(topic, what string, m map[string]any, keys []string) []error {
	var errs []error
	for k := range m {
		if !slices.Contains(keys, k) {
			errs = append(errs, fmt.Errorf("%s: %s has unknown key %q (HA rejects the entity)", topic, what, k))
		}
	}
	return errs
}

func checkAvailability(t string, p map[string]any, env ruleEnv) []error {
	var errs []error
	if _, both := p["availability_topic"]; both {
		errs = append(errs, fmt.Errorf("%s: availability_topic and availability together", t))
	}
	items, _ := p["availability"].([]any)
	if len(items) == 0 {
		return append(errs, fmt.Errorf("%s: availability missing", t))
	}
	first, _ := items[0].(map[string]any)
	if first == nil || first["topic"] != env.base+"/availability" {
		errs = append(errs, fmt.Errorf("%s: first availability topic must be %s/availability", t, env.base))
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: availability item is not an object", t))
			continue
		}
		errs = append(errs, onlyKeys(t, "availability item", m, availKeys)...)
		topic, _ := m["topic"].(string)
		if !strings.HasPrefix(topic, env.base+"/") {
			errs = append(errs, fmt.Errorf("%s: availability topic %q outside the base topic", t, topic))
		}
		if tmpl, ok := m["value_template"].(string); ok {
			_, err := templateFields(tmpl, strings.TrimPrefix(topic, env.base+"/"), env)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: availability template: %w", t, err))
			}
		}
	}
	mode, hasMode := p["availability_mode"].(string)
	if hasMode && mode != "all" && mode != "any" && mode != "latest" {
		errs = append(errs, fmt.Errorf("%s: availability_mode %q", t, mode))
	}
	if len(items) > 1 && mode != "all" {
		errs = append(errs, fmt.Errorf("%s: several availability conditions need availability_mode all", t))
	}
	return errs
}

// templateFields returns the documented type of each field a template reads
// from the document on the state topic source ("status", "config",
// "meter1", "meter2"), or an error naming an undocumented one.
func templateFields(tmpl, source string, env ruleEnv) ([]fieldType, error) {
	refs := fieldRef.FindAllStringSubmatch(tmpl, -1)
	if len(refs) == 0 {
		return nil, fmt.Errorf("template %q reads no value_json field", tmpl)
	}
	var docs map[string]fieldType
	switch source {
	case "status":
		docs = statusFields()
	case "config":
		docs = configFields()
	case "meter1", "meter2":
		want := "M" + source[1:]
		mrefs := meterRef.FindAllStringSubmatch(tmpl, -1)
		if len(mrefs) != len(refs) {
			return nil, fmt.Errorf("template %q: meter documents are read as value_json.MeterN.ModbusData['key'].Value|DataStatus", tmpl)
		}
		var types []fieldType
		for _, r := range mrefs {
			if r[1] != want || !env.registers[want][r[2]] {
				return nil, fmt.Errorf("template %q: %s register %q is not published on %s", tmpl, r[1], r[2], source)
			}
			types = append(types, map[string]fieldType{"Value": tNumber, "DataStatus": tString}[r[3]])
		}
		return types, nil
	default:
		return nil, fmt.Errorf("state topic %q is not a documented document", source)
	}
	var types []fieldType
	for _, r := range refs {
		ft, ok := docs[r[1]]
		if !ok {
			return nil, fmt.Errorf("template %q: field %s is not in the %s document", tmpl, r[1], source)
		}
		types = append(types, ft)
	}
	return types, nil
}

func checkState(t, comp string, p map[string]any, env ruleEnv) []error {
	st, hasState := p["state_topic"].(string)
	tmpl, _ := p["value_template"].(string)
	if comp == "button" {
		if hasState || tmpl != "" {
			return []error{fmt.Errorf("%s: a button has no state", t)}
		}
		return nil
	}
	if !hasState {
		return []error{fmt.Errorf("%s: %s needs state_topic here (all state is published)", t, comp)}
	}
	if !strings.HasPrefix(st, env.base+"/") || strings.ContainsAny(st, "+#") {
		return []error{fmt.Errorf("%s: state_topic %q", t, st)}
	}
	types, err := templateFields(tmpl, strings.TrimPrefix(st, env.base+"/"), env)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", t, err)}
	}
	want := tNumber
	switch {
	case comp == "binary_sensor" || comp == "switch":
		want = tBool
	case comp == "sensor" && p["state_class"] == nil && p["unit_of_measurement"] == nil:
		want = tString
	case comp == "select" && p["command_template"] == nil:
		want = tString // a word-valued select (checkSelect judges the words)
	case comp == "text":
		want = tString
	}
	if comp == "sensor" && p["state_class"] == "measurement" && want != tNumber {
		return []error{fmt.Errorf("%s: measurement of a non-numeric field", t)}
	}
	if comp == "sensor" && p["state_class"] == nil && p["unit_of_measurement"] == nil && p["device_class"] == nil {
		want = 0 // plain text sensor: any type
	}
	if want != 0 && types[0] != want {
		return []error{fmt.Errorf("%s: template reads a field of type %d, %s wants %d", t, types[0], comp, want)}
	}
	field := fieldRef.FindStringSubmatch(tmpl)[1]
	if mustBeDiagnostic()[field] && comp != "switch" && p["entity_category"] != "diagnostic" {
		return []error{fmt.Errorf("%s: %s must be a diagnostic", t, field)}
	}
	return nil
}

var commandRule = regexp.MustCompile(`^(charging|boost|system|power_available|mode|phases|config/([A-Za-z0-9]+))/set$`)

func checkCommand(t, comp string, p map[string]any, env ruleEnv) []error {
	ct, has := p["command_topic"].(string)
	needs := comp == "switch" || comp == "number" || comp == "select" || comp == "button" || comp == "text"
	if !needs {
		if has {
			return []error{fmt.Errorf("%s: %s has no command_topic", t, comp)}
		}
		return nil
	}
	if !has || ct == "" {
		return []error{fmt.Errorf("%s: command_topic missing", t)}
	}
	if strings.ContainsAny(ct, "+#") {
		return []error{fmt.Errorf("%s: wildcard in command_topic %q", t, ct)}
	}
	rel, ok := strings.CutPrefix(ct, env.base+"/")
	cm := commandRule.FindStringSubmatch(rel)
	if !ok || cm == nil {
		return []error{fmt.Errorf("%s: command_topic %q is not a documented command", t, ct)}
	}
	if field := cm[2]; field != "" {
		if !writableConfig()[field] {
			return []error{fmt.Errorf("%s: %s is not a writable SystemConfig field", t, field)}
		}
		if p["entity_category"] != "config" {
			return []error{fmt.Errorf("%s: a SystemConfig setting belongs in category config", t)}
		}
		tmpl, _ := p["value_template"].(string)
		if r := fieldRef.FindStringSubmatch(tmpl); r == nil || r[1] != field || p["state_topic"] != env.base+"/config" {
			return []error{fmt.Errorf("%s: writes %s but reads its state elsewhere", t, field)}
		}
	}
	return nil
}

// installerFields are the settings of how the charger is built and wired.
var installerFields = map[string]bool{"ChargerMode": true, "LockMethod": true, "Meter1Type": true,
	"Meter2Type": true, "Meter1Ip": true, "Meter2Ip": true}

var perPhaseName = regexp.MustCompile(`(^| )L[123] `)

// checkDisabled: installer settings and per-phase meter registers are
// announced disabled by default (issue 12), everything else enabled.
func checkDisabled(t string, p map[string]any) []error {
	tmpl, _ := p["value_template"].(string)
	field := ""
	if m := fieldRef.FindStringSubmatch(tmpl); m != nil {
		field = m[1]
	}
	name, _ := p["name"].(string)
	want := installerFields[field] && p["command_topic"] != nil || perPhaseName.MatchString(name)
	got := p["enabled_by_default"] == false
	if want != got {
		return []error{fmt.Errorf("%s: enabled_by_default false is %v, want %v (installer settings and per-phase registers only)", t, got, want)}
	}
	return nil
}
