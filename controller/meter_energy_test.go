package controller

import (
	"math"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestSessionEnergyFromMeter: with a statistics meter the session energy
// and power come from it (and the status says so); when it goes stale the
// estimate takes over without losing what was counted.
func TestSessionEnergyFromMeter(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) { s.Meter1Type = settings.MeterRTUSDM72D })
	r.plugAndCharge()
	r.run(10 * time.Second)
	e0 := r.st.Energy
	if r.st.PowerFromMeter || e0 <= 0 {
		t.Fatalf("no meter reading yet: from meter %v, energy %v", r.st.PowerFromMeter, e0)
	}
	imp := units.WattHours(100_000)
	for i := 0; i < 10; i++ {
		r.m.SetMeter(1, hw.MeterReading{At: r.now, Power: 10_800, ImportEnergy: imp, HasPhases: true,
			PhaseCurrent: [3]units.Amps{15.6, 15.7, 15.8}})
		imp += 3 // 3 Wh per second = 10.8 kW
		r.run(time.Second)
	}
	if !r.st.PowerFromMeter || r.st.ActualPower != 10_800 || r.st.ActualCurrent != 15.8 {
		t.Fatalf("with the meter: from meter %v, %v W, %v A", r.st.PowerFromMeter, r.st.ActualPower, r.st.ActualCurrent)
	}
	// The first reading is the base: 9 further seconds of 3 Wh each.
	if want := float64(e0) + 27*3600; math.Abs(float64(r.st.Energy)-want) > 0.2*float64(e0) {
		t.Fatalf("energy %v Ws, want about %v (before the meter %v)", r.st.Energy, want, e0)
	}
	e1 := r.st.Energy
	r.run(r.m.p.Limiter.MeterStale + time.Second)
	if r.st.PowerFromMeter || r.st.Energy < e1 {
		t.Fatalf("meter stale: from meter %v, energy %v (was %v)", r.st.PowerFromMeter, r.st.Energy, e1)
	}
}

// TestStopOpensWhenTheMeterSeesNoCurrent: after Stop, a statistics meter
// that reads no current lets the contactor open before StopTimeout.
func TestStopOpensWhenTheMeterSeesNoCurrent(t *testing.T) {
	r := newRig(t, func(p *Params, s *settings.Settings) { s.Meter1Type = settings.MeterRTUSDM72D })
	r.vehicle(func(v *sim.Vehicle) { v.Response = 9 * time.Second })
	r.plugAndCharge()
	r.run(time.Second)
	stop(r)
	for i := 0; i < 200 && r.sim.State().Contactor; i++ {
		r.m.SetMeter(1, hw.MeterReading{At: r.now, HasPhases: true})
		r.step()
	}
	if r.sim.State().Contactor {
		t.Fatal("contactor still closed 2 s after Stop with the meter reading 0 A")
	}
}
