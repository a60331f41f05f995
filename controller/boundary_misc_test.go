package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// TestLockCommandsOnlyOnChange: once the lock has followed a command, the
// driver gets no more commands (the machine repeats one only while the
// feedback disagrees): a solenoid pulsed every 10 ms through a long fault
// would overheat.
func TestLockCommandsOnlyOnChange(t *testing.T) {
	b := newBench(t, func(_ *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.charge()
	b.sim.SetFault(sim.FaultDiodeShort)
	b.until(2*time.Second, "unlocked", func() bool { return !b.lockCmd && !b.st.Locked })
	b.step()
	sets := b.lockSets
	b.run(5 * time.Second)
	if b.lockSets != sets {
		t.Fatalf("%d lock commands in 5 s of a held fault, want none", b.lockSets-sets)
	}
}

// TestCStableNotRestartedByDutyChange: a change of the offered current
// while C is proving stable does not restart the count: the contactor
// still closes CStable after C.
func TestCStableNotRestartedByDutyChange(t *testing.T) {
	b := newBench(t, nil)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	cAt := b.until(5*time.Second, "level C", func() bool { return b.st.Level == LevelC })
	b.run(DefaultParams().CStable / 2)
	s := b.m.Settings()
	s.ChargeCurrent = 10
	b.m.ApplySettings(s)
	at := b.until(time.Second, "close", func() bool { return b.closed })
	exactly(t, "close", cAt, at, DefaultParams().CStable)
	if b.duty != DutyFor(10) {
		t.Fatalf("duty %d, want the lowered current's %d", b.duty, DutyFor(10))
	}
}

// TestSupervisorLeaseInStatus: the status shows a supervisor's lease
// until it expires — exactly at the expiry it is gone — and no longer
// once the supervisor is removed from the settings.
func TestSupervisorLeaseInStatus(t *testing.T) {
	ttl := DefaultLimiterParams().LeaseTTL
	for _, remove := range []bool{false, true} {
		b := newBench(t, func(_ *Params, s *settings.Settings) {
			s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7"
		})
		granted := b.now
		if err := b.m.SetSupervisorPower(5000, granted); err != nil {
			t.Fatal(err)
		}
		b.step()
		if b.st.SupervisorLeaseEnd != granted.Add(ttl) {
			t.Fatalf("lease end %v, want %v", b.st.SupervisorLeaseEnd, granted.Add(ttl))
		}
		if remove {
			s := b.m.Settings()
			s.Meter2Type, s.Meter2Ip = settings.MeterNone, ""
			b.m.ApplySettings(s)
			b.step()
			if !b.st.SupervisorLeaseEnd.IsZero() {
				t.Fatalf("supervisor removed, lease end still %v", b.st.SupervisorLeaseEnd)
			}
			continue
		}
		for b.now.Before(granted.Add(ttl - tick)) {
			b.step()
		}
		if b.st.SupervisorLeaseEnd.IsZero() {
			t.Fatal("lease gone a tick before it expires")
		}
		b.step()
		if !b.st.SupervisorLeaseEnd.IsZero() {
			t.Fatal("lease still shown at its expiry")
		}
	}
}
