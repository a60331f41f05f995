package pspbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// golden reads one of the project daemon's WebAPI golden files
// (../webapi/testdata): a line "HTTP <status> <type>", then the body. The
// simulator daemon serves exactly these shapes, and the e2e acceptance
// bridges one built binary to another, so the client must decode them.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webapi", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP 200 ")) {
		t.Fatalf("%s: unexpected golden header %q", name, head)
	}
	return body
}

func TestDecodeWebAPIGoldens(t *testing.T) {
	st, err := DecodeStatus(golden(t, "status_charging.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if st.EvseState != StateCharging || !st.ChargerStarted || st.ActualCurrent != 15.96 || st.ActualPower != 11012 ||
		st.ActualEnergy != 41627 || st.Duration != 4*time.Second || st.Meter2Status != 1 || st.WiFiInfo != "wired" {
		t.Errorf("status_charging: %+v", st)
	}
	for _, name := range []string{"status_idle.golden", "status_wifi.golden"} {
		st, err := DecodeStatus(golden(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.EvseState != StateIdle || st.ChargerStarted || st.StartStopAllowed {
			t.Errorf("%s: %+v", name, st)
		}
	}
	c, err := DecodeSystemConfig(golden(t, "systemconfig.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ChargeCurrent != 16 || c.ControlLimit != 11000 || c.PhaseCurrentLimit != 25 || !c.ChargeAutoStart || c.SystemVersion != "0.1.0" {
		t.Errorf("systemconfig: %+v", c)
	}
	for _, name := range []string{"systeminfo_wifi.golden", "systeminfo_wired.golden"} {
		si, err := DecodeSystemInfo(golden(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if si.MAC != "E0:E2:E6:52:AA:D4" || si.ProductType != "EVSEMQTT" {
			t.Errorf("%s: %+v", name, si)
		}
	}
	for n, name := range map[int]string{1: "meter1_none.golden", 2: "meter2_none.golden"} {
		m, err := DecodeMeter(golden(t, name), n)
		if err != nil || len(m.Registers) != 0 || m.Uptime != 179010*time.Millisecond {
			t.Errorf("%s: %+v %v", name, m, err)
		}
	}
	ca, err := DecodeConfigAnswer(golden(t, "systemconfig_set.golden"))
	if err != nil || len(ca.Refused) != 0 || ca.Set["ChargeCurrent"] != "16" || ca.Set["Meter1Type"] != "4" ||
		ca.Set["Meter1Ip"] != "192.168.0.30" || ca.Set["ChargeAutoStart"] != "true" {
		t.Errorf("systemconfig_set: %+v %v", ca, err)
	}
	if on, err := DecodeToggleAnswer(golden(t, "evsectrl_guide.golden"), "ChargeStartToggle"); err != nil || on {
		t.Errorf("evsectrl_guide: %v %v", on, err)
	}
	if got, err := DecodeServiceAnswer(golden(t, "systeminfo_reset.golden"), "Reset"); err != nil || got != AnswerPerforming {
		t.Errorf("systeminfo_reset: %q %v", got, err)
	}
}

// TestDecodeProjectMeterDocuments reads the meter package's WebAPI
// documents: what the simulator daemon serves for a meter that is read
// and one that is not.
func TestDecodeProjectMeterDocuments(t *testing.T) {
	m, err := DecodeMeter(readFile(t, "../meter/testdata/webapi_meter1_v1.json"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Registers) != 9 || m.Registers[1].Desc != "TotalImport[kWh]" || m.Registers[1].Value != 12.5 || !m.Registers[1].Valid() {
		t.Errorf("meter1_v1: %+v", m.Registers)
	}
	m, err = DecodeMeter(readFile(t, "../meter/testdata/webapi_meter1_unread.json"), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Registers {
		if r.Valid() || r.DataStatus != DataNotAvailable {
			t.Errorf("unread register %+v", r)
		}
	}
	if _, err := DecodeMeter(readFile(t, "../meter/testdata/webapi_meter_none.json"), 2); err != nil {
		t.Error(err)
	}
}

// TestGoldenSetCovered fails when webapi gains a golden document this
// package does not decode, so a new shape is looked at.
func TestGoldenSetCovered(t *testing.T) {
	known := map[string]bool{
		"status_charging.golden": true, "status_idle.golden": true, "status_wifi.golden": true,
		"systemconfig.golden": true, "systeminfo_wifi.golden": true, "systeminfo_wired.golden": true,
		"meter1_none.golden": true, "meter2_none.golden": true, "systemconfig_set.golden": true,
		"evsectrl_guide.golden": true, "systeminfo_reset.golden": true,
		// Not the box's documents: errors, the extended status, health.
		"err_404.golden": true, "err_405.golden": true, "err_malformed.golden": true,
		"extended_charging.golden": true, "extended_idle.golden": true, "healthz.golden": true,
	}
	names, err := filepath.Glob(filepath.Join("..", "webapi", "testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !known[filepath.Base(n)] {
			t.Errorf("new webapi golden %s: decode it in TestDecodeWebAPIGoldens (or list it as not the box's)", filepath.Base(n))
		}
	}
	if len(names) == 0 || !strings.HasSuffix(names[0], ".golden") {
		t.Error("no webapi goldens found")
	}
}
