package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// TestResetKeepsFHold: a Reset during the F hold is carried out exactly
// when F has been held FHold (IEC 61851-1 Table A.5), not before; one at
// or after FHold clears the fault at once.
func TestResetKeepsFHold(t *testing.T) {
	p := DefaultParams()
	for _, early := range []bool{true, false} {
		b := newBench(t, nil)
		b.charge()
		b.sim.SetFault(sim.FaultCPShort)
		faultAt := b.until(time.Second, "F", func() bool { return b.duty == DutyNegative })
		b.sim.SetFault(sim.FaultNone)
		resetAt := faultAt.Add(p.FHold)
		if early {
			resetAt = resetAt.Add(-tick)
		}
		for b.now.Before(resetAt) {
			b.step()
		}
		if !b.m.Reset(b.now) {
			t.Fatal("Reset refused")
		}
		if early {
			if b.m.Fault() != FaultCPShort {
				t.Fatalf("Reset a tick before FHold cleared the fault at once")
			}
			at := b.until(time.Second, "fault cleared", func() bool { return b.st.Fault == FaultNone })
			exactly(t, "cleared by the early Reset", faultAt, at, p.FHold)
			if b.dutyAt.Sub(faultAt) != p.FHold {
				t.Fatalf("F held %v, want %v", b.dutyAt.Sub(faultAt), p.FHold)
			}
		} else if b.m.Fault() != FaultNone {
			t.Fatalf("Reset at FHold: fault %v, want cleared at once", b.m.Fault())
		}
	}
}
