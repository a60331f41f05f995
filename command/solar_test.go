package command

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestModeCommand: <base>/mode/set takes a bare word or a JSON string, the
// status reports it, and a bad one is refused with nothing changed.
func TestModeCommand(t *testing.T) {
	r := newRig(t, nil, Services{})
	for _, c := range []struct {
		payload string
		want    controller.Mode
		ok      bool
	}{{"solar", controller.ModeSolar, true}, {`"MinSolar"`, controller.ModeMinSolar, true}, {"eco", controller.ModeMinSolar, false},
		{"1", controller.ModeMinSolar, false}, {"", controller.ModeMinSolar, false}, {"off", controller.ModeOff, true}} {
		res := r.table.MQTT("mode/set", []byte(c.payload), mqtt)
		r.step()
		if res.Reply.Applied() != c.ok || r.ctl.Status().Mode != c.want || res.Quiet {
			t.Fatalf("%q: applied %v (%s), mode %v; want %v, %v", c.payload, res.Reply.Applied(), res.Reply.JSON(), r.ctl.Status().Mode, c.ok, c.want)
		}
	}
	rep := r.table.Mode(map[string]json.RawMessage{"Mode": json.RawMessage(`"now"`), "Charging": json.RawMessage(`true`)}, Origin{Surface: "http"})
	if rep.Status != http.StatusBadRequest || r.ctl.Status().Mode != controller.ModeOff {
		t.Fatalf("/api/v1/mode with another command: %d %s; want 400, nothing changed", rep.Status, rep.JSON())
	}
}

// TestGridDecoding: the strict forms of a grid reading.
func TestGridDecoding(t *testing.T) {
	for _, c := range []struct {
		in  string
		ok  bool
		why string
	}{
		{`-3200`, true, ""}, {` 150.5 `, true, ""},
		{`{"power": -3200, "currents": [-5, -4.5, 1]}`, true, ""},
		{`{"Power": 10}`, true, ""},
		{`{"currents": [1,2,3]}`, false, "needs power"},
		{`{"power": 1, "power": 2}`, false, "given twice"}, {`{"power": 1, "Power": 2}`, false, "given twice"}, {`{"power": null}`, false, "number of watts"},
		{`{"power": 1, "currents": [1,2]}`, false, "three numbers"},
		{`{"power": 1, "currents": [1,2,"3"]}`, false, "currents[2]"},
		{`{"power": 1, "voltage": 230}`, false, "unknown object"},
		{`{"power": 2e6}`, false, "within"},
		{`"3200"`, false, "number of watts"},
		{`3200 W`, false, "number of watts"},
		{`1e-400`, false, "number of watts"},
		{`{"power": 1} {}`, false, ""},
		{`[]`, false, "number of watts"},
	} {
		r := newRig(t, func(s *settings.Settings) { s.Meter2Type = settings.MeterGridFeed }, Services{})
		res := r.table.MQTT("grid/set", []byte(c.in), mqtt)
		if res.Reply.Applied() != c.ok || res.Quiet != c.ok {
			t.Fatalf("%s: applied %v quiet %v (%s), want %v", c.in, res.Reply.Applied(), res.Quiet, res.Reply.JSON(), c.ok)
		}
		if !c.ok && !strings.Contains(string(res.Reply.JSON()), c.why) {
			t.Fatalf("%s: %s does not say %q", c.in, res.Reply.JSON(), c.why)
		}
	}
	r := newRig(t, nil, Services{})
	if rep := r.table.Grid([]byte(`100`), mqtt); rep.Status != http.StatusConflict || !strings.Contains(string(rep.JSON()), "Meter2Type 8") {
		t.Fatalf("without Meter2Type 8: %d %s", rep.Status, rep.JSON())
	}
}

// FuzzGrid: any payload gives a bounded, valid answer, and what is taken
// is finite and in range.
func FuzzGrid(f *testing.F) {
	for _, s := range []string{`100`, `-1e3`, `{"power":1,"currents":[1,2,3]}`, `{"power":null}`, `{"currents":[1e999,0,0],"power":0}`, `{`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > MaxPayload {
			return
		}
		req, err := decodeGridPayload(p)
		if err != nil {
			return
		}
		g, err := decodeGrid(req)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if math.IsNaN(float64(g.Power)) || math.Abs(float64(g.Power)) > MaxGridPower {
			t.Fatalf("took power %v", g.Power)
		}
		for _, a := range g.Currents {
			if math.IsNaN(float64(a)) || math.Abs(float64(a)) > MaxGridCurrent {
				t.Fatalf("took current %v", a)
			}
		}
	})
}
