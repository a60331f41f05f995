package meter

import "testing"

func TestHAPresentationCoversBuiltInMaps(t *testing.T) {
	for _, m := range []*Map{SDM72DMv1(), SDM72DMv2(), SDM120M(), NMID30()} {
		for _, r := range m.Registers {
			h := r.HA()
			if h.StateClass == "" {
				t.Errorf("%s %s: no state class", m.Name, r.Key())
			}
			if r.Unit != "" && h.Unit == "" {
				t.Errorf("%s %s: unit %q lost", m.Name, r.Key(), r.Unit)
			}
		}
	}
	if h := (Register{Desc: "NetImportMinusExport[kWh]", Unit: "kWh"}).HA(); h.StateClass != "total" {
		t.Errorf("net energy %+v", h)
	}
	if h := (Register{Desc: "TotalImport[kWh]", Unit: "kWh"}).HA(); h.StateClass != "total_increasing" || h.DeviceClass != "energy" {
		t.Errorf("import energy %+v", h)
	}
	if h := (Register{Desc: "Phase1PowerFactor"}).HA(); h.DeviceClass != "power_factor" {
		t.Errorf("pf %+v", h)
	}
}
