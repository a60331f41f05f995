package controller

import (
	"strings"
	"testing"
	"time"
)

// TestHaltedStatusIsConsistent: issue 9 item 16. The last snapshot after
// shutdown (what MQTT publishes last, retained) said State "charging" with
// Charging false and the old current. Halted, it says what the hardware
// does: connected, not started, contactor open, pilot steady, no current.
func TestHaltedStatusIsConsistent(t *testing.T) {
	o := newOwnerRig(t)
	v := o.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	o.sim.SetVehicle(v)
	o.run(3 * time.Second)
	if st := o.c.Status(); st.State != StateCharge || !st.Charging() {
		t.Fatalf("not charging before the stop: %+v", st)
	}
	o.stop()
	st := o.c.Status()
	if st.State != StateConnected || st.ChargerStarted || st.ContactorClosed || st.Charging() ||
		st.DutyPermille != DutySteady || st.ActualCurrent != 0 || st.ActualPower != 0 || st.CurrentLimit != 0 {
		t.Fatalf("halted status inconsistent: state %v started %v contactor %v/%v duty %d current %v power %v limit %v",
			st.State, st.ChargerStarted, st.ContactorClosed, st.Charging(), st.DutyPermille, st.ActualCurrent, st.ActualPower, st.CurrentLimit)
	}
	if !strings.HasPrefix(st.Reason, "stopped") {
		t.Fatalf("reason %q", st.Reason)
	}
}
