package meter

import (
	"errors"
	"fmt"
	"sort"
)

// Function codes the maps use.
const (
	FCHolding uint8 = 0x03 // read holding registers (settings)
	FCInput   uint8 = 0x04 // read input registers (measurements)
)

// Role says what a register means to the controller. Registers without a
// role are shown in the WebAPI and MQTT but feed nothing.
type Role string

// Roles understood by the controller (via hw.MeterReading).
const (
	RoleNone         Role = ""
	RoleTotalPower   Role = "total_power"
	RoleImportEnergy Role = "import_energy"
	RoleVoltageL1    Role = "voltage_l1"
	RoleVoltageL2    Role = "voltage_l2"
	RoleVoltageL3    Role = "voltage_l3"
	RoleCurrentL1    Role = "current_l1"
	RoleCurrentL2    Role = "current_l2"
	RoleCurrentL3    Role = "current_l3"
	RolePowerL1      Role = "power_l1"
	RolePowerL2      Role = "power_l2"
	RolePowerL3      Role = "power_l3"
)

var knownRoles = map[Role]bool{
	RoleNone: true, RoleTotalPower: true, RoleImportEnergy: true,
	RoleVoltageL1: true, RoleVoltageL2: true, RoleVoltageL3: true,
	RoleCurrentL1: true, RoleCurrentL2: true, RoleCurrentL3: true,
	RolePowerL1: true, RolePowerL2: true, RolePowerL3: true,
}

// phaseRoles are the nine roles that make hw.MeterReading.HasPhases true.
var phaseRoles = []Role{
	RoleVoltageL1, RoleVoltageL2, RoleVoltageL3,
	RoleCurrentL1, RoleCurrentL2, RoleCurrentL3,
	RolePowerL1, RolePowerL2, RolePowerL3,
}

// RegisterWords is the size of every value: an IEEE-754 float32 in two
// registers, high word first (Eastron "ABCD").
const RegisterWords = 2

// Register is one value of a meter's map.
type Register struct {
	FC   uint8  `yaml:"fc"`   // function code: 0x04 input, 0x03 holding
	Addr uint16 `yaml:"addr"` // 0-based PDU address of the high word
	Desc string `yaml:"desc"` // WebAPI description, e.g. "TotalSystemPower[W]"
	Unit string `yaml:"unit"` // W, kWh, V, A, Hz, VA, VAr, kVArh or "" (power factor)
	Role Role   `yaml:"role"` // what the controller uses it for, if anything
}

// Key is the WebAPI key of the register: 0x<fc>_0x<addr>, lower-case hex.
func (r Register) Key() string { return fmt.Sprintf("0x%02x_0x%04x", r.FC, r.Addr) }

// Map is the register table of one meter type.
type Map struct {
	Name string
	// MaxRegs is the most registers the meter answers in one request
	// (60 on the SDM72D-M family, 80 on SDM630-style meters).
	MaxRegs int
	// Verified is false when the map is not confirmed by the maker's
	// documentation (the NMID30-2 guess).
	Verified bool
	// Registers in WebAPI order.
	Registers []Register
}

// HasPhases reports whether the map carries all per-phase voltage, current
// and power roles.
func (m *Map) HasPhases() bool {
	have := map[Role]bool{}
	for _, r := range m.Registers {
		have[r.Role] = true
	}
	for _, r := range phaseRoles {
		if !have[r] {
			return false
		}
	}
	return true
}

// Validate checks that the map can be planned and decoded: known function
// codes and roles, even addresses (Eastron reads start on an even
// address), no overlapping registers, each role at most once, and a
// per-request limit that holds at least one value.
func (m *Map) Validate() error {
	var errs []error
	if m.MaxRegs < RegisterWords || m.MaxRegs > 125 {
		errs = append(errs, fmt.Errorf("max_regs: %d not in %d..125", m.MaxRegs, RegisterWords))
	}
	if len(m.Registers) == 0 {
		errs = append(errs, errors.New("registers: empty"))
	}
	seenRole := map[Role]string{}
	for i, r := range m.Registers {
		p := fmt.Sprintf("registers[%d]", i)
		if r.FC != FCInput && r.FC != FCHolding {
			errs = append(errs, fmt.Errorf("%s.fc: %d is not 3 or 4", p, r.FC))
		}
		if r.Addr%2 != 0 {
			errs = append(errs, fmt.Errorf("%s.addr: 0x%04x is odd", p, r.Addr))
		}
		if int(r.Addr)+RegisterWords > 0x10000 {
			errs = append(errs, fmt.Errorf("%s.addr: 0x%04x past the end of the address space", p, r.Addr))
		}
		if r.Desc == "" {
			errs = append(errs, fmt.Errorf("%s.desc: empty", p))
		}
		if !knownRoles[r.Role] {
			errs = append(errs, fmt.Errorf("%s.role: unknown %q", p, r.Role))
		} else if r.Role != RoleNone {
			if prev, dup := seenRole[r.Role]; dup {
				errs = append(errs, fmt.Errorf("%s.role: %q already used by %s", p, r.Role, prev))
			}
			seenRole[r.Role] = p
		}
	}
	if !hasRole(m, RoleTotalPower) && len(m.Registers) > 0 {
		errs = append(errs, errors.New("registers: no register has role total_power"))
	}
	sorted := append([]Register(nil), m.Registers...)
	sort.Slice(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.FC == b.FC && int(a.Addr)+RegisterWords > int(b.Addr) {
			errs = append(errs, fmt.Errorf("registers: %s overlaps %s", a.Key(), b.Key()))
		}
	}
	return errors.Join(errs...)
}

func hasRole(m *Map, role Role) bool {
	for _, r := range m.Registers {
		if r.Role == role {
			return true
		}
	}
	return false
}

func less(a, b Register) bool {
	if a.FC != b.FC {
		return a.FC < b.FC
	}
	return a.Addr < b.Addr
}
