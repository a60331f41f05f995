package pspbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// EvseState is the box's cpEvseStateEnum_t.
type EvseState int

// The box's states, as the guide enumerates them.
const (
	StateWaiting     EvseState = iota // EVSE_WAITING
	StateIdle                         // EVSE_IDLE_A1_A2
	StateRelayErr                     // EVSE_RELAY_ERR_F
	StateEPO                          // EVSE_EPO_F
	StateConnected                    // EVSE_EV_CONNECTED_B1_B2
	StateCharging                     // EVSE_EV_CHARGE_C1_C2
	StateVentilation                  // EVSE_EV_VENT_D1_D2
	StateDiodeErr                     // EVSE_EV_DIODE_ERR
	StateEVErrE                       // EVSE_EV_ERR_E
	StateGeneralErr                   // EVSE_EV_GENERAL_ERR
	StatePPErr                        // EVSE_PP_ERR_F
	StateLockErr                      // EVSE_LOCK_ERR_F
	maxState         = StateLockErr
)

var stateNames = [...]string{
	"EVSE_WAITING", "EVSE_IDLE_A1_A2", "EVSE_RELAY_ERR_F", "EVSE_EPO_F",
	"EVSE_EV_CONNECTED_B1_B2", "EVSE_EV_CHARGE_C1_C2", "EVSE_EV_VENT_D1_D2",
	"EVSE_EV_DIODE_ERR", "EVSE_EV_ERR_E", "EVSE_EV_GENERAL_ERR",
	"EVSE_PP_ERR_F", "EVSE_LOCK_ERR_F",
}

// String returns the vendor's name of the state.
func (s EvseState) String() string {
	if s >= 0 && s <= maxState {
		return stateNames[s]
	}
	return "EvseState(" + strconv.Itoa(int(s)) + ")"
}

// Bounds of Status values; beyond them the answer is refused as garbage.
const (
	maxTimestampMs = 1e12 // ~31 years of uptime
	maxAmps        = 1000
	maxWatts       = 1e7
	maxEnergyWs    = 1e13 // ~2.8 GWh in one session
	maxSeconds     = 1e9  // ~31 years
	maxGauge       = 1e9
)

// Status is GET Status.
type Status struct {
	Uptime             time.Duration // TimeStamp: since the box started
	SystemVersion      string
	WiFiInfo           string
	EvseState          EvseState
	ThreePhaseCharging bool
	ActualCurrent      units.Amps
	PPCodedCurrent     units.Amps // 0 when absent (Case C)
	ActualPower        units.Watts
	// ActualPowerAvailable is meaningful only while the box's limiting
	// algorithm runs; PowerAvailableSent says the box sent the field.
	ActualPowerAvailable units.Watts
	PowerAvailableSent   bool
	ActualEnergy         units.WattSeconds
	// Duration is the session time: ActualDurationTotalSeconds when the
	// firmware sends it (v1.1), else parsed from ActualDuration.
	Duration         time.Duration
	AutoStartAllowed bool
	StartStopAllowed bool
	BoostAllowed     bool
	ChargerStarted   bool
	ChargeBoosted    bool
	Meter1Status     int
	Meter2Status     int
}

var statusNames = []string{
	"TimeStamp", "SystemVersion", "WiFiInfo", "EvseState", "ThreePhaseCharging",
	"ActualCurrent", "PPCodedCurrent", "ActualPower", "ActualPowerAvailable",
	"ActualEnergy", "ActualDuration", "ActualDurationTotalSeconds",
	"AutoStartAllowed", "StartStopAllowed", "BoostAllowed", "ChargerStarted",
	"ChargeBoosted", "Meter1Status", "Meter2Status",
}

