package settings

import (
	"strings"
	"testing"
)

// TestMeterTypeClasses pins which meter types are Modbus meters and which
// are reached over IP, type by type: the daemon polls a Modbus meter and
// the limiter trusts its readings, so losing the RTU SDM72D (type 1) or
// gaining the supervisor (7) there changes what the charger obeys.
func TestMeterTypeClasses(t *testing.T) {
	for _, c := range []struct {
		typ          int
		modbus, onIP bool
	}{
		{MeterNone, false, false},
		{MeterRTUSDM72D, true, false},
		{MeterRTUNMID30, true, false},
		{MeterRTUSDM120, true, false},
		{MeterIPSDM72D, true, true},
		{MeterIPNMID30, true, true},
		{MeterIPSDM120, true, true},
		{MeterRemoteSuperv, false, false},
		{-1, false, false},
		{8, false, false},
	} {
		if got := IsModbusMeter(c.typ); got != c.modbus {
			t.Errorf("IsModbusMeter(%d) = %v, want %v", c.typ, got, c.modbus)
		}
		if got := IsIPMeter(c.typ); got != c.onIP {
			t.Errorf("IsIPMeter(%d) = %v, want %v", c.typ, got, c.onIP)
		}
	}
}

// TestValidateRangeEdges puts every ranged field exactly on each edge of
// its range and one step outside: the edge is accepted, the step beyond
// is refused on that field alone.
func TestValidateRangeEdges(t *testing.T) {
	type edit func(*Settings)
	for _, c := range []struct {
		name string
		set  edit
		bad  string // fields refused, "" for none
	}{
		{"ChargerMode 0", func(s *Settings) { s.ChargerMode = 0 }, ""},
		{"ChargerMode 1", func(s *Settings) { s.ChargerMode = 1 }, ""},
		{"ChargerMode -1", func(s *Settings) { s.ChargerMode = -1 }, "ChargerMode"},
		{"ChargerMode 2", func(s *Settings) { s.ChargerMode = 2 }, "ChargerMode"},
		{"LockMethod 0", func(s *Settings) { s.LockMethod = 0 }, ""},
		{"LockMethod 1", func(s *Settings) { s.LockMethod = 1 }, ""},
		{"LockMethod 2", func(s *Settings) { s.LockMethod = 2 }, "LockMethod"},
		{"ChargeCurrent 6", func(s *Settings) { s.ChargeCurrent = 6 }, ""},
		{"ChargeCurrent 5", func(s *Settings) { s.ChargeCurrent = 5 }, "ChargeCurrent"},
		{"ChargeCurrent at hwMax", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = hwMax, hwMax }, ""},
		{"ChargeCurrent above hwMax", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = hwMax+1, hwMax }, "ChargeCurrent,ChargeCurrentBoost"}, // and so above the boost
		{"ChargeCurrentBoost 6", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 6, 6 }, ""},
		{"ChargeCurrentBoost 5", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 6, 5 }, "ChargeCurrentBoost"},
		{"ChargeCurrentBoost above hwMax", func(s *Settings) { s.ChargeCurrentBoost = hwMax + 1 }, "ChargeCurrentBoost"},
		{"boost equal to current", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 20, 20 }, ""},
		{"boost one below current", func(s *Settings) { s.ChargeCurrent, s.ChargeCurrentBoost = 20, 19 }, "ChargeCurrentBoost"},
		{"Meter1Type 0", func(s *Settings) { s.Meter1Type = 0 }, ""},
		{"Meter1Type -1", func(s *Settings) { s.Meter1Type = -1 }, "Meter1Type"},
		{"Meter1Type 6", func(s *Settings) { s.Meter1Type, s.Meter1Ip = 6, "10.0.0.2" }, ""},
		{"Meter1Type 7", func(s *Settings) { s.Meter1Type, s.Meter1Ip = 7, "10.0.0.2" }, "Meter1Type"},
		{"Meter2Type 0", func(s *Settings) { s.Meter2Type = 0 }, ""},
		{"Meter2Type -1", func(s *Settings) { s.Meter2Type = -1 }, "Meter2Type"},
		{"Meter2Type 7", func(s *Settings) { s.Meter2Type, s.Meter2Ip = 7, "10.0.0.2" }, ""},
		{"Meter2Type 8", func(s *Settings) { s.Meter2Type = 8 }, ""}, // the grid feed, our extension: no address
		{"Meter2Type 9", func(s *Settings) { s.Meter2Type, s.Meter2Ip = 9, "10.0.0.2" }, "Meter2Type"},
		{"PhaseCurrentLimit 6", func(s *Settings) { s.PhaseCurrentLimit = 6 }, ""},
		{"PhaseCurrentLimit 5", func(s *Settings) { s.PhaseCurrentLimit = 5 }, "PhaseCurrentLimit"},
		{"PhaseCurrentLimit 1000", func(s *Settings) { s.PhaseCurrentLimit = 1000 }, ""},
		{"PhaseCurrentLimit 1001", func(s *Settings) { s.PhaseCurrentLimit = 1001 }, "PhaseCurrentLimit"},
		{"ControlStrategy 1", func(s *Settings) { s.ControlStrategy = 1 }, ""},
		{"ControlStrategy -1", func(s *Settings) { s.ControlStrategy = -1 }, "ControlStrategy"},
		{"ControlLimit 0", func(s *Settings) { s.ControlLimit = 0 }, ""},
		{"ControlLimit -1", func(s *Settings) { s.ControlLimit = -1 }, "ControlLimit"},
		{"ControlLimit 1000000", func(s *Settings) { s.ControlLimit = 1_000_000 }, ""},
		{"ControlLimit 1000001", func(s *Settings) { s.ControlLimit = 1_000_001 }, "ControlLimit"},
	} {
		s := Defaults()
		c.set(&s)
		es := s.Validate("", hwMax)
		var got []string
		for _, e := range es {
			got = append(got, e.Field)
		}
		if strings.Join(got, ",") != c.bad {
			t.Errorf("%s: refused %v, want %q", c.name, got, c.bad)
		}
	}
}

