package command

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

func newPhaseRig(t *testing.T) *rig {
	p := controller.DefaultParams()
	p.PhaseSwitch = true
	return newRigWith(t, p, nil, Services{})
}

// TestPhasesCommand: <base>/phases/set takes follow, 1, 3 (bare, quoted
// or as a number) and auto (solar modes only); the status reports the
// request in force after each; a bad value is refused with a bounded
// reason and nothing changed.
func TestPhasesCommand(t *testing.T) {
	r := newPhaseRig(t)
	if got := r.ctl.Status().PhaseRequest; got != controller.PhasesFollow {
		t.Fatalf("before any request: %v, want follow", got)
	}
	for _, c := range []struct {
		mode    string // mode/set first, when not ""
		payload string
		want    controller.PhaseRequest
		reply   string // the Phases answer; "" when refused
	}{
		{"", "1", controller.Phases1, "Set=>1"},
		{"", "follow", controller.PhasesFollow, "Set=>follow"},
		{"", `"3"`, controller.Phases3, "Set=>3"},
		{"", " Follow\n", controller.PhasesFollow, "Set=>follow"},
		{"", "3", controller.Phases3, "Set=>3"},
		{"", `"FOLLOW"`, controller.PhasesFollow, "Set=>follow"},
		{"", "auto", controller.PhasesFollow, ""}, // mode now: refused
		{"solar", "auto", controller.PhasesAuto, "Set=>auto"},
		{"", "2", controller.PhasesAuto, ""},
		{"", "followed", controller.PhasesAuto, ""},
		{"", `{"phases": 1}`, controller.PhasesAuto, ""},
		{"", "", controller.PhasesAuto, ""},
		{"", strings.Repeat("f", 3000), controller.PhasesAuto, ""},
		{"", "follow", controller.PhasesFollow, "Set=>follow"},
	} {
		if c.mode != "" {
			if res := r.table.MQTT("mode/set", []byte(c.mode), mqtt); !res.Reply.Applied() {
				t.Fatalf("mode/set %s: %s", c.mode, res.Reply.JSON())
			}
		}
		res := r.table.MQTT("phases/set", []byte(c.payload), mqtt)
		r.step()
		got := r.ctl.Status().PhaseRequest
		if res.Reply.Applied() != (c.reply != "") || got != c.want {
			t.Fatalf("%.40q: applied %v (%s), status %v; want applied %v, %v", c.payload, res.Reply.Applied(), res.Reply.JSON(), got, c.reply != "", c.want)
		}
		body := string(res.Reply.JSON())
		if c.reply != "" && !strings.Contains(body, `"Phases":"`+c.reply+`"`) {
			t.Errorf("%q: answer %s, want Phases %s", c.payload, body, c.reply)
		}
		if c.reply == "" && c.want != controller.PhasesFollow && (!strings.Contains(body, "follow, 1, 3 or auto") || len(body) > 300) {
			t.Errorf("%.40q: refusal %s (%d bytes); want one naming follow, 1, 3, auto, under 300 bytes", c.payload, body, len(body))
		}
	}
	// POST /api/v1/mode {"Phases": ...} is the same entry of the table.
	rep := r.table.Mode(map[string]json.RawMessage{"Phases": json.RawMessage(`"auto"`)}, Origin{Surface: "http"})
	r.step()
	if !rep.Applied() || r.ctl.Status().PhaseRequest != controller.PhasesAuto {
		t.Fatalf("/api/v1/mode auto: %s, status %v", rep.JSON(), r.ctl.Status().PhaseRequest)
	}
	rep = r.table.Mode(map[string]json.RawMessage{"Phases": json.RawMessage(`"follow"`)}, Origin{Surface: "http"})
	r.step()
	if !rep.Applied() || r.ctl.Status().PhaseRequest != controller.PhasesFollow {
		t.Fatalf("/api/v1/mode follow: %s, status %v", rep.JSON(), r.ctl.Status().PhaseRequest)
	}
	rep = r.table.Mode(map[string]json.RawMessage{"Phases": json.RawMessage(`null`)}, Origin{Surface: "http"})
	if rep.Status != http.StatusBadRequest || r.ctl.Status().PhaseRequest != controller.PhasesFollow {
		t.Fatalf("/api/v1/mode null: %d %s", rep.Status, rep.JSON())
	}
}

// Without C2, follow is refused like every other request: there is
// nothing to follow with.
func TestPhasesCommandWithoutC2(t *testing.T) {
	r := newRig(t, nil, Services{})
	res := r.table.MQTT("phases/set", []byte("follow"), mqtt)
	if res.Reply.Applied() || !strings.Contains(string(res.Reply.JSON()), "no phase contactor") {
		t.Fatalf("follow without C2: %s", res.Reply.JSON())
	}
}
