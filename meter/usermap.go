package meter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// userMap is the YAML shape of a user-supplied register map:
//
//	name: My meter
//	max_regs: 60
//	registers:
//	  - {fc: 4, addr: 0x0034, desc: "TotalSystemPower[W]", unit: W, role: total_power}
//
// Every value is a float32 in two registers, high word first.
type userMap struct {
	Name      string     `yaml:"name"`
	MaxRegs   int        `yaml:"max_regs"`
	Registers []Register `yaml:"registers"`
}

// ParseUserMap decodes a YAML register map strictly (unknown fields are
// errors) and validates it. User maps count as verified: the user vouches
// for them.
func ParseUserMap(data []byte) (*Map, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var um userMap
	if err := dec.Decode(&um); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("user map: empty document")
		}
		return nil, fmt.Errorf("user map: %w", err)
	}
	if um.Name == "" {
		um.Name = "user map"
	}
	m := &Map{Name: um.Name, MaxRegs: um.MaxRegs, Verified: true, Registers: um.Registers}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("user map %q: %w", um.Name, err)
	}
	return m, nil
}

// LoadUserMap reads and parses a YAML register map file.
func LoadUserMap(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("user map: %w", err)
	}
	m, err := ParseUserMap(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