// TestMeterAddressRules pins which meter types need an address and which
// form it must take.
func TestMeterAddressRules(t *testing.T) {
	for _, c := range []struct {
		m1, m2     int
		ip1, ip2   string
		bad1, bad2 bool
	}{
		{m1: MeterRTUSDM72D}, // RTU meters are on the serial line: no address needed
		{m1: MeterRTUSDM120, m2: MeterRTUSDM72D},
		{m1: MeterIPSDM72D, bad1: true},
		{m1: MeterIPSDM120, bad1: true},
		{m1: MeterIPSDM72D, ip1: "meter.local:502"},
		{m2: MeterIPNMID30, bad2: true},
		{m2: MeterIPNMID30, ip2: "[fd00::5]:1502"},
		{m2: MeterRemoteSuperv, bad2: true},                     // the supervisor is known by its address
		{m2: MeterRemoteSuperv, ip2: "supervisor", bad2: true},  // by IP only: a name proves nothing of a source
		{m2: MeterRemoteSuperv, ip2: "10.0.0.1:80", bad2: true}, // nor a port
		{m2: MeterRemoteSuperv, ip2: "10.0.0.1"},
		{m2: MeterNone, ip2: "supervisor"},      // a stored name without a type is kept and checked as host:port
		{m2: MeterNone, ip2: "a b", bad2: true}, // still checked
		{m1: MeterNone, ip1: "10.0.0.1:0", bad1: true},
	} {
		s := Defaults()
		s.Meter1Type, s.Meter2Type, s.Meter1Ip, s.Meter2Ip = c.m1, c.m2, c.ip1, c.ip2
		var bad1, bad2 bool
		for _, e := range s.Validate("", hwMax) {
			switch e.Field {
			case "Meter1Ip":
				bad1 = true
			case "Meter2Ip":
				bad2 = true
			default:
				t.Errorf("%+v: unexpected problem %v", c, e)
			}
		}
		if bad1 != c.bad1 || bad2 != c.bad2 {
			t.Errorf("%+v: Meter1Ip refused %v, Meter2Ip refused %v", c, bad1, bad2)
		}
	}
}

// TestPatchNeedsAddressWithType: a request that sets Meter2 to the remote
// supervisor must bring the supervisor's address, even when an address is
// already stored: the stored one was meant for something else, and the
// supervisor gets control of the charging current.
func TestPatchNeedsAddressWithType(t *testing.T) {
	cur := Defaults()
	cur.Meter2Ip = "10.0.0.9" // left from an earlier meter, valid as a supervisor address too
	_, _, bad := Patch(cur, req(t, `{"Meter2Type": 7}`), hwMax)
	if keys(bad) != "Meter2Type" || !strings.Contains(bad["Meter2Type"], "Meter2Ip") {
		t.Fatalf("supervisor without an address in the request: problems %v, want Meter2Type naming Meter2Ip", bad)
	}
	if next, _, bad := Patch(cur, req(t, `{"Meter2Type": 7, "Meter2Ip": "10.0.0.9"}`), hwMax); bad != nil || next.Meter2Type != 7 {
		t.Fatalf("supervisor with its address: %v, %+v", bad, next)
	}
	// Meter1 has no supervisor type: 7 there is a range error, not an
	// address problem.
	_, _, bad = Patch(cur, req(t, `{"Meter1Type": 7, "Meter1Ip": "10.0.0.9"}`), hwMax)
	if keys(bad) != "Meter1Type" || strings.Contains(bad["Meter1Type"], "Meter1Ip") {
		t.Fatalf("Meter1Type 7: problems %v, want a range error on Meter1Type", bad)
	}
	// RTU meters need no address in the request.
	if next, _, bad := Patch(cur, req(t, `{"Meter1Type": 1, "Meter2Type": 3}`), hwMax); bad != nil || next.Meter1Type != 1 || next.Meter2Type != 3 {
		t.Fatalf("RTU types: %v, %+v", bad, next)
	}
}

