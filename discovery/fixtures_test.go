package discovery

// testDevice is the charger the golden file and the rules test describe.
func testDevice() Device {
	return Device{
		ID:                 "abc123",
		Name:               "EVSE",
		SWVersion:          "1.2.3",
		ConfigURL:          "http://192.168.0.40/webapi/v1/Status",
		HardwareMaxCurrent: 32,
		Modes:              true,
		LifetimeEnergy:     true,
		PhaseSwitch:        true,
	}
}

// sdm72v1 is the SDM72D-M v1 map, exactly the WebAPI guide's Meter1 example.
func sdm72v1(meter int) []MeterRegister {
	return []MeterRegister{
		{meter, "0x04_0x0034", "TotalSystemPower[W]", "W"},
		{meter, "0x04_0x0048", "TotalImport[kWh]", "kWh"},
		{meter, "0x04_0x004a", "TotalExport[kWh]", "kWh"},
		{meter, "0x04_0x0156", "Total[kWh]", "kWh"},
		{meter, "0x04_0x0180", "ResettableTotalActiveEnergy[kWh]", "kWh"},
		{meter, "0x04_0x0184", "ResettableImportActiveEnergy[kWh]", "kWh"},
		{meter, "0x04_0x0186", "ResettableExportActiveEnergy[kWh]", "kWh"},
		{meter, "0x04_0x0500", "TotalImportActivePower[W]", "W"},
		{meter, "0x04_0x0502", "TotalExportActivePower[W]", "W"},
	}
}

// sdm72v2 is part of the SDM72D-M-2 map: per-phase values, frequency,
// a net counter and a unit without a device class.
func sdm72v2(meter int) []MeterRegister {
	return []MeterRegister{
		{meter, "0x04_0x0000", "L1Voltage[V]", "V"},
		{meter, "0x04_0x0002", "L2Voltage[V]", "V"},
		{meter, "0x04_0x0004", "L3Voltage[V]", "V"},
		{meter, "0x04_0x0006", "L1Current[A]", "A"},
		{meter, "0x04_0x0008", "L2Current[A]", "A"},
		{meter, "0x04_0x000a", "L3Current[A]", "A"},
		{meter, "0x04_0x0034", "TotalSystemPower[W]", ""},
		{meter, "0x04_0x0038", "TotalSystemVA[VA]", "VA"},
		{meter, "0x04_0x0046", "Frequency[Hz]", "Hz"},
		{meter, "0x04_0x0048", "TotalImport[kWh]", "kWh"},
		{meter, "0x04_0x003e", "TotalPowerFactor", ""},
		{meter, "0x04_0x0158", "TotalReactiveEnergy[kVArh]", "kVArh"},
		{meter, "0x04_0x018c", "NetImportMinusExport[kWh]", "kWh"},
	}
}

// testOptions: meter 1 an SDM72D-M v1, meter 2 an SDM72D-M-2 on Modbus.
func testOptions() Options {
	return Options{
		Enabled:    true,
		Meter1Type: 1,
		Meter2Type: 4,
		Meters:     append(sdm72v1(1), sdm72v2(2)...),
	}
}
