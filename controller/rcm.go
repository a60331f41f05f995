package controller

import "time"

// rcmState follows the optional residual-current monitor (hw.Board.RCM):
// its self-test before every session and its trip input. It is kept
// apart from the rest of the machine so the RCM's rules read in one
// place; machine.go calls rcmFault from detectFaults and rcmReady from
// mayClose.
type rcmState struct {
	running bool // a self-test was started and has not reported yet
	passed  bool // the test of this plug-in and session passed
}

// rcmFault enters FaultRCMTrip on a trip and FaultRCMTest on a failed
// self-test, and runs the self-test once a vehicle is connected with a
// session on. It reports whether it entered a fault.
func (m *Machine) rcmFault(now time.Time, level Level) bool {
	dev := m.board.RCM
	if dev == nil {
		return false
	}
	if dev.Tripped() {
		m.rcm = rcmState{}
		m.enterFault(FaultRCMTrip, now)
		return true
	}
	if !connected(level) || !m.session {
		// A new plug-in or a new session needs a new test. A running
		// test is left to finish; its result is then not used.
		m.rcm.passed = false
		if m.rcm.running {
			if done, _ := dev.TestResult(); done {
				m.rcm.running = false
			}
		}
		return false
	}
	switch {
	case m.rcm.passed:
	case !m.rcm.running:
		if m.contactor {
			// A session restarted before the contactor opened: the
			// test masks trips while it runs, so wait for the open.
			break
		}
		dev.StartTest()
		m.rcm.running = true
	default:
		done, ok := dev.TestResult()
		if !done {
			break
		}
		m.rcm.running = false
		if !ok {
			m.enterFault(FaultRCMTest, now)
			return true
		}
		m.rcm.passed = true
	}
	return false
}

// rcmReady reports whether the RCM allows closing: no monitor, or one
// whose self-test passed for this session.
func (m *Machine) rcmReady() bool { return m.board.RCM == nil || m.rcm.passed }
