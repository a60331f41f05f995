package e2e

import (
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

type meterDoc map[string]struct {
	TimeStamp  int64
	ModbusData map[string]struct {
		Desc       string
		ErrCounter int
		Value      float64
		DataStatus string
	}
}

// TestMeterInSimulation: the simulated meters are read over real Modbus
// TCP and GET /webapi/v1/Meter1/Meter2 show values consistent with the
// simulator (meter 1 = the EV's draw, meter 2 = house + EV − PV).
func TestMeterInSimulation(t *testing.T) {
	d := start(t, t.TempDir(), newPorts(t), "")
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true, "HousePower": 3000, "PVPower": 1000}`, nil)
	eventually(t, 10*time.Second, func() string {
		var m meterDoc
		d.get("/webapi/v1/Meter1", &m)
		p, ok := m["Meter1"].ModbusData["0x04_0x0034"]
		if !ok || p.DataStatus != "Valid" || math.Abs(p.Value-3*230*16) > 1 {
			return fmt.Sprintf("Meter1 total power %+v, want 11040 W Valid", p)
		}
		for key, r := range m["Meter1"].ModbusData {
			if r.DataStatus != "Valid" {
				return fmt.Sprintf("Meter1 %s %s", key, r.DataStatus)
			}
		}
		var m2 meterDoc
		d.get("/webapi/v1/Meter2", &m2)
		p2 := m2["Meter2"].ModbusData["0x04_0x0034"]
		if p2.DataStatus != "Valid" || math.Abs(p2.Value-(3000+11040-1000)) > 1 {
			return fmt.Sprintf("Meter2 total power %+v, want 13040 W", p2)
		}
		var st map[string]any
		d.get("/webapi/v1/Status", &st)
		if st["ActualPower"] != float64(11040) || st["Meter1Status"] != float64(0) {
			return fmt.Sprintf("status power %v meter1 %v", st["ActualPower"], st["Meter1Status"])
		}
		return ""
	})
}

// TestMbpollReadsSimulatedMeter: Debian's mbpoll, an independent Modbus
// master, reads the daemon's simulated meter 1 and sees the EV's power.
func TestMbpollReadsSimulatedMeter(t *testing.T) {
	p := newPorts(t)
	d := start(t, t.TempDir(), p, "")
	d.post("/sim/v1/State", `{"EvPlugged": true, "EvRequestCharge": true}`, nil)
	eventually(t, 8*time.Second, func() string {
		if s := d.sim(); s.EvCurrent != 16 {
			return fmt.Sprintf("EV at %v A", s.EvCurrent)
		}
		return ""
	})
	host, port, _ := strings.Cut(p.Meter1, ":")
	// -t 3:float -B = input registers as float32, high word first; -r is
	// 1-based: 0x0034 + 1 = 53.
	out, err := exec.Command("mbpoll", "-m", "tcp", "-p", port, "-a", "1", "-t", "3:float", "-B", "-r", "53", "-c", "1", "-1", host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	var got float64 = math.NaN()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "[53]:") {
			got, _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "[53]:")), 64)
		}
	}
	if math.Abs(got-11040) > 1 {
		t.Fatalf("mbpoll read %v W at 0x0034, want 11040:\n%s", got, out)
	}
}
