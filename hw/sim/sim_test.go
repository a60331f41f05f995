package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/units"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clock advances the simulator in 10 ms ticks.
type clock struct {
	s   *Sim
	now time.Time
}

func (c *clock) run(d time.Duration) {
	for end := c.now.Add(d); c.now.Before(end); {
		c.now = c.now.Add(10 * time.Millisecond)
		c.s.Tick(c.now)
	}
}

func newClock() (*clock, hw.Board) {
	s := New(t0)
	return &clock{s: s, now: t0}, s.Board()
}

func plugged(s *Sim, f func(v *Vehicle)) {
	v := s.Vehicle()
	v.Plugged = true
	if f != nil {
		f(&v)
	}
	s.SetVehicle(v)
}

func TestVehicleFollowsPilot(t *testing.T) {
	c, b := newClock()
	if got := b.Pilot.Sample(); got.High != 12 || got.Low != 12 {
		t.Fatalf("nothing plugged: %+v, want steady 12 V", got)
	}
	plugged(c.s, func(v *Vehicle) { v.RequestCharge, v.MaxCurrent, v.Phases = true, 13, 1 })
	c.run(time.Second)
	if got := b.Pilot.Sample(); got.High != 9 {
		t.Fatalf("plugged without PWM: %+v, want B (9 V)", got)
	}
	b.Pilot.SetDuty(266) // 16 A
	c.run(100 * time.Millisecond)
	if got := b.Pilot.Sample(); got.High != 9 || got.Low != -12 {
		t.Fatalf("PWM just offered: %+v, want B until the EV reacts", got)
	}
	c.run(time.Second)
	if got := b.Pilot.Sample(); got.High != 6 || got.Low != -12 {
		t.Fatalf("EV ready: %+v, want C with a good diode", got)
	}
	b.Contactor.Set(true)
	c.run(time.Second)
	if st := c.s.State(); st.EvCurrent != 0 || !st.Contactor || st.PilotLevel != "C" || st.PilotDuty != 26.6 {
		t.Fatalf("before the response delay: %+v", st)
	}
	c.run(1100 * time.Millisecond)
	if st := c.s.State(); st.EvCurrent != 13 {
		t.Fatalf("EV draws %v A, want its own maximum 13 A", st.EvCurrent)
	}
	if ph := c.s.EVPhases(); ph[0].Current != 13 || ph[1].Current != 0 || ph[0].Power != units.PowerFor(13, 1) {
		t.Fatalf("1-phase EV: %+v", ph)
	}
	// Ventilation: D.
	v := c.s.Vehicle()
	v.Ventilation = true
	c.s.SetVehicle(v)
	if got := b.Pilot.Sample(); got.High != 3 {
		t.Fatalf("ventilation: %+v, want D (3 V)", got)
	}
	// PWM withdrawn: the EV stays in its state for its response time.
	b.Pilot.SetDuty(1000)
	c.run(time.Second)
	if got := b.Pilot.Sample(); got.High != 3 {
		t.Fatalf("1 s after the PWM was withdrawn: %+v, want still D", got)
	}
	c.run(1100 * time.Millisecond)
	if st := c.s.State(); st.PilotLevel != "B" || st.EvCurrent != 0 {
		t.Fatalf("after the response time: %+v, want B without current", st)
	}
	// F drives −12 V whatever the EV does; unplug is immediate.
	b.Pilot.SetDuty(0)
	if got := b.Pilot.Sample(); got.High != -12 || c.s.State().PilotLevel != "F" {
		t.Fatalf("F: %+v", got)
	}
	b.Pilot.SetDuty(1000)
	c.s.SetVehicle(DefaultVehicle())
	if got := b.Pilot.Sample(); got.High != 12 {
		t.Fatalf("unplugged: %+v, want A", got)
	}
}

// TestAsleepVehicle: an asleep EV ignores the PWM until it has seen F for
// a second, and needs that again after a new plug-in.
func TestAsleepVehicle(t *testing.T) {
	c, b := newClock()
	for round := 0; round < 2; round++ {
		plugged(c.s, func(v *Vehicle) { v.RequestCharge, v.Asleep = true, true })
		b.Pilot.SetDuty(266)
		c.run(40 * time.Second)
		if got := b.Pilot.Sample(); got.High != 9 {
			t.Fatalf("round %d: asleep EV: %+v, want B", round, got)
		}
		b.Pilot.SetDuty(0)
		c.run(500 * time.Millisecond)
		b.Pilot.SetDuty(266)
		c.run(2 * time.Second)
		if got := b.Pilot.Sample(); got.High != 9 {
			t.Fatalf("round %d: 0.5 s of F woke the EV: %+v", round, got)
		}
		b.Pilot.SetDuty(0)
		c.run(3500 * time.Millisecond)
		b.Pilot.SetDuty(266)
		c.run(2 * time.Second)
		if got := b.Pilot.Sample(); got.High != 6 {
			t.Fatalf("round %d: after 3.5 s of F: %+v, want C", round, got)
		}
		c.s.SetVehicle(DefaultVehicle())
		b.Pilot.SetDuty(1000)
		c.run(time.Second)
	}
}