// DecodeStatus decodes GET Status. The state, the flags and the measured
// values are required; TimeStamp, SystemVersion, WiFiInfo, the meter
// gauges, PPCodedCurrent and ActualPowerAvailable ("only when ...", says
// the guide) may be missing; of the two durations one is needed.
func DecodeStatus(b []byte) (Status, error) {
	ms, err := readObject(b, maxMembers)
	if err != nil {
		return Status{}, docError("Status", err)
	}
	var st Status
	f := newFieldSet("Status")
	var durText string
	var totalSec float64
	for _, m := range ms {
		name := canonical(m.Key, statusNames)
		if name == "" {
			continue
		}
		f.seen[name] = true
		var err error
		switch name {
		case "TimeStamp":
			var v int64
			v, err = whole(m.Raw, 0, maxTimestampMs)
			st.Uptime = time.Duration(v) * time.Millisecond
		case "SystemVersion":
			st.SystemVersion, err = text(m.Raw, 32)
		case "WiFiInfo":
			st.WiFiInfo, err = text(m.Raw, 128)
		case "EvseState":
			var v int64
			v, err = whole(m.Raw, 0, int64(maxState))
			st.EvseState = EvseState(v)
		case "ThreePhaseCharging":
			st.ThreePhaseCharging, err = boolean(m.Raw)
		case "ActualCurrent":
			st.ActualCurrent, err = amps(m.Raw)
		case "PPCodedCurrent":
			st.PPCodedCurrent, err = amps(m.Raw)
		case "ActualPower":
			var v float64
			v, err = number(m.Raw, -maxWatts, maxWatts)
			st.ActualPower = units.Watts(v)
		case "ActualPowerAvailable":
			var v float64
			v, err = number(m.Raw, 0, maxWatts)
			st.ActualPowerAvailable, st.PowerAvailableSent = units.Watts(v), err == nil
		case "ActualEnergy":
			var v float64
			v, err = number(m.Raw, 0, maxEnergyWs)
			st.ActualEnergy = units.WattSeconds(v)
		case "ActualDuration":
			durText, err = text(m.Raw, 32)
		case "ActualDurationTotalSeconds":
			totalSec, err = number(m.Raw, 0, maxSeconds)
		case "AutoStartAllowed":
			st.AutoStartAllowed, err = boolean(m.Raw)
		case "StartStopAllowed":
			st.StartStopAllowed, err = boolean(m.Raw)
		case "BoostAllowed":
			st.BoostAllowed, err = boolean(m.Raw)
		case "ChargerStarted":
			st.ChargerStarted, err = boolean(m.Raw)
		case "ChargeBoosted":
			st.ChargeBoosted, err = boolean(m.Raw)
		case "Meter1Status":
			st.Meter1Status, err = gauge(m.Raw)
		case "Meter2Status":
			st.Meter2Status, err = gauge(m.Raw)
		}
		if err != nil {
			f.fail(name, err)
		}
	}
	f.require("EvseState", "ThreePhaseCharging", "ActualCurrent", "ActualPower",
		"ActualEnergy", "AutoStartAllowed", "StartStopAllowed", "BoostAllowed",
		"ChargerStarted", "ChargeBoosted")
	switch {
	case f.seen["ActualDurationTotalSeconds"]:
		// v1.1: the exact figure; the text form is only for people.
		st.Duration = time.Duration(totalSec) * time.Second
	case f.seen["ActualDuration"]:
		d, err := ParseDuration(durText)
		if err != nil {
			f.fail("ActualDuration", err)
		}
		st.Duration = d
	default:
		f.fail("ActualDuration", errors.New("missing (and no ActualDurationTotalSeconds)"))
	}
	if err := f.err(); err != nil {
		return Status{}, err
	}
	return st, nil
}

func amps(raw []byte) (units.Amps, error) {
	v, err := number(raw, 0, maxAmps)
	return units.Amps(v), err
}

func gauge(raw []byte) (int, error) {
	v, err := whole(raw, 0, maxGauge)
	return int(v), err
}

// ParseDuration reads the session time as the box writes it: the guide's
// example "00h:00m:00s", or "hh:mm:ss" as its table says. Hours may run
// past 99; minutes and seconds are two digits below 60.
func ParseDuration(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("session time %s is not hh:mm:ss", quote(s))
	}
	var vals [3]int64
	for i, suffix := range []string{"h", "m", "s"} {
		p := strings.TrimSuffix(parts[i], suffix)
		if len(p) == 0 || len(p) > 6 || (i > 0 && len(p) != 2) {
			return 0, fmt.Errorf("session time %s is not hh:mm:ss", quote(s))
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("session time %s is not hh:mm:ss", quote(s))
			}
		}
		vals[i], _ = strconv.ParseInt(p, 10, 64) // six digits at most: cannot fail
		if i > 0 && vals[i] >= 60 {
			return 0, fmt.Errorf("session time %s has %s ≥ 60", quote(s), suffix)
		}
	}
	return time.Duration(vals[0])*time.Hour + time.Duration(vals[1])*time.Minute + time.Duration(vals[2])*time.Second, nil
}
