package controller

import (
	"slices"
	"strings"
	"testing"
)

// Every request phases/set takes reads back as the name the status
// reports, and follow is one of them (the Home Assistant select offers it
// to undo 1, 3 or auto).
func TestParsePhaseRequestRoundTrip(t *testing.T) {
	cases := map[string]PhaseRequest{
		"follow": PhasesFollow, "Follow": PhasesFollow, "FOLLOW": PhasesFollow,
		"1": Phases1, "3": Phases3, "auto": PhasesAuto, "Auto": PhasesAuto, "AUTO": PhasesAuto,
	}
	for in, want := range cases {
		got, err := ParsePhaseRequest(in)
		if err != nil || got != want {
			t.Errorf("ParsePhaseRequest(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got := PhaseRequestNames(); !slices.Equal(got, []string{"follow", "1", "3", "auto"}) {
		t.Fatalf("PhaseRequestNames() = %v", got)
	}
	for _, name := range PhaseRequestNames() {
		r, err := ParsePhaseRequest(name)
		if err != nil || r.String() != name {
			t.Errorf("%q parses to %v (%v), which names itself %q", name, r, err, r.String())
		}
	}
	for _, bad := range []string{"", "2", "followme", "one", "0"} {
		if _, err := ParsePhaseRequest(bad); err == nil || !strings.Contains(err.Error(), "follow, 1, 3 or auto") {
			t.Errorf("ParsePhaseRequest(%q): %v; want an error listing follow, 1, 3, auto", bad, err)
		}
	}
	if s := PhaseRequest(-1).String(); s != "unknown" {
		t.Errorf("PhaseRequest(-1) = %q", s)
	}
	if s := PhaseRequest(4).String(); s != "unknown" {
		t.Errorf("PhaseRequest(4) = %q", s)
	}
	names := PhaseRequestNames()
	names[0] = "changed"
	if PhaseRequestNames()[0] != "follow" {
		t.Error("PhaseRequestNames hands out its own array")
	}
}

// The status reports the request after every SetPhases, follow included
// (the default, before any request).
func TestStatusReportsPhaseRequest(t *testing.T) {
	r := phaseRig(t, nil)
	if r.st.PhaseRequest != PhasesFollow {
		t.Fatalf("before any request: %v, want follow", r.st.PhaseRequest)
	}
	if err := r.m.SetMode(ModeSolar, r.now); err != nil {
		t.Fatal(err)
	}
	for _, req := range []PhaseRequest{Phases1, Phases3, PhasesAuto, PhasesFollow} {
		if err := r.m.SetPhases(req); err != nil {
			t.Fatalf("SetPhases(%v): %v", req, err)
		}
		r.step()
		if r.st.PhaseRequest != req {
			t.Errorf("after SetPhases(%v): status says %v", req, r.st.PhaseRequest)
		}
	}
}

// Auto is the solar modes' policy: in off and now the charger follows
// Charge3Phase and the status says follow; back in a solar mode, auto is
// in force and reported again. A refused request changes nothing.
func TestPhaseAutoOutsideSolarReadsFollow(t *testing.T) {
	r := phaseRig(t, nil)
	if err := r.m.SetMode(ModeMinSolar, r.now); err != nil {
		t.Fatal(err)
	}
	if err := r.m.SetPhases(PhasesAuto); err != nil {
		t.Fatal(err)
	}
	r.step()
	if r.st.PhaseRequest != PhasesAuto {
		t.Fatalf("minsolar, auto: status %v", r.st.PhaseRequest)
	}
	for _, mode := range []Mode{ModeNow, ModeOff} {
		if err := r.m.SetMode(mode, r.now); err != nil {
			t.Fatal(err)
		}
		r.step()
		if r.st.PhaseRequest != PhasesFollow {
			t.Errorf("mode %v with auto asked for: status %v, want follow", mode, r.st.PhaseRequest)
		}
		// What the status says is what the charger does: Charge3Phase (3p)
		// with no surplus at all and a car connected.
		r.m.plugged, r.m.lim.active, r.m.lim.solarW = true, true, 0
		if got := r.m.phaseTarget(r.now); got != 3 {
			t.Errorf("mode %v with auto asked for: target %dp, want 3p (Charge3Phase)", mode, got)
		}
		r.m.plugged = false
		if err := r.m.SetPhases(PhasesAuto); err != ErrAutoNeedsSolar {
			t.Errorf("auto asked for again in mode %v: %v, want ErrAutoNeedsSolar", mode, err)
		}
	}
	if err := r.m.SetMode(ModeSolar, r.now); err != nil {
		t.Fatal(err)
	}
	r.step()
	if r.st.PhaseRequest != PhasesAuto {
		t.Errorf("back in solar: status %v, want auto again", r.st.PhaseRequest)
	}
}
