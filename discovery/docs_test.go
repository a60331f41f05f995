package discovery

// The documented state and command surface, written out independently of
// the entity table (from /work/shared/spec/webapi-v1.md and the topic
// conventions) so that the rules test can catch a table that names a field
// that does not exist or has the wrong type.

type fieldType int

const (
	tBool fieldType = iota + 1
	tNumber
	tString
	tObject // a nested document; its entity's template picks the member
)

// statusFields: the WebAPI Status object plus the extras on <base>/status.
func statusFields() map[string]fieldType {
	return map[string]fieldType{
		"TimeStamp": tNumber, "SystemVersion": tString, "WiFiInfo": tString, "EvseState": tNumber,
		"ThreePhaseCharging": tBool, "ActualCurrent": tNumber, "PPCodedCurrent": tNumber,
		"ActualPower": tNumber, "ActualPowerAvailable": tNumber, "ActualEnergy": tNumber,
		"ActualDuration": tString, "ActualDurationTotalSeconds": tNumber, "AutoStartAllowed": tBool,
		"StartStopAllowed": tBool, "BoostAllowed": tBool, "ChargerStarted": tBool, "ChargeBoosted": tBool,
		"Meter1Status": tNumber, "Meter2Status": tNumber,
		// extras
		"State": tString, "Reason": tString, "VehicleConnected": tBool, "Charging": tBool,
		"Problem": tBool, "CurrentLimit": tNumber, "LimitSource": tString, "PowerSource": tString,
		"Mode": tString, "LifetimeEnergy": tNumber,
		"PhasesActive": tNumber, "PhaseSwitch": tString, "PhaseSwitches": tNumber, "PhaseReason": tString,
		"PhaseRequest": tString, "OCPP": tObject, // OCPP: present only while OCPP is configured (docs/ocpp.md)
	}
}

// configFields: the SystemConfig object on <base>/config.
func configFields() map[string]fieldType {
	return map[string]fieldType{
		"TimeStamp": tNumber, "SystemVersion": tString, "ChargerMode": tNumber, "LockMethod": tNumber,
		"ChargeCurrent": tNumber, "ChargeCurrentBoost": tNumber, "Meter1Type": tNumber, "Meter1Ip": tString,
		"Meter2Type": tNumber, "Meter2Ip": tString, "PhaseCurrentLimit": tNumber, "ControlStrategy": tNumber,
		"ControlLimit": tNumber, "ChargeAutoStart": tBool, "Charge3Phase": tBool,
	}
}

// writableConfig: the objects POST SystemConfig accepts, so the only
// fields <base>/config/<Field>/set may name.
func writableConfig() map[string]bool {
	return map[string]bool{
		"ChargerMode": true, "LockMethod": true, "ChargeCurrent": true, "ChargeCurrentBoost": true,
		"Meter1Type": true, "Meter1Ip": true, "Meter2Type": true, "Meter2Ip": true,
		"PhaseCurrentLimit": true, "ControlStrategy": true, "ControlLimit": true,
		"ChargeAutoStart": true, "Charge3Phase": true,
	}
}

// stringEnums: status fields whose values are words, and those words (a
// select writes them as they are on its own command topic).
func stringEnums() map[string][]string {
	return map[string][]string{"Mode": {"off", "now", "solar", "minsolar"}, "PhaseRequest": {"follow", "1", "3", "auto"}}
}

// wordCommands: the command topic (relative to the base) that takes the
// words of each stringEnums field (docs/mqtt.md).
func wordCommands() map[string]string {
	return map[string]string{"Mode": "mode/set", "PhaseRequest": "phases/set"}
}

// enumCounts: how many values each numeric SystemConfig enumeration has.
func enumCounts() map[string]int {
	return map[string]int{"ChargerMode": 2, "LockMethod": 2, "ControlStrategy": 2, "Meter1Type": 7, "Meter2Type": 9}
}

// mustBeDiagnostic: fields whose entities describe the charger's health,
// not its function.
func mustBeDiagnostic() map[string]bool {
	return map[string]bool{"Reason": true, "LimitSource": true, "PowerSource": true,
		"Meter1Status": true, "Meter2Status": true, "Problem": true, "OCPP": true}
}

// evseStates: the State names in EvseState order.
func evseStates() []string {
	return []string{"waiting", "idle", "relay_error", "emergency_stop", "connected", "charging",
		"ventilation", "diode_error", "cp_error", "general_error", "pp_error", "lock_error"}
}
