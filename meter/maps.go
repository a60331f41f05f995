package meter

// Built-in register maps, from the Eastron manuals in
// shared/reference/meters (addresses are 0-based PDU addresses: the
// manual's 3xxxx minus 30001).

// ModelCode is the meter code an Eastron meter reports in holding register
// 0xFC02.
const (
	CodeRegister    uint16 = 0xFC02
	CodeSDM72DMv2   uint16 = 0x0089
	CodeSDM120M     uint16 = 0x0020
	limitSDM72D            = 60 // 30 parameters per request (manuals v1.5 and v2 1.1)
	limitSDM630Like        = 80 // 40 parameters per request (SDM630 v2.0, SDM120 protocol)
)

func in(addr uint16, desc, unit string, role Role) Register {
	return Register{FC: FCInput, Addr: addr, Desc: desc, Unit: unit, Role: role}
}

// SDM72DMv1 is the SDM72D-M (manual v1.5): exactly the WebAPI example's
// nine registers with the example's descriptions. It has no per-phase
// values.
func SDM72DMv1() *Map {
	return &Map{Name: "SDM72D-M", MaxRegs: limitSDM72D, Verified: true, Registers: []Register{
		in(0x0034, "TotalSystemPower[W]", "W", RoleTotalPower),
		in(0x0048, "TotalImport[kWh]", "kWh", RoleImportEnergy),
		in(0x004A, "TotalExport[kWh]", "kWh", RoleNone),
		in(0x0156, "Total[kWh]", "kWh", RoleNone),
		in(0x0180, "ResettableTotalActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0184, "ResettableImportActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0186, "ResettableExportActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0500, "TotalImportActivePower[W]", "W", RoleNone),
		in(0x0502, "TotalExportActivePower[W]", "W", RoleNone),
	}}
}

// SDM72DMv2 is the SDM72D-M-2 (manual v1.1, meter code 0x0089): the v1
// set plus per-phase and system values, in address order.
func SDM72DMv2() *Map {
	return &Map{Name: "SDM72D-M-2", MaxRegs: limitSDM72D, Verified: true, Registers: append(phaseVIP(),
		in(0x0012, "Phase1ApparentPower[VA]", "VA", RoleNone),
		in(0x0014, "Phase2ApparentPower[VA]", "VA", RoleNone),
		in(0x0016, "Phase3ApparentPower[VA]", "VA", RoleNone),
		in(0x0018, "Phase1ReactivePower[VAr]", "VAr", RoleNone),
		in(0x001A, "Phase2ReactivePower[VAr]", "VAr", RoleNone),
		in(0x001C, "Phase3ReactivePower[VAr]", "VAr", RoleNone),
		in(0x001E, "Phase1PowerFactor", "", RoleNone),
		in(0x0020, "Phase2PowerFactor", "", RoleNone),
		in(0x0022, "Phase3PowerFactor", "", RoleNone),
		in(0x002A, "AverageLineToNeutralVoltage[V]", "V", RoleNone),
		in(0x002E, "AverageLineCurrent[A]", "A", RoleNone),
		in(0x0030, "SumOfLineCurrents[A]", "A", RoleNone),
		in(0x0034, "TotalSystemPower[W]", "W", RoleTotalPower),
		in(0x0038, "TotalSystemVoltAmps[VA]", "VA", RoleNone),
		in(0x003C, "TotalSystemVAr[VAr]", "VAr", RoleNone),
		in(0x003E, "TotalSystemPowerFactor", "", RoleNone),
		in(0x0046, "Frequency[Hz]", "Hz", RoleNone),
		in(0x0048, "TotalImport[kWh]", "kWh", RoleImportEnergy),
		in(0x004A, "TotalExport[kWh]", "kWh", RoleNone),
		in(0x00C8, "Line1ToLine2Voltage[V]", "V", RoleNone),
		in(0x00CA, "Line2ToLine3Voltage[V]", "V", RoleNone),
		in(0x00CC, "Line3ToLine1Voltage[V]", "V", RoleNone),
		in(0x00CE, "AverageLineToLineVoltage[V]", "V", RoleNone),
		in(0x00E0, "NeutralCurrent[A]", "A", RoleNone),
		in(0x0156, "Total[kWh]", "kWh", RoleNone),
		in(0x0158, "TotalReactiveEnergy[kVArh]", "kVArh", RoleNone),
		in(0x0180, "ResettableTotalActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0184, "ResettableImportActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0186, "ResettableExportActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x018C, "NetImportMinusExport[kWh]", "kWh", RoleNone),
		in(0x0500, "TotalImportActivePower[W]", "W", RoleNone),
		in(0x0502, "TotalExportActivePower[W]", "W", RoleNone),
	)}
}

// SDM120M is the single-phase SDM120M (protocol v2.5). Its phase is
// reported as L1; HasPhases stays false because L2 and L3 do not exist.
func SDM120M() *Map {
	return &Map{Name: "SDM120M", MaxRegs: limitSDM630Like, Verified: true, Registers: []Register{
		in(0x0000, "Voltage[V]", "V", RoleVoltageL1),
		in(0x0006, "Current[A]", "A", RoleCurrentL1),
		in(0x000C, "ActivePower[W]", "W", RoleTotalPower),
		in(0x0012, "ApparentPower[VA]", "VA", RoleNone),
		in(0x0018, "ReactivePower[VAr]", "VAr", RoleNone),
		in(0x001E, "PowerFactor", "", RoleNone),
		in(0x0046, "Frequency[Hz]", "Hz", RoleNone),
		in(0x0048, "ImportActiveEnergy[kWh]", "kWh", RoleImportEnergy),
		in(0x004A, "ExportActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x004C, "ImportReactiveEnergy[kVArh]", "kVArh", RoleNone),
		in(0x004E, "ExportReactiveEnergy[kVArh]", "kVArh", RoleNone),
		in(0x0054, "TotalSystemPowerDemand[W]", "W", RoleNone),
		in(0x0056, "MaximumTotalSystemPowerDemand[W]", "W", RoleNone),
		in(0x0058, "ImportSystemPowerDemand[W]", "W", RoleNone),
		in(0x005A, "MaximumImportSystemPowerDemand[W]", "W", RoleNone),
		in(0x005C, "ExportSystemPowerDemand[W]", "W", RoleNone),
		in(0x005E, "MaximumExportSystemPowerDemand[W]", "W", RoleNone),
		in(0x0102, "CurrentDemand[A]", "A", RoleNone),
		in(0x0108, "MaximumCurrentDemand[A]", "A", RoleNone),
		in(0x0156, "TotalActiveEnergy[kWh]", "kWh", RoleNone),
		in(0x0158, "TotalReactiveEnergy[kVArh]", "kVArh", RoleNone),
	}}
}

// NMID30 is a PROVISIONAL map for the Lumel NMID30-2: its register map is
// not public, and this SDM630-style layout (SDM630 protocol v2.0) is an
// unverified guess. Replace it with a user map once the layout is known.
func NMID30() *Map {
	return &Map{Name: "NMID30-2", MaxRegs: limitSDM630Like, Verified: false, Registers: append(phaseVIP(),
		in(0x0034, "TotalSystemPower[W]", "W", RoleTotalPower),
		in(0x0046, "Frequency[Hz]", "Hz", RoleNone),
		in(0x0048, "TotalImport[kWh]", "kWh", RoleImportEnergy),
		in(0x004A, "TotalExport[kWh]", "kWh", RoleNone),
		in(0x0156, "Total[kWh]", "kWh", RoleNone),
	)}
}

// phaseVIP is the Eastron family's per-phase block at 0x0000–0x0010:
// voltage, current and active power of L1–L3 (the roles the limiter's
// per-phase rule needs), shared by the three-phase maps.
func phaseVIP() []Register {
	return []Register{
		in(0x0000, "Phase1Voltage[V]", "V", RoleVoltageL1),
		in(0x0002, "Phase2Voltage[V]", "V", RoleVoltageL2),
		in(0x0004, "Phase3Voltage[V]", "V", RoleVoltageL3),
		in(0x0006, "Phase1Current[A]", "A", RoleCurrentL1),
		in(0x0008, "Phase2Current[A]", "A", RoleCurrentL2),
		in(0x000A, "Phase3Current[A]", "A", RoleCurrentL3),
		in(0x000C, "Phase1ActivePower[W]", "W", RolePowerL1),
		in(0x000E, "Phase2ActivePower[W]", "W", RolePowerL2),
		in(0x0010, "Phase3ActivePower[W]", "W", RolePowerL3),
	}
}
