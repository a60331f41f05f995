package sim

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// SetContactorDropout makes C1's contacts (and its feedback) stay closed
// for d after it is commanded open, as a real contactor's mechanical
// release does; 0 (the default) opens it in the same instant.
func (s *Sim) SetContactorDropout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c1Dropout = d
}

// Clock is the simulator's time as an hw.Clock, for Board.Halt's wait
// for C1: Sleep advances the simulation (as Tick does), so C1 drops out
// while a halt waits, without any real waiting.
type Clock Sim

// Now implements hw.Clock: the simulation's time.
func (c *Clock) Now() time.Time {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Sleep implements hw.Clock: the simulation moves on by d.
func (c *Clock) Sleep(d time.Duration) {
	s := (*Sim)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.advance()
}

var _ hw.Clock = (*Clock)(nil)
