package mqttapi

import (
	"fmt"
	"testing"
)

func doc(v1, a1, w, kwh float64, errs int) []byte {
	return []byte(fmt.Sprintf(`{"Meter1":{"TimeStamp":0,"ModbusData":{`+
		`"0x04_0x0000":{"Desc":"L1Voltage[V]","ErrCounter":%d,"Value":%v,"DataStatus":"OK"},`+
		`"0x04_0x0006":{"Desc":"L1Current[A]","ErrCounter":0,"Value":%v,"DataStatus":"OK"},`+
		`"0x04_0x0034":{"Desc":"TotalSystemPower[W]","ErrCounter":0,"Value":%v,"DataStatus":"OK"},`+
		`"0x04_0x0048":{"Desc":"TotalImport[kWh]","ErrCounter":0,"Value":%v,"DataStatus":"OK"}}}}`, errs, v1, a1, w, kwh))
}

// TestMeterDeadband: voltages, currents and powers are republished only
// past their deadband (2 V, 0.2 A, 50 W); an energy counter, an error
// count or a new document shape at any change.
func TestMeterDeadband(t *testing.T) {
	last := doc(230, 10, 6900, 100.00, 0)
	for _, c := range []struct {
		name string
		next []byte
		want bool
	}{
		{"identical", doc(230, 10, 6900, 100.00, 0), false},
		{"voltage within 2 V", doc(231.9, 10, 6900, 100.00, 0), false},
		{"voltage past 2 V", doc(232.1, 10, 6900, 100.00, 0), true},
		{"current within 0.2 A", doc(230, 10.15, 6900, 100.00, 0), false},
		{"current past 0.2 A", doc(230, 10.25, 6900, 100.00, 0), true},
		{"power within 50 W", doc(230, 10, 6949, 100.00, 0), false},
		{"power past 50 W", doc(230, 10, 6951, 100.00, 0), true},
		{"energy counter moved", doc(230, 10, 6900, 100.01, 0), true},
		{"error count", doc(230, 10, 6900, 100.00, 1), true},
		{"not a document", []byte("{"), true},
	} {
		if got := significant(last, c.next); got != c.want {
			t.Errorf("%s: significant %v, want %v", c.name, got, c.want)
		}
	}
	if !significant(nil, last) {
		t.Error("the first document must be published")
	}
}
