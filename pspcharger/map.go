package pspcharger

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// mapInput is what the snapshot is computed from.
type mapInput struct {
	raw       pspbox.Status
	cfg       settings.Settings
	haveCfg   bool
	supervise bool
	lease     lease
	leaseTTL  time.Duration
	superErr  string
	pushed    units.Watts
	meterOK   bool // the bridge's control meter is fresh
}

// mapStatus turns the box's Status (and settings) into the snapshot. The
// box's EvseState numbers are the controller's (both are the guide's
// cpEvseStateEnum_t); what the box does not report (contactor, pilot
// level) is inferred from the state and said so in the docs.
func mapStatus(in mapInput, now time.Time) charger.Status {
	r := in.raw
	state := controller.EvseState(r.EvseState)
	st := charger.Status{
		At:               now,
		State:            state,
		Fault:            faultFor(state),
		Level:            levelFor(state),
		ThreePhase:       r.ThreePhaseCharging,
		ActualCurrent:    r.ActualCurrent,
		PPCodedCurrent:   r.PPCodedCurrent,
		ActualPower:      r.ActualPower,
		Energy:           r.ActualEnergy,
		Duration:         r.Duration,
		AutoStartAllowed: r.AutoStartAllowed,
		StartStopAllowed: r.StartStopAllowed,
		BoostAllowed:     r.BoostAllowed,
		ChargerStarted:   r.ChargerStarted,
		ChargeBoosted:    r.ChargeBoosted,
		VehicleConnected: state == controller.StateConnected || state == controller.StateCharge || state == controller.StateVent,
		PowerFromMeter:   in.haveCfg && in.cfg.Meter1Type >= 1 && in.cfg.Meter1Type <= 6,
	}
	// The box reports no contactor; in C or D with the session started
	// and current flowing it is closed.
	closed := (state == controller.StateCharge || state == controller.StateVent) && r.ChargerStarted
	st.ContactorClosed, st.ContactorFeedback = closed, closed
	limiting := in.haveCfg && (in.cfg.ControlStrategy == 1 || in.cfg.Meter2Type == settings.MeterRemoteSuperv)
	if limiting && r.PowerAvailableSent {
		st.LimiterActive = true
		st.PowerAvailable = r.ActualPowerAvailable
	}
	st.CurrentLimit, st.LimitSource = units.Amps(in.cfg.ChargeCurrent), controller.SourceConfig
	if r.ChargeBoosted {
		st.CurrentLimit, st.LimitSource = units.Amps(in.cfg.ChargeCurrentBoost), controller.SourceBoost
	}
	if st.LimiterActive {
		phases := 1
		if in.cfg.Charge3Phase {
			phases = 3
		}
		if a := units.CurrentFor(st.PowerAvailable, phases).Floor(); a < st.CurrentLimit {
			st.CurrentLimit, st.LimitSource = a, controller.SourceLimiter
			if in.supervise {
				st.LimitSource = controller.SourceSupervisor
			}
			if a < settings.MinCurrent {
				st.CurrentLimit, st.LimiterPaused = 0, true
			}
		}
	}
	if in.supervise {
		leaseOK := in.lease.valid && now.Before(in.lease.expires)
		st.LimiterStale = !leaseOK && !in.meterOK
		if leaseOK {
			st.SupervisorLeaseEnd = in.lease.expires
		} else if st.LimitSource == controller.SourceSupervisor {
			st.LimitSource = controller.SourceFallback
		}
	}
	st.Reason = reasonFor(st, in)
	return st
}

// reasonFor says why the box does what it does, as far as its documents
// tell.
func reasonFor(st charger.Status, in mapInput) string {
	switch {
	case in.superErr != "":
		return "supervisor: " + in.superErr
	case st.Fault != controller.FaultNone:
		return "box reports " + st.State.VendorName()
	case !st.VehicleConnected:
		return "no vehicle connected"
	case !st.ChargerStarted:
		return "session stopped on the box"
	case st.LimiterPaused:
		return "paused: the box's available power is below 6 A"
	case st.State == controller.StateConnected:
		return "waiting for the vehicle"
	}
	return ""
}

// faultFor is the fault a box state reports (FaultNone for the others).
func faultFor(s controller.EvseState) controller.Fault {
	for f := controller.FaultEPO; f <= controller.FaultLock; f++ {
		if f.State() == s {
			return f
		}
	}
	return controller.FaultNone
}

// levelFor is the pilot level a box state implies.
func levelFor(s controller.EvseState) controller.Level {
	switch s {
	case controller.StateIdle:
		return controller.LevelA
	case controller.StateConnected:
		return controller.LevelB
	case controller.StateCharge:
		return controller.LevelC
	case controller.StateVent:
		return controller.LevelD
	case controller.StateErrE:
		return controller.LevelE
	}
	return controller.LevelF
}
