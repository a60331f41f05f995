package scenario

import (
	"flag"
	"testing"
	"time"
)

var solarSeeds = flag.Int("solar-seeds", 0, "TestSolarDaySeeds: run the solar day on seeds 1…N (0: skip)")

// TestSolarDay is issue 12's acceptance on the 24 h PV-and-house trace
// (seed 1): in solar with auto phases ours charges the most surplus and
// switches less often than the evcc-like law, and of every law that
// charges at least what fixed 3p charges, ours takes the smallest share
// of its energy from the grid. Its import in watt-hours against our own
// limiter at fixed 3p is logged, not asserted: on 1p ours also charges in
// the mornings and evenings, when fixed 3p cannot charge at all, and the
// dips it rides there cost a little import (3 % more on this trace; on
// seeds 2–7 from 4 % more to 15 % less, TestSolarDaySeeds).
func TestSolarDay(t *testing.T) {
	o := DefaultOptions()
	if testing.Short() {
		o.DayFrom, o.DayLength = 9*time.Hour, 9*time.Hour
	}
	began := time.Now()
	rs := SolarDay(o, SolarLaws())
	for _, m := range rs {
		t.Logf("%-60s surplus %6.2f kWh, import %6.0f Wh (%4.1f %% of the car's energy), switches %3d, contactor cycles %3d",
			m.Law, m.SurplusWh/1000, m.ImportWh, 100*gridShare(m), m.PhaseSwitches, m.ContactorCycles)
	}
	t.Logf("%v of virtual time per law in %v", o.DayLength, time.Since(began).Round(time.Millisecond))
	if testing.Short() {
		return // the window 09:00–18:00 leaves out the 1p mornings and evenings
	}
	ours, fixed, evcc := rs[0], rs[1], rs[2]
	for _, m := range rs[1:] {
		if m.SurplusWh >= ours.SurplusWh {
			t.Errorf("%s charged %.0f Wh of surplus, ours %.0f Wh; ours must charge the most", m.Law, m.SurplusWh, ours.SurplusWh)
		}
		if m.SurplusWh+m.ImportWh >= fixed.SurplusWh+fixed.ImportWh && gridShare(m) < gridShare(ours) {
			t.Errorf("%s took %.1f %% of its energy from the grid, ours %.1f %%", m.Law, 100*gridShare(m), 100*gridShare(ours))
		}
	}
	if ours.ImportWh > fixed.ImportWh {
		t.Logf("ours imported %.0f Wh, fixed 3p %.0f Wh (%+.0f %%)", ours.ImportWh, fixed.ImportWh, 100*(ours.ImportWh/fixed.ImportWh-1))
	}
	if ours.PhaseSwitches >= evcc.PhaseSwitches {
		t.Errorf("ours switched %d times, not less than the evcc-like law (%d)", ours.PhaseSwitches, evcc.PhaseSwitches)
	}
}

// gridShare is the share of the car's energy that the surplus did not
// cover.
func gridShare(m Metrics) float64 {
	if m.SurplusWh+m.ImportWh == 0 {
		return 0
	}
	return m.ImportWh / (m.SurplusWh + m.ImportWh)
}

// TestSolarDaySeeds prints the solar day's figures for seeds 1…N, so a
// change of the law is judged on more than one sky:
// go test ./scenario -run TestSolarDaySeeds -solar-seeds 7 -v
func TestSolarDaySeeds(t *testing.T) {
	if *solarSeeds <= 0 {
		t.Skip("-solar-seeds N runs the solar day on seeds 1…N")
	}
	for seed := 1; seed <= *solarSeeds; seed++ {
		o := DefaultOptions()
		o.Day = DefaultDay(uint64(seed))
		for _, m := range SolarDay(o, SolarLaws()) {
			t.Logf("seed %d | %-60s | %6.2f kWh | %5.0f Wh | %4.1f %% | %2d switches | %3d cycles",
				seed, m.Law, m.SurplusWh/1000, m.ImportWh, 100*gridShare(m), m.PhaseSwitches, m.ContactorCycles)
		}
	}
}
