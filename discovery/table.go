package discovery

import (
	"fmt"
	"strings"
)

// Components used here, as named in discovery topics.
const (
	sensor       = "sensor"
	binarySensor = "binary_sensor"
	switchComp   = "switch"
	number       = "number"
	selectComp   = "select"
	button       = "button"
	text         = "text"
)

// Entity categories.
const (
	catConfig     = "config"
	catDiagnostic = "diagnostic"
)

// State topics, relative to the base topic.
const (
	srcStatus = "status"
	srcConfig = "config"
)

// stateNames are the Status document's "State" values, in EvseState order.
func stateNames() []string {
	return []string{"waiting", "idle", "relay_error", "emergency_stop", "connected", "charging",
		"ventilation", "diode_error", "cp_error", "general_error", "pp_error", "lock_error"}
}

// entity is one row of the table: what is specific to an entity. discover
// adds what every entity shares (unique_id, device, origin, availability).
type entity struct {
	component string
	key       string // object id, unique within the device: [a-z0-9_]
	name      string
	entityID  string // object part of default_entity_id when not key
	source    string // state topic relative to base; "" for a button
	field     string // field of the source document the state comes from
	template  string // value_template; derived from field when ""
	command   string // command topic relative to base
	category  string
	class     string
	unit      string
	stateCls  string
	icon      string
	extra     map[string]any // component-specific keys (options, min, max, …)
	// availSource and availTemplate add a second availability condition
	// (a topic relative to base and its template) to <base>/availability.
	availSource, availTemplate string
}

// Lookup helpers, one per kind of row, so the table reads as data.

func measurement(key, name, field, class, unit string) entity {
	return entity{component: sensor, key: key, name: name, source: srcStatus, field: field,
		class: class, unit: unit, stateCls: "measurement"}
}

func textSensor(key, name, field, category, icon string) entity {
	return entity{component: sensor, key: key, name: name, source: srcStatus, field: field,
		category: category, icon: icon}
}

func enumSensor(key, name, field, category string, options []string) entity {
	return entity{component: sensor, key: key, name: name, source: srcStatus, field: field,
		category: category, class: "enum", extra: map[string]any{"options": options}}
}

func flagSensor(key, name, field, class, category string) entity {
	return entity{component: binarySensor, key: key, name: name, source: srcStatus, field: field,
		class: class, category: category}
}

// configSwitch writes a boolean SystemConfig field as JSON true/false and
// reads it back from the config document.
func configSwitch(key, name, field, icon string) entity {
	return entity{component: switchComp, key: key, name: name, source: srcConfig, field: field,
		command: "config/" + field + "/set", category: catConfig, icon: icon,
		extra: map[string]any{"payload_on": "true", "payload_off": "false", "state_on": "ON", "state_off": "OFF"}}
}

func configNumber(key, name, field, class, unit string, lo, hi, step float64, mode string) entity {
	return entity{component: number, key: key, name: name, source: srcConfig, field: field,
		command: "config/" + field + "/set", category: catConfig, class: class, unit: unit,
		extra: map[string]any{"min": lo, "max": hi, "step": step, "mode": mode}}
}

// configSelect maps human labels to the numeric SystemConfig values 0..n-1
// in both directions, so HA shows labels and the charger gets numbers.
func configSelect(key, name, field, icon string, labels []string) entity {
	quoted := make([]string, len(labels))
	pairs := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = "'" + l + "'"
		pairs[i] = fmt.Sprintf("'%s': %d", l, i)
	}
	return entity{component: selectComp, key: key, name: name, source: srcConfig, field: field,
		template: fmt.Sprintf("{{ [%s][value_json.%s] }}", strings.Join(quoted, ", "), field),
		command:  "config/" + field + "/set", category: catConfig, icon: icon,
		extra: map[string]any{
			"options":          labels,
			"command_template": fmt.Sprintf("{{ {%s}[value] }}", strings.Join(pairs, ", ")),
		}}
}

