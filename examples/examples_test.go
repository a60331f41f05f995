// Package examples holds files users import into other tools; the tests
// keep them consistent with the daemon's topics.
package examples

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestNodeRedFlow checks the flow is importable JSON (an array of nodes
// with ids, types and wires to existing nodes) and talks to the topics
// docs/mqtt.md documents: the grid feed and the mode (issue 12).
func TestNodeRedFlow(t *testing.T) {
	data, err := os.ReadFile("node-red/flow.json")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []map[string]any
	if err := json.Unmarshal(data, &nodes); err != nil {
		t.Fatalf("flow.json: %v", err)
	}
	ids := map[string]bool{}
	for _, n := range nodes {
		id, _ := n["id"].(string)
		if id == "" || n["type"] == nil || ids[id] {
			t.Fatalf("node without id/type or duplicate id: %v", n)
		}
		ids[id] = true
	}
	var grid, mode, status bool
	for _, n := range nodes {
		if wires, ok := n["wires"].([]any); ok {
			for _, port := range wires {
				for _, w := range port.([]any) {
					if !ids[w.(string)] {
						t.Errorf("node %v wired to missing %v", n["id"], w)
					}
				}
			}
		}
		if b, ok := n["broker"].(string); ok && n["type"] != "mqtt-broker" && !ids[b] {
			t.Errorf("node %v uses missing broker %s", n["id"], b)
		}
		topic, _ := n["topic"].(string)
		switch {
		case n["type"] == "mqtt out" && strings.HasSuffix(topic, "/grid/set"):
			grid = true
		case n["type"] == "mqtt out" && strings.HasSuffix(topic, "/mode/set"):
			mode = true
		case n["type"] == "mqtt in" && strings.HasSuffix(topic, "/status"):
			status = true
		}
	}
	if !grid || !mode || !status {
		t.Fatalf("flow lacks grid/set (%v) or mode/set output (%v) or status input (%v)", grid, mode, status)
	}
	// No arithmetic left to the user: the flow forwards the grid reading;
	// the charger adds its own draw back (issue 12).
	for _, n := range nodes {
		if f, _ := n["func"].(string); strings.Contains(f, "ActualPower") && n["id"] == "grid_check" {
			t.Errorf("the grid function must not do the charger's arithmetic: %s", f)
		}
	}
}
