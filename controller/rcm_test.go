package controller

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// fakeRCM is a residual-current monitor whose test takes two reads of
// TestResult and ends as pass says.
type fakeRCM struct {
	tripped     bool
	pass        bool
	started     int
	polls       int
	live        func() bool // the contactor's real state, when set
	startedLive bool        // a test was started with the contactor closed
}

func (f *fakeRCM) Tripped() bool { return f.tripped }
func (f *fakeRCM) StartTest() {
	f.started++
	f.polls = 0
	f.startedLive = f.startedLive || f.live != nil && f.live()
}
func (f *fakeRCM) TestResult() (bool, bool) {
	f.polls++
	return f.polls >= 2, f.pass
}

type rcmRig struct {
	t   *testing.T
	sim *sim.Sim
	m   *Machine
	rcm *fakeRCM
	now time.Time
	st  Status
}

func newRCMRig(t *testing.T, pass bool) *rcmRig {
	r := &rcmRig{t: t, sim: sim.New(epoch), rcm: &fakeRCM{pass: pass}, now: epoch}
	b := r.sim.Board()
	b.RCM = r.rcm
	r.m = NewMachine(b, DefaultParams(), settings.Defaults())
	r.step()
	return r
}

func (r *rcmRig) step() {
	r.now = r.now.Add(tick)
	r.sim.Tick(r.now)
	r.m.Step(r.now)
	r.m.Snapshot(r.now, &r.st)
}

func (r *rcmRig) plug() {
	v := r.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	r.sim.SetVehicle(v)
}

func TestRCMSelfTestPassesBeforeClosing(t *testing.T) {
	r := newRCMRig(t, true)
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
		if r.st.ContactorClosed && r.rcm.started == 0 {
			t.Fatal("contactor closed before the RCM self-test ran")
		}
	}
	if !r.st.ContactorFeedback || r.rcm.started != 1 {
		t.Fatalf("charging %v after %d self-tests, want charging after 1", r.st.ContactorFeedback, r.rcm.started)
	}
}

func TestRCMFailedSelfTestRefusesToClose(t *testing.T) {
	r := newRCMRig(t, false)
	r.plug()
	for i := 0; i < 500; i++ {
		r.step()
		if r.st.ContactorClosed || r.sim.State().Contactor {
			t.Fatal("contactor closed although the RCM self-test failed")
		}
	}
	if r.st.Fault != FaultRCMTest || r.st.State != StateGeneralErr || r.st.State.VendorName() != "EVSE_EV_GENERAL_ERR" {
		t.Fatalf("fault %v state %v, want the RCM test fault as EVSE_EV_GENERAL_ERR", r.st.Fault, r.st.State.VendorName())
	}
	if r.st.Reason != "residual-current monitor self-test failed" {
		t.Fatalf("reason %q", r.st.Reason)
	}
}

func TestRCMTripOpensInTheSameStep(t *testing.T) {
	r := newRCMRig(t, true)
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
	}
	if !r.st.ContactorFeedback {
		t.Fatal("never charged")
	}
	r.rcm.tripped = true
	r.step()
	if r.st.ContactorClosed || r.sim.State().Contactor || r.st.DutyPermille != DutyNegative {
		t.Fatalf("after a trip: contactor %v/%v duty %d, want open and F in the same step", r.st.ContactorClosed, r.sim.State().Contactor, r.st.DutyPermille)
	}
	if r.st.Fault != FaultRCMTrip || r.st.State != StateGeneralErr || r.st.Reason != FaultRCMTrip.String() {
		t.Fatalf("fault %v state %v reason %q", r.st.Fault, r.st.State, r.st.Reason)
	}
	// Unplugged with the trip gone: the fault clears, and the next
	// session tests again.
	r.rcm.tripped = false
	v := r.sim.Vehicle()
	v.Plugged = false
	r.sim.SetVehicle(v)
	for i := 0; i < 300 && r.st.Fault != FaultNone; i++ {
		r.step()
	}
	if r.st.Fault != FaultNone {
		t.Fatalf("fault %v did not clear after unplug", r.st.Fault)
	}
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
	}
	if r.rcm.started != 2 || !r.st.ContactorFeedback {
		t.Fatalf("second session: %d tests, charging %v; want a new test and charging", r.rcm.started, r.st.ContactorFeedback)
	}
}

// TestRCMPendingTestHoldsTheContactorOpen: until the self-test has
// passed, a car in C does not get the contactor.
func TestRCMPendingTestHoldsTheContactorOpen(t *testing.T) {
	r := newRCMRig(t, true)
	slow := &slowRCM{} // its test runs until done is set
	r.m.board.RCM = slow
	r.plug()
	for i := 0; i < 300; i++ {
		r.step()
		if r.st.ContactorClosed || r.sim.State().Contactor {
			t.Fatalf("contactor closed %v after the plug-in with the RCM test still running", time.Duration(i)*tick)
		}
	}
	if !slow.started || r.st.Level != LevelC {
		t.Fatalf("test started %v, level %v: want a car in C waiting for the test", slow.started, r.st.Level)
	}
	slow.done = true
	for i := 0; i < 100 && !r.st.ContactorClosed; i++ {
		r.step()
	}
	if !r.st.ContactorClosed {
		t.Fatal("contactor not closed once the test passed")
	}
}

type slowRCM struct{ started, done bool }

func (s *slowRCM) Tripped() bool            { return false }
func (s *slowRCM) StartTest()               { s.started = true }
func (s *slowRCM) TestResult() (bool, bool) { return s.done, s.done }

// TestRCMNoTestWhileLive: a session stopped and started again before the
// contactor opened does not test the monitor under load (the test masks
// trips while it runs).
func TestRCMNoTestWhileLive(t *testing.T) {
	r := newRCMRig(t, true)
	r.rcm.live = func() bool { return r.sim.State().Contactor }
	r.plug()
	for i := 0; i < 500 && !r.st.ContactorFeedback; i++ {
		r.step()
	}
	if !r.st.ContactorFeedback || r.rcm.started != 1 {
		t.Fatalf("not charging after one test (%d)", r.rcm.started)
	}
	if err := r.m.Stop(r.now); err != nil {
		t.Fatal(err)
	}
	r.step()
	if err := r.m.Start(r.now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		r.step()
	}
	if r.rcm.startedLive {
		t.Fatal("RCM self-test started with the contactor closed")
	}
}