// configText writes a string SystemConfig field as the text typed (the
// MQTT config path takes a bare word as a string) and reads it back from
// the config document. The charger validates it; no pattern here, so a
// value the charger accepts is never one Home Assistant refuses to show.
func configText(key, name, field, icon string) entity {
	return entity{component: text, key: key, name: name, source: srcConfig, field: field,
		command: "config/" + field + "/set", category: catConfig, icon: icon, extra: map[string]any{}}
}

// entities is the charger's entity table; meter registers are added by
// meterEntities.
func entities(d Device) []entity {
	maxA := float64(d.HardwareMaxCurrent)
	minA := float64(MinChargeCurrent)
	ents := []entity{
		enumSensor("state", "State", "State", "", stateNames()),
		measurement("current", "Current", "ActualCurrent", "current", "A"),
		measurement("power", "Power", "ActualPower", "power", "W"),
		measurement("power_available", "Available power", "ActualPowerAvailable", "power", "W"),
		{component: sensor, key: "session_energy", name: "Session energy", source: srcStatus,
			field: "ActualEnergy", class: "energy", unit: "kWh", stateCls: "total_increasing",
			// The Status document carries watt-seconds; HA's energy class takes kWh.
			template: "{{ (value_json.ActualEnergy | float(0) / 3600000) | round(4) }}",
			extra:    map[string]any{"suggested_display_precision": 2}},
		{component: sensor, key: "session_duration", name: "Session duration", source: srcStatus,
			field: "ActualDurationTotalSeconds", class: "duration", unit: "s", stateCls: "total_increasing"},
		measurement("current_limit", "Current limit", "CurrentLimit", "current", "A"),
		textSensor("reason", "Reason", "Reason", catDiagnostic, "mdi:information-outline"),
		textSensor("limit_source", "Limit source", "LimitSource", catDiagnostic, "mdi:arrow-collapse-down"),
		enumSensor("power_source", "Power source", "PowerSource", catDiagnostic, []string{"meter", "estimate"}),
		{component: sensor, key: "ocpp_connection", name: "OCPP connection", source: srcStatus, field: "OCPP",
			category: catDiagnostic, icon: "mdi:server-network", // off, disconnected, pending, rejected, accepted
			template: "{{ value_json.OCPP.connection if value_json.OCPP is defined else 'off' }}"},

		flagSensor("vehicle_connected", "Vehicle connected", "VehicleConnected", "plug", ""),
		flagSensor("charging_active", "Charging", "Charging", "battery_charging", ""),
		flagSensor("boost_active", "Boost active", "ChargeBoosted", "", ""),
		flagSensor("problem", "Problem", "Problem", "problem", catDiagnostic),

		{component: switchComp, key: "charging", name: "Charging enabled", source: srcStatus,
			field: "ChargerStarted", command: "charging/set", icon: "mdi:ev-station"},
		{component: switchComp, key: "boost", name: "Boost", source: srcStatus,
			field: "ChargeBoosted", command: "boost/set", icon: "mdi:rocket-launch"},
		configSwitch("auto_start", "Auto start", "ChargeAutoStart", "mdi:play-circle-outline"),
		configSwitch("three_phase", "Three-phase charging", "Charge3Phase", "mdi:sine-wave"),

		configNumber("charge_current", "Charge current", "ChargeCurrent", "current", "A", minA, maxA, 1, "slider"),
		configNumber("boost_current", "Boost current", "ChargeCurrentBoost", "current", "A", minA, maxA, 1, "slider"),
		configNumber("control_limit", "Control limit", "ControlLimit", "power", "W", 0, float64(d.MaxControlLimit), 100, "box"),
		configNumber("phase_current_limit", "Phase current limit", "PhaseCurrentLimit", "current", "A",
			minA, float64(d.MaxPhaseCurrent), 1, "box"),

		configSelect("control_strategy", "Control strategy", "ControlStrategy", "mdi:transmission-tower",
			[]string{"Disabled", "Limit power"}),
		installer(configSelect("charger_mode", "Charger mode", "ChargerMode", "mdi:ev-plug-type2",
			[]string{"Tethered cable (Case C)", "Socket (Case B)"})),
		installer(configSelect("lock_method", "Lock method", "LockMethod", "mdi:lock",
			[]string{"Solenoid", "Servomotor"})),
		installer(configSelect("type_meter1", "Meter 1 type", "Meter1Type", "mdi:meter-electric",
			meterLabels[:7])),
		installer(configSelect("type_meter2", "Meter 2 type", "Meter2Type", "mdi:meter-electric",
			meterLabels[:])),
		installer(configText("ip_meter1", "Meter 1 address", "Meter1Ip", "mdi:ip-network")),
		installer(configText("ip_meter2", "Meter 2 address", "Meter2Ip", "mdi:ip-network")),

		{component: button, key: "restart", name: "Restart", command: "system/set",
			category: catConfig, class: "restart", extra: map[string]any{"payload_press": `{"SCode":"Reset"}`}},
	}
	if d.LifetimeEnergy {
		ents = append(ents, entity{component: sensor, key: "energy_total", name: "Energy", source: srcStatus,
			field: "LifetimeEnergy", class: "energy", unit: "kWh", stateCls: "total_increasing",
			extra: map[string]any{"suggested_display_precision": 1}})
	}
	if d.PhaseSwitch {
		ents = append(ents,
			entity{component: sensor, key: "phases_active", name: "Phases", source: srcStatus, field: "PhasesActive",
				stateCls: "measurement", icon: "mdi:sine-wave"},
			enumSensor("phase_switch", "Phase switch", "PhaseSwitch", catDiagnostic,
				[]string{"idle", "stopping", "f_hold", "switching", "resuming", "verifying"}),
			entity{component: sensor, key: "phase_switches", name: "Phase switches", source: srcStatus, field: "PhaseSwitches",
				category: catDiagnostic, stateCls: "measurement", icon: "mdi:counter"},
			textSensor("phase_reason", "Phase switch reason", "PhaseReason", catDiagnostic, "mdi:information-outline"),
			// The request as phases/set takes it and the status reports it
			// (auto reads follow outside the solar modes).
			entity{component: selectComp, key: "phase_request", name: "Phase request", source: srcStatus,
				field: "PhaseRequest", command: "phases/set", icon: "mdi:sine-wave",
				extra: map[string]any{"options": phaseRequestNames()}})
	}
	if d.Modes {
		ents = append(ents, entity{component: selectComp, key: "mode", name: "Charging mode", source: srcStatus,
			field: "Mode", command: "mode/set", icon: "mdi:solar-power",
			extra: map[string]any{"options": modeNames()}})
	}
	return ents
}

