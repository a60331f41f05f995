package controller

import (
	"testing"
	"time"
)

// TestNameTableEdges: every enumeration's first and last value has its
// name, and one step outside either end reads "unknown" instead of
// indexing past the table.
func TestNameTableEdges(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{StateWaiting.String(), "waiting"},
		{StateLockErr.String(), "lock_error"},
		{EvseState(-1).String(), "unknown"},
		{numStates.String(), "unknown"},
		{StateWaiting.VendorName(), "EVSE_WAITING"},
		{StateLockErr.VendorName(), "EVSE_LOCK_ERR_F"},
		{EvseState(-1).VendorName(), "unknown"},
		{numStates.VendorName(), "unknown"},
		{FaultNone.String(), ""},
		{FaultLock.String(), "cable lock failed"},
		{Fault(-1).String(), "unknown fault"},
		{(FaultRCMTest + 1).String(), "unknown fault"},
		{FallbackMinimum.String(), "minimum"},
		{FallbackFixed.String(), "fixed"},
		{Fallback(-1).String(), "unknown"},
		{(FallbackFixed + 1).String(), "unknown"},
		{SourceConfig.String(), "configuration"},
		{SourceFallback.String(), "fallback"},
		{LimitSource(-1).String(), "unknown"},
		{SourceSolar.String(), "solar surplus"},
		{SourceMode.String(), "charging mode"},
		{SourceOCPP.String(), "ocpp"},
		{(SourceOCPP + 1).String(), "unknown"},
		{ModeNow.String(), "now"},
		{ModeMinSolar.String(), "minsolar"},
		{Mode(-1).String(), "unknown"},
		{numModes.String(), "unknown"},
		{PhaseIdle.String(), "idle"},
		{PhaseVerifying.String(), "verifying"},
		{PhaseStep(-1).String(), "unknown"},
		{(PhaseVerifying + 1).String(), "unknown"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if n := len(StateNames()); n != int(numStates) {
		t.Errorf("StateNames has %d names, want %d", n, numStates)
	}
}

// TestChangedThresholds: subscribers hear at once about a power change of
// 100 W or more (either way), a new whole second of a running session and
// anything else but the counters; smaller moves wait for the next
// periodic publication.
func TestChangedThresholds(t *testing.T) {
	base := Status{ActualPower: 1000, PowerAvailable: 5000, Duration: 10*time.Second + 500*time.Millisecond, ChargerStarted: true}
	for _, c := range []struct {
		name string
		edit func(s *Status)
		want bool
	}{
		{"nothing", func(s *Status) {}, false},
		{"power +99 W", func(s *Status) { s.ActualPower += 99 }, false},
		{"power +100 W", func(s *Status) { s.ActualPower += 100 }, true},
		{"power −99 W", func(s *Status) { s.ActualPower -= 99 }, false},
		{"power −100 W", func(s *Status) { s.ActualPower -= 100 }, true},
		{"available +99 W", func(s *Status) { s.PowerAvailable += 99 }, false},
		{"available −100 W", func(s *Status) { s.PowerAvailable -= 100 }, true},
		{"energy", func(s *Status) { s.Energy += 5000 }, false},
		{"same second", func(s *Status) { s.Duration += 400 * time.Millisecond }, false},
		{"next second", func(s *Status) { s.Duration += 500 * time.Millisecond }, true},
		{"state", func(s *Status) { s.State = StateCharge }, true},
	} {
		b := base
		c.edit(&b)
		if got := changed(&base, &b); got != c.want {
			t.Errorf("%s: changed = %v, want %v", c.name, got, c.want)
		}
	}
	// A stopped session's duration is frozen: no second ticks to report.
	a, b := base, base
	a.ChargerStarted, b.ChargerStarted = false, false
	b.Duration += time.Second
	if changed(&a, &b) {
		t.Error("duration of a stopped session reported as a change")
	}
}

// TestStatusPredicates: Problem is any active fault, Charging the
// contactor's feedback (not its command).
func TestStatusPredicates(t *testing.T) {
	if (&Status{}).Problem() || !(&Status{Fault: FaultEPO}).Problem() || !(&Status{Fault: FaultLock}).Problem() {
		t.Error("Problem does not follow the fault")
	}
	if (&Status{ContactorClosed: true}).Charging() || !(&Status{ContactorFeedback: true}).Charging() {
		t.Error("Charging does not follow the feedback")
	}
}