func TestFaults(t *testing.T) {
	c, b := newClock()
	plugged(c.s, func(v *Vehicle) { v.RequestCharge, v.CableRating = true, 20 })
	b.Pilot.SetDuty(266)
	c.run(2 * time.Second)
	if got := b.Proximity.Ohms(); got != 680 {
		t.Fatalf("20 A cable: %v Ω", got)
	}
	cases := []struct {
		fault string
		check func() string
	}{
		{FaultEPO, func() string { return when(!b.EPO.Pressed(), "EPO not pressed") }},
		{FaultCPShort, func() string {
			return when(b.Pilot.Sample() != hw.PilotSample{}, "CP short reads %+v", b.Pilot.Sample())
		}},
		{FaultDiodeShort, func() string { s := b.Pilot.Sample(); return when(s.Low != -s.High, "no diode: %+v", s) }},
		{FaultPPOpen, func() string { return when(!math.IsInf(b.Proximity.Ohms(), 1), "PP open: %v Ω", b.Proximity.Ohms()) }},
		{FaultPPShort, func() string { return when(b.Proximity.Ohms() >= 75, "PP short: %v Ω", b.Proximity.Ohms()) }},
		{FaultRelayOpen, func() string { b.Contactor.Set(true); return when(b.Contactor.Closed(), "relay_open closed") }},
		{FaultWeld, func() string { b.Contactor.Set(false); return when(!b.Contactor.Closed(), "weld opened") }},
		{FaultLockJam, func() string {
			b.Lock.Set(true, hw.LockSolenoid)
			c.run(time.Second)
			return when(b.Lock.Locked(), "jammed lock moved")
		}},
	}
	for _, tc := range cases {
		c.s.SetFault(tc.fault)
		if msg := tc.check(); msg != "" {
			t.Errorf("%s: %s", tc.fault, msg)
		}
		c.s.SetFault(FaultNone)
		b.Contactor.Set(false)
		if b.Contactor.Closed() || b.EPO.Pressed() {
			t.Errorf("%s not cleared", tc.fault)
		}
	}
}

func when(bad bool, format string, a ...any) string {
	if !bad {
		return ""
	}
	if len(a) == 0 {
		return format
	}
	return fmt.Sprintf(format, a...)
}

func TestLockDelays(t *testing.T) {
	for _, tc := range []struct {
		m     hw.LockMethod
		delay time.Duration
	}{{hw.LockSolenoid, solenoidDelay}, {hw.LockServo, servoDelay}} {
		c, b := newClock()
		b.Lock.Set(true, tc.m)
		c.run(tc.delay - 20*time.Millisecond)
		if b.Lock.Locked() {
			t.Fatalf("method %d: locked before %v", tc.m, tc.delay)
		}
		c.run(30 * time.Millisecond)
		if !b.Lock.Locked() {
			t.Fatalf("method %d: not locked after %v", tc.m, tc.delay)
		}
	}
}

func TestProximityCoding(t *testing.T) {
	s := New(t0)
	b := s.Board()
	if !math.IsInf(b.Proximity.Ohms(), 1) {
		t.Fatal("no cable must read open")
	}
	for rating, ohms := range map[units.Amps]float64{13: 1500, 20: 680, 32: 220, 63: 100, 0: 4700} {
		plugged(s, func(v *Vehicle) { v.CableRating = rating })
		if got := b.Proximity.Ohms(); got != ohms {
			t.Errorf("%v A cable: %v Ω, want %v", rating, got, ohms)
		}
	}
}

