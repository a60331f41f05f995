package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// gridFeed plays a Home Assistant automation: it pushes the grid power
// (house + car − PV, import positive) to <base>/grid/set, at most every
// 500 ms, whenever the test polls.
type gridFeed struct {
	d         *daemon
	o         *mqtttest.Observer
	house, pv float64
	last      time.Time
	pushed    int
}

func (g *gridFeed) push() {
	if time.Since(g.last) < 500*time.Millisecond {
		return
	}
	var s struct{ EvCurrent float64 }
	g.d.get("/sim/v1/State", &s)
	w := g.house - g.pv + 3*230*s.EvCurrent
	g.o.Publish(base+"/grid/set", strconv.FormatFloat(w, 'f', 0, 64), false)
	g.last = time.Now()
	g.pushed++
}

type solarExt struct {
	Mode           string  `json:"mode"`
	LimitSource    string  `json:"limit_source"`
	CurrentLimit   float64 `json:"current_limit_a"`
	ChargerStarted bool    `json:"charger_started"`
	LimiterPaused  bool    `json:"limiter_paused"`
	Reason         string  `json:"reason"`
}

// TestMQTTSolarMode: on the built daemon, grid readings pushed over MQTT
// (Meter2Type 8) drive the limiter in solar: the surplus sets the current
// (the car's own draw accounted, so it holds steady), a cloud pauses it,
// and mode/set off stops the session.
func TestMQTTSolarMode(t *testing.T) {
	b := mqtttest.Start(t)
	d := start(t, t.TempDir(), newPorts(t), "device_id: e2e\npublish: {min_interval: 100ms}\nlimiter: {min_pause: 3s, max_pause: 3s, solar_hold: 8s}\n", "EVSE_MQTT_URL="+b.URL())
	o := mqtttest.NewObserver(t, b.URL())
	waitOnline(t, o)
	results := o.Subscribe(base + "/result")
	if r := command(t, o, results, base+"/set", `{"Meter2Type": 8}`); !r.OK {
		t.Fatalf("Meter2Type 8: %+v", r)
	}
	if r := command(t, o, results, base+"/mode/set", "solar"); !r.OK || r.Result["Mode"] != "Set=>solar" {
		t.Fatalf("mode/set solar: %+v", r)
	}
	if r := command(t, o, results, base+"/grid/set", `{"power": 1, "volts": 2}`); r.OK || r.Status != 400 {
		t.Fatalf("a bad grid reading: %+v, want 400", r)
	}
	g := &gridFeed{d: d, o: o, house: 500, pv: 6000}
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	ext := func() solarExt {
		var e solarExt
		d.get("/api/v1/status", &e)
		return e
	}
	// (5500 W export + 100 W allowance) / 690 = 8.1 A, the car's draw added back.
	eventually(t, 20*time.Second, func() string {
		g.push()
		if e, s := ext(), d.sim(); e.Mode != "solar" || e.LimitSource != "solar surplus" || e.CurrentLimit != 8 || s.EvCurrent != 8 {
			return fmt.Sprintf("%+v, EV %v A; want 8 A from the solar surplus", e, s.EvCurrent)
		}
		return ""
	})
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for hold := time.Now(); time.Since(hold) < 5*time.Second; <-tk.C { // steady: it does not chase its own draw
		g.push()
		if e := ext(); e.CurrentLimit != 8 {
			t.Fatalf("limit moved to %v under a steady surplus: %+v", e.CurrentLimit, e)
		}
	}
	mqtttest.Wait(t, o.Subscribe(base+"/status"), 3*time.Second, "Mode in <base>/status", func(m mqtttest.Message) bool {
		var st struct{ Mode string }
		return json.Unmarshal([]byte(m.Payload), &st) == nil && st.Mode == "solar"
	})

	g.pv = 1000 // a cloud: no surplus for 6 A
	// First held at 6 A for solar_hold (the status says until when) …
	eventually(t, 6*time.Second, func() string {
		g.push()
		if e, s := ext(), d.sim(); e.LimiterPaused || !s.Contactor || !strings.Contains(e.Reason, "holding 6 A") {
			return fmt.Sprintf("%+v %+v; want 6 A held over the dip", e, s)
		}
		return ""
	})
	// … then paused.
	eventually(t, 15*time.Second, func() string {
		g.push()
		if e, s := ext(), d.sim(); !e.LimiterPaused || s.Contactor || s.PilotDuty != 100 {
			return fmt.Sprintf("%+v %+v; want paused for want of surplus", e, s)
		}
		return ""
	})
	g.pv = 9000
	eventually(t, 20*time.Second, func() string {
		g.push()
		if s := d.sim(); !s.Contactor || s.EvCurrent < 6 {
			return fmt.Sprintf("%+v; want charging again on the surplus", s)
		}
		return ""
	})
	if r := command(t, o, results, base+"/mode/set", "off"); !r.OK {
		t.Fatalf("mode/set off: %+v", r)
	}
	eventually(t, 10*time.Second, func() string {
		g.push()
		if e, s := ext(), d.sim(); e.ChargerStarted || s.Contactor || s.PilotDuty != 100 || e.Mode != "off" {
			return fmt.Sprintf("%+v %+v; want the session stopped", e, s)
		}
		return ""
	})
	t.Logf("%d grid readings pushed", g.pushed)
}
