package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// The tests in this file put every timing bound of the machine on the
// 10 ms tick: the event must come exactly at the bound — one tick before
// it nothing has happened, at it the event has. A bound that moves by a
// tick fails them.

// TestDebounceBound: a new pilot level counts exactly Debounce after it
// was first sampled.
func TestDebounceBound(t *testing.T) {
	b := newBench(t, nil)
	b.run(time.Second)
	b.vehicle(func(v *simVehicle) { v.Plugged = true })
	b.step() // the first sample that reads B
	first := b.now
	if b.st.Level != LevelA {
		t.Fatalf("level %v on the first sample of B, want still A", b.st.Level)
	}
	at := b.until(time.Second, "level B", func() bool { return b.st.Level == LevelB })
	exactly(t, "B accepted", first, at, DefaultParams().Debounce)
}

// TestSwitchGraceRelayOpen: a contactor that does not close is a relay
// fault exactly SwitchGrace after the close command.
func TestSwitchGraceRelayOpen(t *testing.T) {
	b := newBench(t, nil)
	b.sim.SetFault(sim.FaultRelayOpen)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	b.until(5*time.Second, "close command", func() bool { return b.closed })
	closeAt := b.closedAt
	at := b.until(time.Second, "relay fault", func() bool { return b.st.Fault == FaultRelayOpen })
	exactly(t, "relay fault", closeAt, at, DefaultParams().SwitchGrace)
}

