package meter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigResolveDefaults(t *testing.T) {
	c := Config{}.Resolve(TypeRTUSDM72DM, false)
	if c.Baud != 9600 || c.Parity != ParityNone || c.StopBits != 1 || c.UnitID != 1 || c.Period != time.Second ||
		c.Staleness != 3*time.Second || c.Variant != VariantAuto || c.Timeout <= 300*time.Millisecond {
		t.Errorf("SDM72D-M defaults %+v", c)
	}
	if c := (Config{}).Resolve(TypeRTUSDM120M, true); c.Baud != 2400 || c.Period != 500*time.Millisecond {
		t.Errorf("SDM120M control defaults %+v", c)
	}
	if c := (Config{}).Resolve(TypeIPNMID30, false); c.Timeout != time.Second || c.Framing != FramingTCP {
		t.Errorf("IP defaults %+v", c)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := Config{Baud: 9601, Parity: "mark", StopBits: 3, UnitID: 300, Framing: "udp",
		Period: time.Millisecond, Staleness: time.Nanosecond, Timeout: -1, Variant: "v3"}
	err := c.Validate("meters.meter1", TypeRTUSDM72DM, "")
	for _, f := range []string{"device", "baud", "parity", "stop_bits", "unit_id", "framing", "period", "staleness", "timeout", "variant"} {
		if err == nil || !strings.Contains(err.Error(), "meters.meter1."+f+":") {
			t.Errorf("no error for %s in %v", f, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Error("errors are not FieldErrors")
	}
	ok := Config{Device: "/dev/ttyUSB0"}.Resolve(TypeRTUSDM72DM, false)
	if err := ok.Validate("m", TypeRTUSDM72DM, ""); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	ip := Config{}.Resolve(TypeIPSDM72DM, false)
	if err := ip.Validate("m", TypeIPSDM72DM, "bad host!"); err == nil || !strings.Contains(err.Error(), "m.ip:") {
		t.Errorf("bad IP accepted: %v", err)
	}
}

func TestIPAddressAndLinkURL(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.0.30": "192.168.0.30:502", "bridge.local:1502": "bridge.local:1502",
		"[::1]:15": "[::1]:15", "::1": "[::1]:502",
	} {
		if got, err := IPAddress(in); err != nil || got != want {
			t.Errorf("IPAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "host:0", "host:x", ":502", "a b"} {
		if _, err := IPAddress(in); err == nil {
			t.Errorf("IPAddress(%q) accepted", in)
		}
	}
	c := Config{Framing: FramingRTUOver}.Resolve(TypeIPSDM120M, false)
	if lc, err := c.LinkConfig(TypeIPSDM120M, "10.0.0.2"); err != nil || lc.URL != "rtuovertcp://10.0.0.2:502" {
		t.Errorf("link %+v %v", lc, err)
	}
	c = Config{Device: "/dev/ttyS1", Parity: ParityEven}.Resolve(TypeRTUSDM72DM, false)
	if lc, err := c.LinkConfig(TypeRTUSDM72DM, ""); err != nil || lc.URL != "rtu:///dev/ttyS1" || lc.StopBits != 1 || lc.Parity != 1 || lc.Baud != 9600 {
		t.Errorf("link %+v %v", lc, err)
	}
}

func TestConfigYAMLStrict(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("device: /dev/ttyUSB0\nperiod: 500ms\nstop_bits: 2\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil || c.Period != 500*time.Millisecond || c.StopBits != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	dec = yaml.NewDecoder(strings.NewReader("devcie: x\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Error("misspelt field accepted")
	}
}

func TestNewPollerRefusesNonMeters(t *testing.T) {
	for _, typ := range []Type{TypeNone, TypeRemote} {
		if _, err := NewPoller(Options{Name: "Meter2", Type: typ}); !errors.Is(err, ErrNotAMeter) {
			t.Errorf("%v: %v", typ, err)
		}
	}
}

func TestLinksShareOneOwner(t *testing.T) {
	ls := NewLinks(nopLog)
	a, _ := ls.Get(LinkConfig{URL: "rtu:///dev/x", Baud: 9600, StopBits: 1})
	b, err := ls.Get(LinkConfig{URL: "rtu:///dev/x", Baud: 9600, StopBits: 1})
	if err != nil || a != b {
		t.Fatalf("second meter got another link (%v)", err)
	}
	if _, err := ls.Get(LinkConfig{URL: "rtu:///dev/x", Baud: 2400, StopBits: 1}); err == nil {
		t.Error("conflicting baud accepted on one line")
	}
}