// modeNames are the charging modes as <base>/mode/set takes them and the
// status reports them (controller.ModeNames).
func modeNames() []string { return []string{"off", "now", "solar", "minsolar"} }

// phaseRequestNames are the requests <base>/phases/set takes and the
// status reports as PhaseRequest (controller.PhaseRequestNames).
func phaseRequestNames() []string { return []string{"follow", "1", "3", "auto"} }

// meterHealth is the diagnostic for a meter's communication quality.
func meterHealth(meter int) entity {
	field := fmt.Sprintf("Meter%dStatus", meter)
	return entity{component: sensor, key: fmt.Sprintf("meter%d_status", meter),
		name: fmt.Sprintf("Meter %d status", meter), source: srcStatus, field: field,
		category: catDiagnostic, stateCls: "measurement", icon: "mdi:counter"}
}

// installer marks an installer's setting (how the charger is built and
// wired): announced, but disabled until the user enables it, so a
// dashboard does not invite changing it.
func installer(e entity) entity {
	e.extra["enabled_by_default"] = false
	return e
}

// meterLabels name the Meter1Type/Meter2Type values 0–8 (7 and 8 are
// Meter2's only).
var meterLabels = [...]string{"None", "SDM72D (RTU)", "NMID30 (RTU)", "SDM120 (RTU)", "SDM72D (IP)",
	"NMID30 (IP)", "SDM120 (IP)", "Remote supervisor", "Grid feed (MQTT/HTTP)"}
