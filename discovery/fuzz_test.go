package discovery

import "testing"

// FuzzBuild feeds arbitrary device ids and meter registers (the parts a
// user's config or meter map supplies) to Build: it must either refuse them
// or produce payloads that pass every rule.
func FuzzBuild(f *testing.F) {
	f.Add("abc123", "0x04_0x0034", "TotalSystemPower[W]", "W", "evse/abc123")
	f.Add("AA:BB:CC:DD", "0x04_0x0048", "TotalImport[kWh]", "", "")
	f.Add("ü/#+", "0x04_0x0000", "L1Voltage[V]", "V", "garage/charger")
	f.Add("x", "0x04_0x0034'] }}{{", "Evil' }}", "W", "")
	f.Add("id", "0x03_0x0014", "Status", "status", "a/b")
	f.Add("id", "0x04_0x0046", "[Hz]", "", "")
	f.Add(" ", "0x04_0x018c", "Net", "kWh", "evse/+")
	f.Fuzz(func(t *testing.T, id, key, desc, unit, base string) {
		d := testDevice()
		d.ID, d.Base = id, base
		o := testOptions()
		o.Meters = append(o.Meters, MeterRegister{Meter: 1, Key: key, Desc: desc, Unit: unit})
		msgs, err := Build(d, o)
		if err != nil {
			return
		}
		d.Base = firstNonEmpty(base, "evse/"+id)
		env := envFor(d, o)
		for _, e := range checkRules(msgs, env) {
			t.Error(e)
		}
	})
}
