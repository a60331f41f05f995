package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Build returns the discovery config of every entity of the charger, one
// message per entity on <prefix>/<component>/<node_id>/<object_id>/config,
// in a stable order (the table's, then the meters' in the order given).
// With o.Enabled false it returns no messages.
func Build(d Device, o Options) ([]Message, error) {
	if !o.Enabled {
		return nil, nil
	}
	d, err := d.withDefaults()
	if err != nil {
		return nil, err
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validTopic(prefix) || strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("discovery: prefix %q: want UTF-8 without wildcards, NUL or a leading/trailing '/'", prefix)
	}
	meters, err := meterEntities(o)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	ents := append(entities(d), meters...)
	node := NodeID(d.ID)
	shared := sharedKeys(d, node)
	msgs := make([]Message, 0, len(ents))
	seen := map[string]bool{}
	var errs []error
	for _, e := range ents {
		m, err := discover(e, d.Base, prefix, node, shared)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[m.Topic] {
			errs = append(errs, fmt.Errorf("entity %s: topic %s used twice", e.key, m.Topic))
			continue
		}
		seen[m.Topic] = true
		msgs = append(msgs, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return msgs, nil
}

// sharedKeys are the device and origin blocks every entity carries; HA
// links entities to one device through device.identifiers.
func sharedKeys(d Device, node string) map[string]any {
	dev := map[string]any{
		"identifiers":  []string{node},
		"name":         d.Name,
		"manufacturer": d.Manufacturer,
		"model":        d.Model,
	}
	if d.SWVersion != "" {
		dev["sw_version"] = d.SWVersion
	}
	if d.ConfigURL != "" {
		dev["configuration_url"] = d.ConfigURL
	}
	if d.ModelID != "" {
		dev["model_id"] = d.ModelID
	}
	origin := map[string]any{"name": OriginName, "support_url": OriginURL}
	if v := firstNonEmpty(d.OriginVersion, d.SWVersion); v != "" {
		origin["sw_version"] = v
	}
	return map[string]any{"device": dev, "origin": origin, "device_availability": d.DeviceAvailability}
}

// discover turns one table row into its discovery message, adding what all
// entities share: unique_id, default_entity_id, device, origin and
// availability.
func discover(e entity, base, prefix, node string, shared map[string]any) (Message, error) {
	p := map[string]any{
		"name":              e.name,
		"unique_id":         node + "_" + e.key,
		"default_entity_id": e.component + "." + slug(node) + "_" + firstNonEmpty(e.entityID, e.key),
		"device":            shared["device"],
		"origin":            shared["origin"],
	}
	avail := []map[string]any{{"topic": base + "/availability"}}
	if da, _ := shared["device_availability"].(string); da != "" {
		avail = append(avail, map[string]any{"topic": base + "/" + da})
		p["availability_mode"] = "all"
	}
	if e.availSource != "" {
		avail = append(avail, map[string]any{"topic": base + "/" + e.availSource, "value_template": e.availTemplate})
		p["availability_mode"] = "all"
	}
	p["availability"] = avail
	if e.source != "" {
		p["state_topic"] = base + "/" + e.source
		p["value_template"] = firstNonEmpty(e.template, defaultTemplate(e))
	}
	if e.command != "" {
		p["command_topic"] = base + "/" + e.command
	}
	for k, v := range map[string]string{
		"entity_category":     e.category,
		"device_class":        e.class,
		"unit_of_measurement": e.unit,
		"state_class":         e.stateCls,
		"icon":                e.icon,
	} {
		if v != "" {
			p[k] = v
		}
	}
	for k, v := range e.extra {
		p[k] = v
	}
	// encoding/json sorts map keys, so payloads are byte-stable.
	payload, err := json.Marshal(p)
	if err != nil {
		return Message{}, fmt.Errorf("entity %s: %w", e.key, err)
	}
	return Message{Topic: prefix + "/" + e.component + "/" + node + "/" + e.key + "/config", Payload: payload}, nil
}

// defaultTemplate reads e.field from the state document: as is for
// sensors, mapped to ON/OFF for binary sensors and switches.
func defaultTemplate(e entity) string {
	switch e.component {
	case binarySensor, switchComp:
		return "{{ 'ON' if value_json." + e.field + " else 'OFF' }}"
	}
	return "{{ value_json." + e.field + " }}"
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
