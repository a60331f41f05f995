package meter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

var nopLog = zerolog.Nop()

const goodMap = `name: Custom
max_regs: 40
registers:
  - {fc: 4, addr: 0x0034, desc: "TotalSystemPower[W]", unit: W, role: total_power}
  - {fc: 4, addr: 0x0048, desc: "TotalImport[kWh]", unit: kWh, role: import_energy}
  - {fc: 3, addr: 0x0014, desc: "ModbusAddress", unit: ""}
`

func TestParseUserMap(t *testing.T) {
	m, err := ParseUserMap([]byte(goodMap))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Custom" || m.MaxRegs != 40 || len(m.Registers) != 3 || m.Registers[2].Key() != "0x03_0x0014" {
		t.Errorf("%+v", m)
	}
	if got := len(PlanBlocks(m, m.MaxRegs)); got != 2 {
		t.Errorf("%d blocks, want 2 (one per function code)", got)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(goodMap), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUserMap(path); err != nil {
		t.Error(err)
	}
}

func TestParseUserMapRejects(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown field": {strings.Replace(goodMap, "max_regs", "max_reg", 1), "max_reg"},
		"odd address":   {strings.Replace(goodMap, "0x0048", "0x0049", 1), "registers[1].addr"},
		"overlap":       {strings.Replace(goodMap, "0x0048", "0x0035", 1), "overlaps"},
		"bad role":      {strings.Replace(goodMap, "import_energy", "import", 1), "registers[1].role"},
		"dup role":      {strings.Replace(goodMap, "import_energy", "total_power", 1), "already used"},
		"bad fc":        {strings.Replace(goodMap, "fc: 3", "fc: 6", 1), "registers[2].fc"},
		"limit":         {strings.Replace(goodMap, "max_regs: 40", "max_regs: 1", 1), "max_regs"},
		"no power":      {strings.Replace(goodMap, "role: total_power", "role: \"\"", 1), "total_power"},
		"empty":         {"", "empty"},
	} {
		_, err := ParseUserMap([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func FuzzParseUserMap(f *testing.F) {
	f.Add([]byte(goodMap))
	f.Add([]byte("registers: []"))
	f.Add([]byte("max_regs: 60\nregisters:\n  - {fc: 4, addr: 2, desc: x, role: total_power}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseUserMap(data)
		if err != nil {
			return
		}
		for _, b := range PlanBlocks(m, m.MaxRegs) {
			if int(b.Count) > m.MaxRegs {
				t.Fatalf("accepted map plans an oversize block %+v", b)
			}
		}
	})
}