func TestUpdate(t *testing.T) {
	s := New(t0)
	if bad := s.Update([]byte(`{"evplugged": true, "EvMaxCurrent": 20, "EvPhases": 1, "CableRating": 13, "HousePower": 3000, "PVPower": 600, "Fault": "epo"}`)); bad != nil {
		t.Fatalf("valid update refused: %v", bad)
	}
	st := s.State()
	if !st.EvPlugged || st.EvMaxCurrent != 20 || st.EvPhases != 1 || st.CableRating != 13 || st.Fault != "epo" || st.HousePower != 3000 {
		t.Fatalf("not applied: %+v", st)
	}
	if ph := s.SitePhases(); ph[0].Power != 800 {
		t.Fatalf("site phase power %v, want (3000−600)/3", ph[0].Power)
	}
	for body, key := range map[string]string{
		`{"EvPhases": 2, "EvPlugged": false}`:    "EvPhases",
		`{"CableRating": 16}`:                    "CableRating",
		`{"EvMaxCurrent": "16"}`:                 "EvMaxCurrent",
		`{"EvMaxCurrent": 81}`:                   "EvMaxCurrent",
		`{"Fault": "fire"}`:                      "Fault",
		`{"PilotDuty": 50}`:                      "PilotDuty",
		`{"Wheels": 4}`:                          "Wheels",
		`{"EvResponseMs": -1}`:                   "EvResponseMs",
		`{"EvPlugged": "yes"}`:                   "EvPlugged",
		`[1]`:                                    "",
		`{"EvPlugged": false} {"x": 1}`:          "",
		`{"EvPlugged": false, "HousePower": -1}`: "HousePower",
		// Strict input (issue 9, items 10–12): duplicates, null, inexact numbers.
		`{"EvPlugged": false, "EvPlugged": true}`: "",
		`{"EvPlugged": false, "evplugged": true}`: "evplugged",
		`{"EvPlugged": null}`:                     "EvPlugged",
		`{"HousePower": null}`:                    "HousePower",
		`{"EvPhases": null}`:                      "EvPhases",
		`{"Fault": null}`:                         "Fault",
		`{"EvPhases": 1.5}`:                       "EvPhases",
		`{"EvResponseMs": 1.5}`:                   "EvResponseMs",
		`{"CableRating": 13.000001}`:              "CableRating",
		`{"PVPower": 1e-400}`:                     "PVPower",
		`{"HousePower": 1e400}`:                   "HousePower",
	} {
		bad := s.Update([]byte(body))
		if _, ok := bad[key]; !ok {
			t.Errorf("%s: problems %v, want one for %q", body, bad, key)
		}
		if got := s.State(); got != st {
			t.Errorf("%s: something was applied: %+v", body, got)
		}
		for k, reason := range bad {
			if len(k)+len(reason) > 200 {
				t.Errorf("%s: answer not size-bounded: %d bytes", body, len(k)+len(reason))
			}
		}
	}
	// A long rejected value is quoted short, not echoed whole.
	long := strings.Repeat("x", 64<<10)
	for _, body := range []string{`{"` + long + `":1}`, `{"Fault":"` + long + `"}`, `{"EvPlugged":"` + long + `"}`, `{"EvMaxCurrent":"` + long + `"}`} {
		for k, reason := range s.Update([]byte(body)) {
			if len(k)+len(reason) > 200 {
				t.Errorf("%s: %d-byte reason", k, len(reason))
			}
		}
	}
}

// FuzzUpdate: whatever the body, Update either refuses it with the state
// unchanged and short reasons, or every field sent now holds exactly the
// value sent, sent as the field's own JSON type (null, "16", 1.5 for an
// integer and 1e-400 never pass), judged from the body's bytes.
func FuzzUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"EvPlugged": true, "EvMaxCurrent": 20, "EvPhases": 1, "CableRating": 13, "HousePower": 3000, "PVPower": 600, "Fault": "epo"}`,
		`{"EvPlugged": null}`, `{"HousePower": 1e-400}`, `{"EvPhases": 1.0}`, `{"EvResponseMs": 2.5e3}`, `{"evplugged": true, "EvPlugged": false}`,
		`{"EvPlugged": true, "EvPlugged": false}`, `{"Fault": "none"} x`, `{"EvMaxCurrent": -0}`, `{"CableRating": 6.3e1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := New(t0)
		before := s.State()
		bad := s.Update(body)
		if bad != nil {
			if s.State() != before {
				t.Fatalf("refused %q changed the state", body)
			}
			for k, reason := range bad {
				if len(k) > maxName || len(reason) > 200 {
					t.Fatalf("long answer %.60q: %.60q", k, reason)
				}
			}
			return
		}
		sent, err := jsonstrict.ObjectBytes(body)
		if err != nil {
			t.Fatalf("accepted %q, not one strict object: %v", body, err)
		}
		var now map[string]any
		b, _ := json.Marshal(s.State())
		_ = json.Unmarshal(b, &now)
		for k, raw := range sent {
			c := canonical(k)
			raw = json.RawMessage(strings.TrimSpace(string(raw)))
			got := now[c]
			ok := false
			switch c {
			case "EvPlugged", "EvRequestCharge", "EvVentilation", "EvAsleep":
				ok = (string(raw) == "true" || string(raw) == "false") && got == (string(raw) == "true")
			case "Fault":
				var v string
				ok = raw[0] == '"' && json.Unmarshal(raw, &v) == nil && got == v
			case "EvMaxCurrent", "HousePower", "PVPower":
				x, err := strconv.ParseFloat(string(raw), 64)
				ok = (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && err == nil && got == x+0 && (x != 0 || strings.Trim(strings.Split(strings.ToLower(string(raw)), "e")[0], "-0.") == "")
			case "EvPhases", "EvResponseMs", "CableRating":
				mant, exp, hasExp := strings.Cut(strings.ToLower(string(raw)), "e")
				if e, err := strconv.Atoi(strings.TrimPrefix(exp, "+")); hasExp && (err != nil || e > 10000 || e < -10000) {
					ok = strings.Trim(mant, "-0.") == "" && got == 0.0
					break
				}
				r, isNum := new(big.Rat).SetString(string(raw))
				n, _ := got.(float64)
				ok = (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && isNum && r.IsInt() && r.Cmp(new(big.Rat).SetFloat64(n)) == 0
			}
			if !ok {
				t.Fatalf("%s: sent %s, now %v", k, raw, got)
			}
		}
	})
}
