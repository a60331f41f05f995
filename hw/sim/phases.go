package sim

import "github.com/evse-mqtt/evse-mqtt/hw"

// FaultC2Stuck makes the phase contactor C2 stay where it is whatever it
// is commanded (a welded or jammed C2): its feedback then disagrees with
// the command.
const FaultC2Stuck = "c2_stuck"

// SetPhaseSwitch fits (true) or removes the second contactor C2, which
// connects L2 and L3 (hardware.phase_switch). Without it the supply is
// always three-phase. Call it before Board.
func (s *Sim) SetPhaseSwitch(present bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c2Present = present
}

// supplyPhases is what C2 connects: 3 with C2 closed or absent, else 1;
// s.mu is held.
func (s *Sim) supplyPhases() int {
	if !s.c2Present || s.c2Closed {
		return 3
	}
	return 1
}

// PhaseContactor is the simulator's C2.
type PhaseContactor Sim

// Set implements hw.PhaseContactor: closed connects L2 and L3.
func (c *PhaseContactor) Set(closed bool) {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c2Cmd = closed
	if s.fault != FaultC2Stuck {
		s.c2Closed = closed
	}
	s.advance()
}

// Closed implements hw.PhaseContactor (C2's feedback contact).
func (c *PhaseContactor) Closed() bool {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c2Closed
}

// Halt implements hw.PhaseContactor.
func (c *PhaseContactor) Halt() { c.Set(false) }

var _ hw.PhaseContactor = (*PhaseContactor)(nil)
