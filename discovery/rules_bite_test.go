package discovery

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRulesCatchMistakes breaks one valid payload at a time and expects the
// rules check to say so: a rules test that passes anything proves nothing.
func TestRulesCatchMistakes(t *testing.T) {
	d, o := testDevice(), testOptions()
	base, err := Build(d, o)
	if err != nil {
		t.Fatal(err)
	}
	env := envFor(d, o)
	if errs := checkRules(base, env); len(errs) > 0 {
		t.Fatalf("the unbroken payloads fail: %v", errs)
	}
	type mutation struct {
		topic  string // object id in the topic, e.g. "/power/"
		change func(p map[string]any)
		want   string // part of the expected complaint
	}
	cases := map[string]mutation{
		"power in kWh":          {"/sensor/evse_abc123/power/", func(p map[string]any) { p["unit_of_measurement"] = "kWh" }, "does not fit device_class power"},
		"energy as measurement": {"/session_energy/", func(p map[string]any) { p["state_class"] = "measurement" }, "state_class \"measurement\" does not fit"},
		"energy left in Ws":     {"/session_energy/", func(p map[string]any) { p["value_template"] = "{{ value_json.ActualEnergy }}" }, "ActualEnergy is in Ws"},
		"enum with a unit":      {"/state/", func(p map[string]any) { p["unit_of_measurement"] = "A" }, "does not fit device_class enum"},
		"states out of order":   {"/state/", func(p map[string]any) { p["options"] = []any{"idle", "waiting"} }, "12 EVSE states"},
		"sensor as config":      {"/sensor/evse_abc123/current/", func(p map[string]any) { p["entity_category"] = "config" }, "may not be in category config"},
		"reason not diagnostic": {"/reason/", func(p map[string]any) { delete(p, "entity_category") }, "must be a diagnostic"},
		"no unique_id":          {"/power/", func(p map[string]any) { delete(p, "unique_id") }, "unique_id missing"},
		"duplicate unique_id":   {"/current_limit/", func(p map[string]any) { p["unique_id"] = "evse_abc123_current" }, "also used by"},
		"bad unique_id charset": {"/power/", func(p map[string]any) { p["unique_id"] = "evse abc/power" }, "outside [a-zA-Z0-9_-]"},
		"deprecated object_id":  {"/power/", func(p map[string]any) { p["object_id"] = "evse_power" }, `unknown key "object_id"`},
		"typo in a key":         {"/power/", func(p map[string]any) { p["unit_of_measure"] = "W" }, "unknown key"},
		"no availability":       {"/power/", func(p map[string]any) { delete(p, "availability") }, "availability missing"},
		"both availabilities": {"/power/", func(p map[string]any) { p["availability_topic"] = "evse/abc123/availability" },
			"availability_topic and availability together"},
		"extra key in device":        {"/power/", func(p map[string]any) { p["device"].(map[string]any)["color"] = "red" }, "device has unknown key"},
		"second device":              {"/power/", func(p map[string]any) { p["device"].(map[string]any)["name"] = "Other" }, "device differs"},
		"wildcard command":           {"/switch/evse_abc123/charging/", func(p map[string]any) { p["command_topic"] = "evse/abc123/+/set" }, "wildcard"},
		"undocumented command":       {"/switch/evse_abc123/charging/", func(p map[string]any) { p["command_topic"] = "evse/abc123/start" }, "not a documented command"},
		"unwritable field":           {"/charge_current/", func(p map[string]any) { p["command_topic"] = "evse/abc123/config/SystemVersion/set" }, "not a writable"},
		"undocumented field":         {"/power/", func(p map[string]any) { p["value_template"] = "{{ value_json.Power }}" }, "not in the status document"},
		"bool read as number":        {"/power/", func(p map[string]any) { p["value_template"] = "{{ value_json.Charging }}" }, "of type"},
		"per-phase register enabled": {"/meter2_0x04_0x0000/", func(p map[string]any) { delete(p, "enabled_by_default") }, "enabled_by_default"},
		"installer setting enabled":  {"/charger_mode/", func(p map[string]any) { delete(p, "enabled_by_default") }, "enabled_by_default"},
		"power disabled":             {"/power/", func(p map[string]any) { p["enabled_by_default"] = false }, "enabled_by_default"},
		"mode missing a word":        {"/select/evse_abc123/mode/", func(p map[string]any) { p["options"] = []any{"off", "now", "solar"} }, "select offers"},
		"mode mapped to numbers":     {"/select/evse_abc123/mode/", func(p map[string]any) { p["command_template"] = "{{ {'off': 0}[value] }}" }, "no command_template"},
		"unknown meter register": {"/meter1_0x04_0x0034/", func(p map[string]any) {
			p["value_template"] = "{{ value_json.Meter1.ModbusData['0x04_0x9999'].Value }}"
		}, "not published"},
		"wrong meter document": {"/meter1_0x04_0x0034/", func(p map[string]any) {
			p["value_template"] = "{{ value_json.Meter2.ModbusData['0x04_0x0034'].Value }}"
		}, "not published on meter1"},
		"switch state mismatch":  {"/auto_start/", func(p map[string]any) { delete(p, "state_on"); delete(p, "state_off") }, "template yields"},
		"config switch ON/OFF":   {"/auto_start/", func(p map[string]any) { p["payload_on"] = "ON" }, "is not JSON"},
		"charge current too low": {"/charge_current/", func(p map[string]any) { p["min"] = 0 }, "IEC 61851 minimum"},
		"number unit mismatch":   {"/control_limit/", func(p map[string]any) { p["unit_of_measurement"] = "A" }, "number device_class"},
		"select labels swapped": {"/lock_method/", func(p map[string]any) {
			p["command_template"] = "{{ {'Solenoid': 1, 'Servomotor': 0}[value] }}"
		}, "command_template maps"},
		"select missing option":        {"/lock_method/", func(p map[string]any) { p["options"] = []any{"Solenoid"} }, "differ from options"},
		"phase request missing follow": {"/phase_request/", func(p map[string]any) { p["options"] = []any{"1", "3", "auto"} }, "select offers"},
		"phase request on mode/set": {"/phase_request/", func(p map[string]any) { p["command_topic"] = "evse/abc123/mode/set" },
			"PhaseRequest is written on evse/abc123/phases/set"},
		"phase request undocumented": {"/phase_request/", func(p map[string]any) { p["value_template"] = "{{ value_json.Phases }}" }, "not in the status document"},
		"meter address enabled":      {"/ip_meter1/", func(p map[string]any) { delete(p, "enabled_by_default") }, "enabled_by_default"},
		"meter address uncommanded":  {"/ip_meter2/", func(p map[string]any) { delete(p, "command_topic") }, "command_topic missing"},
		"meter address too long":     {"/ip_meter1/", func(p map[string]any) { p["max"] = 300 }, "max ≤ 255"},
		"meter address min > max":    {"/ip_meter1/", func(p map[string]any) { p["min"], p["max"] = 20, 10 }, "min ≤ max"},
		"meter address password":     {"/ip_meter1/", func(p map[string]any) { p["mode"] = "secret" }, "text mode"},
		"meter address bad pattern":  {"/ip_meter1/", func(p map[string]any) { p["pattern"] = "([0-9" }, "does not compile"},
		"meter address as a number":  {"/ip_meter1/", func(p map[string]any) { p["value_template"] = "{{ value_json.Meter1Type }}" }, "writes Meter1Ip but reads"},
		"text reads a number": {"/ip_meter2/", func(p map[string]any) {
			p["value_template"] = "{{ value_json.Meter2Type }}"
			p["command_topic"] = "evse/abc123/config/Meter2Type/set"
		}, "of type"},
		"text option typo":        {"/ip_meter2/", func(p map[string]any) { p["max_length"] = 64 }, `unknown key "max_length"`},
		"meter address as sensor": {"/ip_meter2/", func(p map[string]any) { delete(p, "entity_category") }, "category config"},
		"button with state":       {"/restart/", func(p map[string]any) { p["state_topic"] = "evse/abc123/status" }, "a button has no state"},
		"unknown service code":    {"/restart/", func(p map[string]any) { p["payload_press"] = `{"SCode":"Reboot"}` }, "payload_press"},
		"meter without status gate": {"/meter2_0x04_0x0000/", func(p map[string]any) { delete(p, "availability_mode") },
			"availability_mode all"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			msgs := make([]Message, len(base))
			copy(msgs, base)
			hit := false
			for i, m := range msgs {
				if !strings.Contains(m.Topic, c.topic) {
					continue
				}
				var p map[string]any
				if err := json.Unmarshal(m.Payload, &p); err != nil {
					t.Fatal(err)
				}
				c.change(p)
				b, _ := json.Marshal(p)
				msgs[i].Payload = b
				hit = true
				break
			}
			if !hit {
				t.Fatalf("no topic contains %q", c.topic)
			}
			errs := checkRules(msgs, env)
			for _, e := range errs {
				if strings.Contains(e.Error(), c.want) {
					return
				}
			}
			t.Errorf("no complaint containing %q; got %v", c.want, errs)
		})
	}
	t.Run("bad topic", func(t *testing.T) {
		msgs := append([]Message{}, base...)
		msgs[0].Topic = "homeassistant/sensor/evse.abc/state/config"
		if len(checkRules(msgs, env)) == 0 {
			t.Error("a node id with '.' passed")
		}
	})
}