// TestSwitchGraceWeld: contacts that stay closed after the open command
// are a weld exactly SwitchGrace after it, and the weld keeps the cable
// locked (Case B) while they are live.
func TestSwitchGraceWeld(t *testing.T) {
	b := newBench(t, func(p *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.charge()
	b.sim.SetFault(sim.FaultWeld)
	if err := b.m.Stop(b.now); err != nil {
		t.Fatal(err)
	}
	b.until(10*time.Second, "open command", func() bool { return !b.closed })
	openAt := b.closedAt
	at := b.until(time.Second, "weld fault", func() bool { return b.st.Fault == FaultWeld })
	exactly(t, "weld fault", openAt, at, DefaultParams().SwitchGrace)
	b.never(5*time.Second, "cable unlocked over welded contacts", func() bool { return !b.lockCmd })
	// The weld stays latched, and the cable locked, even when the
	// feedback later reads open: after a weld neither is trusted until a
	// Reset.
	b.sim.SetFault(sim.FaultNone)
	b.never(5*time.Second, "cable unlocked during a latched weld", func() bool { return !b.lockCmd || b.st.Fault != FaultWeld })
}

// TestRelayRetryBound: a contactor that failed to close is tried again
// exactly RelayRetry after the fault, RelayTries times per plug-in; then
// the fault stays.
func TestRelayRetryBound(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.sim.SetFault(sim.FaultRelayOpen)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	for try := 1; try <= p.RelayTries+1; try++ {
		faultAt := b.until(5*time.Minute, "relay fault", func() bool { return b.st.Fault == FaultRelayOpen })
		if try > p.RelayTries {
			b.never(2*p.RelayRetry, "relay fault cleared after the last try", func() bool { return b.st.Fault != FaultRelayOpen })
			break
		}
		at := b.until(p.RelayRetry+time.Second, "retry", func() bool { return b.st.Fault == FaultNone })
		exactly(t, "retry", faultAt, at, p.RelayRetry)
	}
	// An unplug ends the plug-in and its tries.
	b.vehicle(func(v *simVehicle) { v.Plugged = false })
	b.until(2*time.Second, "fault cleared by the unplug", func() bool { return b.st.Fault == FaultNone })
}

// TestFHoldBound: after a fault the pilot is held in F exactly FHold,
// then +12 V, and the fault is judged once the pilot had two debounce
// times to settle after F.
func TestFHoldBound(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.charge()
	b.sim.SetFault(sim.FaultCPShort)
	faultAt := b.until(time.Second, "F", func() bool { return b.duty == DutyNegative })
	b.sim.SetFault(sim.FaultNone)
	at := b.until(time.Second, "F ended", func() bool { return b.duty != DutyNegative })
	exactly(t, "F ended", faultAt, at, p.FHold)
	if b.duty != DutySteady || b.st.Fault != FaultCPShort {
		t.Fatalf("after F: duty %d, fault %v; want +12 V with the fault still active", b.duty, b.st.Fault)
	}
	at = b.until(time.Second, "fault cleared", func() bool { return b.st.Fault == FaultNone })
	exactly(t, "fault cleared", faultAt, at, p.FHold+2*p.Debounce)
}

// TestFaultReleasesCable: in Case B a fault releases the cable exactly
// when F has been held (the user may take the cable while the contacts
// are open), with the car still plugged in.
func TestFaultReleasesCable(t *testing.T) {
	b := newBench(t, func(p *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.charge()
	if !b.lockCmd || !b.st.Locked {
		t.Fatal("charging in Case B without the lock")
	}
	b.sim.SetFault(sim.FaultDiodeShort)
	faultAt := b.until(time.Second, "diode fault", func() bool { return b.st.Fault == FaultDiode })
	at := b.until(time.Second, "unlock", func() bool { return !b.lockCmd })
	exactly(t, "unlock", faultAt, at, DefaultParams().FHold)
	if b.st.Fault != FaultDiode || !b.sim.Vehicle().Plugged {
		t.Fatalf("fault %v: want the diode fault still active", b.st.Fault)
	}
}

// TestDiodeCheckBound: a missing diode is a fault exactly two debounce
// times after the PWM starts: the low level is judged from Debounce after
// the duty change, and must stay bad for Debounce.
func TestDiodeCheckBound(t *testing.T) {
	b := newBench(t, nil)
	b.sim.SetFault(sim.FaultDiodeShort)
	b.vehicle(func(v *simVehicle) { v.Plugged = true })
	pwmAt := b.until(time.Second, "PWM", b.pwm)
	at := b.until(time.Second, "diode fault", func() bool { return b.st.Fault == FaultDiode })
	exactly(t, "diode fault", pwmAt, at, 2*DefaultParams().Debounce)
}

// TestCStableBound: the contactor closes exactly CStable after C is
// accepted.
func TestCStableBound(t *testing.T) {
	b := newBench(t, nil)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	cAt := b.until(5*time.Second, "level C", func() bool { return b.st.Level == LevelC })
	at := b.until(time.Second, "close", func() bool { return b.closed })
	exactly(t, "close", cAt, at, DefaultParams().CStable)
}

// stopCharging charges a car that keeps asking for charge for 20 s after
// the PWM goes (so only the EVSE's own bounds open the contactor), stops
// the session, and returns when the PWM was withdrawn.
func stopCharging(t *testing.T, b *bench) time.Time {
	t.Helper()
	b.vehicle(func(v *simVehicle) { v.Response = 20 * time.Second })
	b.charge()
	b.run(time.Second)
	if err := b.m.Stop(b.now); err != nil {
		t.Fatal(err)
	}
	return b.until(time.Second, "PWM withdrawn", func() bool { return !b.pwm() })
}

// TestStopTimeoutBound: without a statistics meter, a car that ignores
// the withdrawn PWM is cut off under load exactly StopTimeout later.
func TestStopTimeoutBound(t *testing.T) {
	b := newBench(t, nil)
	withdrawn := stopCharging(t, b)
	at := b.until(10*time.Second, "open", func() bool { return !b.closed })
	exactly(t, "open under load", withdrawn, at, DefaultParams().StopTimeout)
}

// TestDutyIntervalBound: while charging, a reduction applies at once and
// the next increase exactly DutyInterval after it.
func TestDutyIntervalBound(t *testing.T) {
	b := newBench(t, nil)
	b.charge()
	b.run(6 * time.Second)
	s := b.m.Settings()
	s.ChargeCurrent = 10
	b.m.ApplySettings(s)
	downAt := b.until(tick, "reduction", func() bool { return b.duty == DutyFor(10) })
	s.ChargeCurrent = 14
	b.m.ApplySettings(s)
	at := b.until(10*time.Second, "increase", func() bool { return b.duty == DutyFor(14) })
	exactly(t, "increase", downAt, at, DefaultParams().DutyInterval)
}

// TestWakeUpBounds: a car left in B2 gets one F pulse of exactly
// WakePulse, WakeAfter after B2 began; B2 is counted from the first step
// that sees the PWM running, one tick after it was commanded.
func TestWakeUpBounds(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.vehicle(func(v *simVehicle) { v.Plugged = true }) // connected, not asking for charge
	pwmAt := b.until(time.Second, "PWM", b.pwm)
	fAt := b.until(p.WakeAfter+time.Second, "wake-up pulse", func() bool { return b.duty == DutyNegative })
	exactly(t, "wake-up pulse", pwmAt, fAt, p.WakeAfter+tick)
	at := b.until(p.WakePulse+time.Second, "PWM after the pulse", b.pwm)
	exactly(t, "PWM back", fAt, at, p.WakePulse)
	b.never(2*p.WakeAfter, "second wake-up pulse in one plug-in", func() bool { return b.duty == DutyNegative })
}

// TestNoWakeUpAfterStop: a session stopped the tick before the wake-up is
// due gets no F pulse: the pilot goes to +12 V and stays there.
func TestNoWakeUpAfterStop(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.vehicle(func(v *simVehicle) { v.Plugged = true })
	pwmAt := b.until(time.Second, "PWM", b.pwm)
	for b.now.Before(pwmAt.Add(p.WakeAfter)) { // up to one tick before the pulse
		b.step()
	}
	if b.duty == DutyNegative {
		t.Fatal("wake-up pulse earlier than WakeAfter")
	}
	if err := b.m.Stop(b.now); err != nil {
		t.Fatal(err)
	}
	b.never(2*p.WakeAfter, "F driven after Stop without a fault", func() bool { return b.duty == DutyNegative })
	if b.duty != DutySteady {
		t.Fatalf("duty %d after Stop, want steady", b.duty)
	}
}

// TestLockBounds: a lock that does not engage is released exactly
// LockTimeout after the command, tried again exactly LockRetry later,
// and after LockAttempts tries the charger reports LOCK_ERR.
func TestLockBounds(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, func(_ *Params, s *settings.Settings) { s.ChargerMode = settings.ModeCaseB })
	b.sim.SetFault(sim.FaultLockJam)
	b.vehicle(func(v *simVehicle) { v.Plugged, v.RequestCharge = true, true })
	b.until(time.Second, "lock command", func() bool { return b.lockCmd })
	releaseAt := b.until(2*p.LockTimeout, "release", func() bool { return !b.lockCmd })
	exactly(t, "release", b.locks[0], releaseAt, p.LockTimeout)
	faultAt := b.until(time.Minute, "LOCK_ERR", func() bool { return b.st.Fault == FaultLock })
	if len(b.locks) != p.LockAttempts {
		t.Fatalf("%d lock attempts, want %d", len(b.locks), p.LockAttempts)
	}
	for i := 1; i < len(b.locks); i++ {
		exactly(t, "next attempt", b.locks[i-1], b.locks[i], p.LockTimeout+p.LockRetry)
	}
	exactly(t, "LOCK_ERR", b.locks[len(b.locks)-1], faultAt, p.LockTimeout)
	if b.closed || b.pwm() {
		t.Fatalf("contactor %v, duty %d with the lock jammed", b.closed, b.duty)
	}
}

// TestDiodeLowEdge: a PWM low level of exactly −10 V proves the diode; a
// hair above it for Debounce is a diode fault.
func TestDiodeLowEdge(t *testing.T) {
	for _, c := range []struct {
		low   units.Volts
		fault bool
	}{{-12, false}, {-10, false}, {-9.99, true}} {
		b := newBench(t, nil)
		b.low = &c.low
		b.vehicle(func(v *simVehicle) { v.Plugged = true })
		b.run(time.Second)
		if got := b.st.Fault == FaultDiode; got != c.fault {
			t.Errorf("low %v V: diode fault %v, want %v", c.low, got, c.fault)
		}
	}
}

// TestFaultJudgedOnSettledPilot: after F a fault is judged only on a
// pilot level that has settled. A CP short that comes back while the
// charger waits out the settling time is still a CP short: the stale
// level from before does not clear it.
func TestFaultJudgedOnSettledPilot(t *testing.T) {
	p := DefaultParams()
	b := newBench(t, nil)
	b.charge()
	b.sim.SetFault(sim.FaultCPShort)
	faultAt := b.until(time.Second, "F", func() bool { return b.duty == DutyNegative })
	b.sim.SetFault(sim.FaultNone)
	// The pilot reads C again right after F; the short returns one
	// debounce time before the fault would be judged.
	for b.now.Before(faultAt.Add(p.FHold + p.Debounce)) {
		b.step()
	}
	b.sim.SetFault(sim.FaultCPShort)
	b.never(time.Second, "CP short cleared while the pilot reads E", func() bool { return b.st.Fault != FaultCPShort })
}
