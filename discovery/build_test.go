package discovery

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// render prints messages as the golden files hold them: topic, indented
// payload, blank line.
func render(t *testing.T, msgs []Message) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString(m.Topic + "\n")
		if err := json.Indent(&b, m.Payload, "", "  "); err != nil {
			t.Fatalf("%s: payload is not JSON: %v", m.Topic, err)
		}
		b.WriteString("\n\n")
	}
	return b.Bytes()
}

func TestBuildGolden(t *testing.T) {
	noMeters := testOptions()
	noMeters.Meter1Type, noMeters.Meter2Type = 0, 7 // none, remote supervisor
	cases := []struct {
		name string
		d    Device
		o    Options
	}{
		{"full", testDevice(), testOptions()},
		{"no_meters", testDevice(), noMeters},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, err := Build(c.d, c.o)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, msgs)
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./discovery -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s; if the change is intended, run go test ./discovery -update and review the diff\n%s",
					path, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first differing line, enough to find the change.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func TestBuildFollowsRules(t *testing.T) {
	variants := map[string]func(*Device, *Options){
		"full":           func(*Device, *Options) {},
		"custom prefix":  func(_ *Device, o *Options) { o.Prefix = "ha/discovery" },
		"odd device id":  func(d *Device, _ *Options) { d.ID = "AA:BB:CC/dd 01" },
		"custom base":    func(d *Device, _ *Options) { d.Base = "garage/charger" },
		"16 A hardware":  func(d *Device, _ *Options) { d.HardwareMaxCurrent = 16 },
		"meter2 remote":  func(_ *Device, o *Options) { o.Meter2Type = 7 },
		"meter1 none":    func(_ *Device, o *Options) { o.Meter1Type = 0 },
		"no registers":   func(_ *Device, o *Options) { o.Meters = nil },
		"meter2 v1 only": func(_ *Device, o *Options) { o.Meters = append(sdm72v1(1), sdm72v1(2)...) },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			d, o := testDevice(), testOptions()
			change(&d, &o)
			msgs, err := Build(d, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) < 26 {
				t.Fatalf("only %d messages", len(msgs))
			}
			for _, err := range checkRules(msgs, envFor(d, o)) {
				t.Error(err)
			}
		})
	}
}

// countTopics counts messages whose topic contains sub.
func countTopics(msgs []Message, sub string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.Topic, sub) {
			n++
		}
	}
	return n
}

func TestBuildMeterEntitiesFollowMeterTypes(t *testing.T) {
	for _, c := range []struct {
		t1, t2       int
		want1, want2 int // register sensors + status sensor
	}{
		{1, 4, 9 + 1, 13 + 1},
		{6, 0, 9 + 1, 0},
		{0, 7, 0, 0}, // 7 is a remote supervisor, not a meter
		{3, 8, 9 + 1, 0},
	} {
		o := testOptions()
		o.Meter1Type, o.Meter2Type = c.t1, c.t2
		msgs, err := Build(testDevice(), o)
		if err != nil {
			t.Fatal(err)
		}
		if got := countTopics(msgs, "/meter1_"); got != c.want1 {
			t.Errorf("types %d/%d: %d meter 1 entities, want %d", c.t1, c.t2, got, c.want1)
		}
		if got := countTopics(msgs, "/meter2_"); got != c.want2 {
			t.Errorf("types %d/%d: %d meter 2 entities, want %d", c.t1, c.t2, got, c.want2)
		}
	}
}

func TestBuildDisabled(t *testing.T) {
	o := testOptions()
	o.Enabled = false
	msgs, err := Build(Device{}, o) // not even validated
	if err != nil || len(msgs) != 0 {
		t.Fatalf("disabled: %d messages, err %v", len(msgs), err)
	}
}

func TestBuildStable(t *testing.T) {
	a, err := Build(testDevice(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, _ := Build(testDevice(), testOptions())
		if !bytes.Equal(render(t, a), render(t, b)) {
			t.Fatal("two builds of the same input differ")
		}
	}
}

func TestBuildRejects(t *testing.T) {
	cases := map[string]func(*Device, *Options){
		"empty id":           func(d *Device, _ *Options) { d.ID = "" },
		"hardware below 6 A": func(d *Device, _ *Options) { d.HardwareMaxCurrent = 5 },
		"wildcard base":      func(d *Device, _ *Options) { d.Base = "evse/+" },
		"wildcard prefix":    func(_ *Device, o *Options) { o.Prefix = "homeassistant/#" },
		"bad key":            func(_ *Device, o *Options) { o.Meters[0].Key = "0x04_0x34'] }}" },
		"upper-case key":     func(_ *Device, o *Options) { o.Meters[0].Key = "0x04_0x004A" },
		"meter 3":            func(_ *Device, o *Options) { o.Meters[0].Meter = 3 },
		"empty desc":         func(_ *Device, o *Options) { o.Meters[0].Desc = " " },
		"duplicate key":      func(_ *Device, o *Options) { o.Meters[1].Key = o.Meters[0].Key },
	}
	for name, change := range cases {
		d, o := testDevice(), testOptions()
		change(&d, &o)
		if msgs, err := Build(d, o); err == nil {
			t.Errorf("%s: accepted (%d messages)", name, len(msgs))
		}
	}
}

func TestHumanize(t *testing.T) {
	for desc, want := range map[string]string{
		"TotalSystemPower[W]":               "total system power",
		"L1Voltage[V]":                      "L1 voltage",
		"Total[kWh]":                        "total",
		"ResettableImportActiveEnergy[kWh]": "resettable import active energy",
		"NetKWh[kWh]":                       "net KWh",
		"[W]":                               "register",
	} {
		if got := humanize(desc); got != want {
			t.Errorf("humanize(%q) = %q, want %q", desc, got, want)
		}
	}
}