// TestPatchCrossFieldOnPartner: a rule between two fields that fails on a
// field the request did not name is answered on the requested partner;
// one that was already broken before the request is not the request's
// fault.
func TestPatchCrossFieldOnPartner(t *testing.T) {
	cur := Defaults()
	cur.ChargeCurrent, cur.ChargeCurrentBoost = 10, 12
	_, _, bad := Patch(cur, req(t, `{"ChargeCurrentBoost": 8}`), hwMax)
	if keys(bad) != "ChargeCurrentBoost" {
		t.Fatalf("boost below current: %v", bad)
	}
	_, _, bad = Patch(cur, req(t, `{"ChargeCurrent": 14}`), hwMax)
	if keys(bad) != "ChargeCurrent" || !strings.Contains(bad["ChargeCurrent"], "at least ChargeCurrent") {
		t.Fatalf("current above boost: %v, want the boost rule on ChargeCurrent", bad)
	}
	// Already broken (boost below current, e.g. from an old file): a
	// request about something else still goes through.
	broken := cur
	broken.ChargeCurrentBoost = 8
	if next, _, bad := Patch(broken, req(t, `{"ControlLimit": 5000}`), hwMax); bad != nil || next.ControlLimit != 5000 {
		t.Fatalf("unrelated request on broken settings: %v", bad)
	}
	// The changes come back in the vendor's field order, whatever the
	// request's order.
	_, changes, bad := Patch(cur, req(t, `{"Charge3Phase": false, "ChargerMode": 1, "Meter2Type": 1, "ChargeCurrent": 11}`), hwMax)
	if bad != nil {
		t.Fatal(bad)
	}
	var names []string
	for _, c := range changes {
		names = append(names, c.Field.Name)
	}
	if got := strings.Join(names, ","); got != "ChargerMode,ChargeCurrent,Meter2Type,Charge3Phase" {
		t.Fatalf("changes in order %s", got)
	}
}

// TestHostPortEdges walks the edges of the address grammar: port range,
// name and label lengths, and the characters at the ends of each class.
func TestHostPortEdges(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	name253 := strings.Repeat(label63+".", 3) + strings.Repeat("b", 61) // 3·64 + 61 = 253
	for a, ok := range map[string]bool{
		"h:1": true, "h:65535": true, "h:0": false, "h:65536": false, "h:x": false,
		"10.0.0.1:1": true, "[::1]:65535": true,
		label63: true, label63 + "a": false,
		name253: true, name253 + "b": false,
		"a-b": true, "-ab": false, "ab-": false, "a.": false, ".a": false,
		"azAZ09": true, "a@": false, "a[": false, "a`": false, "a{": false, "a/": false, "a:": false,
		"Z": true, "0": true, "9.z": true, "a_b": false,
	} {
		if got := CheckHostPort(a) == ""; got != ok {
			t.Errorf("CheckHostPort(%q) ok = %v, want %v", a, got, ok)
		}
	}
}

// TestFieldLookupAndValue: every field is found by its name in any case,
// reads back what was set, and an unknown name is not found.
func TestFieldLookupAndValue(t *testing.T) {
	s := Settings{ChargerMode: 1, LockMethod: 1, ChargeCurrent: 7, ChargeCurrentBoost: 8, Meter1Type: 2, Meter1Ip: "a",
		Meter2Type: 3, Meter2Ip: "b", PhaseCurrentLimit: 9, ControlStrategy: 1, ControlLimit: 10, ChargeAutoStart: true}
	want := []any{1, 1, 7, 8, 2, "a", 3, "b", 9, 1, 10, true, false}
	for i, f := range Fields {
		g, ok := LookupField(strings.ToUpper(f.Name))
		if !ok || g.Name != f.Name {
			t.Fatalf("LookupField(%s): %v %v", strings.ToUpper(f.Name), g.Name, ok)
		}
		if got := f.Value(&s); got != want[i] {
			t.Errorf("%s = %v, want %v", f.Name, got, want[i])
		}
		if fieldIndex(f.Name) != i {
			t.Errorf("fieldIndex(%s) = %d, want %d", f.Name, fieldIndex(f.Name), i)
		}
	}
	if _, ok := LookupField("Bogus"); ok {
		t.Error("Bogus found")
	}
	if fieldIndex("Bogus") != len(Fields) {
		t.Error("fieldIndex of an unknown name")
	}
}

// TestIntFieldReasons: a value that is not a JSON number at all is
// answered "must be a number"; a number that is not whole, "must be a
// whole number" — the client learns which of the two it got wrong.
func TestIntFieldReasons(t *testing.T) {
	for body, want := range map[string]string{
		`{"ChargeCurrent": true}`:  "must be a number",
		`{"ChargeCurrent": [10]}`:  "must be a number",
		`{"ChargeCurrent": "10"}`:  "must be a number",
		`{"ChargeCurrent": 10.5}`:  "must be a whole number",
		`{"ChargeCurrent": -2e9}`:  "must be 6…32 A",
		`{"ChargeCurrent": 1e300}`: "must be a whole number",
	} {
		_, _, bad := Patch(Defaults(), req(t, body), hwMax)
		if !strings.HasPrefix(bad["ChargeCurrent"], want) {
			t.Errorf("%s: %q, want %q", body, bad["ChargeCurrent"], want)
		}
	}
}
