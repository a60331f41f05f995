package scenario

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// beats reports how ours fails to beat ref on energy above the limit and
// contactor cycles (issue 6's acceptance); nil when it does.
func beats(ours, ref Metrics) error {
	var bad []string
	if ours.OverWh >= ref.OverWh {
		bad = append(bad, fmt.Sprintf("energy above the limit %.1f Wh ≥ %.1f Wh", ours.OverWh, ref.OverWh))
	}
	if ours.ContactorCycles >= ref.ContactorCycles {
		bad = append(bad, fmt.Sprintf("contactor cycles %d ≥ %d", ours.ContactorCycles, ref.ContactorCycles))
	}
	if bad != nil {
		return fmt.Errorf("%s does not beat %s: %s", ours.Law, ref.Law, strings.Join(bad, ", "))
	}
	return nil
}

// sunDay is scenario 2 from just before sunrise to just after sunset:
// with an import limit of 0 W nothing can charge at night, so it gives the
// full day's figures in two thirds of the time.
func sunDay(seed uint64) Options {
	o := DefaultOptions()
	o.Day.Seed = seed
	o.DayFrom, o.DayLength = o.Day.Sunrise-10*time.Minute, o.Day.Sunset-o.Day.Sunrise+20*time.Minute
	return o
}

// TestOursBeatsReferences is issue 6's acceptance: over a cloudy PV day
// our limiter puts less energy above the limit and cycles the contactor
// less than both reference laws. The comparison is shown able to fail by
// turning it round.
func TestOursBeatsReferences(t *testing.T) {
	laws := []LawFactory{Ours, SmartEVSE, Evcc}
	res := make([]Metrics, len(laws))
	var wg sync.WaitGroup
	for i, law := range laws {
		wg.Add(1)
		go func() { defer wg.Done(); res[i] = DayRun(sunDay(1), law) }()
	}
	wg.Wait()
	for _, m := range res {
		t.Logf("%-40s over %6.1f Wh  headroom %5.0f Wh  charged %5.2f kWh  duty %4d  pauses %3d  cycles %3d",
			m.Law, m.OverWh, m.HeadroomWh, m.ChargedWh/1000, m.DutyChanges, m.Pauses, m.ContactorCycles)
	}
	ours := res[0]
	if ours.ChargedWh < 10000 || res[2].ContactorCycles < 20 {
		t.Fatalf("the trace does not exercise the laws (charged %.0f Wh, evcc cycles %d)", ours.ChargedWh, res[2].ContactorCycles)
	}
	for _, ref := range res[1:] {
		if err := beats(ours, ref); err != nil {
			t.Error(err)
		}
		if beats(ref, ours) == nil {
			t.Errorf("the comparison cannot fail: %s beats ours too", ref.Law)
		}
	}
	if beats(ours, ours) == nil {
		t.Error("the comparison cannot fail: ours beats itself")
	}
}

// TestStepRecovery: after a +5 kW step our limiter has the site back under
// the limit within meter period + latency + the EV's 2 s response, without
// pausing, and sooner than both reference laws.
func TestStepRecovery(t *testing.T) {
	o := DefaultOptions()
	o.StepOffsets = 4
	laws := []LawFactory{Ours, SmartEVSE, Evcc}
	res := make([]StepResult, len(laws))
	var wg sync.WaitGroup
	for i, law := range laws {
		wg.Add(1)
		go func() { defer wg.Done(); res[i] = Step(o, law) }()
	}
	wg.Wait()
	ours := res[0]
	for _, r := range res {
		t.Logf("%-40s mean %v worst %v over %.1f Wh pauses %d", r.Law, r.Mean, r.Max, r.OverWh, r.Pauses)
	}
	if ours.Max > 3*time.Second || ours.Max < 2*time.Second || ours.Pauses != 0 {
		t.Fatalf("ours: worst %v, %d pauses; want 2…3 s (the EV alone takes 2 s) and no pause", ours.Max, ours.Pauses)
	}
	for _, r := range res[1:] {
		if ours.Mean >= r.Mean || ours.OverWh >= r.OverWh {
			t.Errorf("ours (%v, %.1f Wh) not faster than %s (%v, %.1f Wh)", ours.Mean, ours.OverWh, r.Law, r.Mean, r.OverWh)
		}
	}
}

// TestDayTraceDeterministic: the same seed gives the same day, another
// seed another day.
func TestDayTraceDeterministic(t *testing.T) {
	a, b, c := Day(DefaultDay(7)), Day(DefaultDay(7)), Day(DefaultDay(8))
	same, differ := true, false
	for s := time.Duration(0); s < 24*time.Hour; s += 17 * time.Second {
		ha, pa := a(s)
		hb, pb := b(s)
		hc, pc := c(s)
		same = same && ha == hb && pa == pb
		differ = differ || ha != hc || pa != pc
	}
	if !same || !differ {
		t.Fatalf("same seed same trace %v, other seed other trace %v", same, differ)
	}
	if h, pv := a(13 * time.Hour); pv < 1000 || h < 350 {
		t.Fatalf("13:00: house %v W, PV %v W; want daylight and a base load", h, pv)
	}
	if _, pv := a(2 * time.Hour); pv != 0 {
		t.Fatalf("02:00: PV %v W at night", pv)
	}
}

// TestMarkdown renders a (tiny) report.
func TestMarkdown(t *testing.T) {
	r := Report{Opts: DefaultOptions(), Step: []StepResult{{Law: "x", Mean: time.Second}}, Day: []Metrics{{Law: "x", ContactorCycles: 3}}}
	var b bytes.Buffer
	if err := r.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "| x | 1.0 s |") || !strings.Contains(out, "| 3 |") {
		t.Fatalf("markdown:\n%s", out)
	}
}

// TestLowDrawRecovery is issue 9 item 6 on the scenario runner: with cars
// that draw less than they are offered, our limiter, with meter 1 and
// without it, has the site and every phase back under within EVResponse
// + 1 s of the house step in every case. Before the fix the row without
// meter 1 took 52.0, 19.0 and 52.0 s, and even the row with meter 1 took
// 7.95 s: the limiter had climbed above what the car took, each climb
// left the next readings inside EVResponse of a pilot change, and there
// the first cut assumed the car drew its offer.
func TestLowDrawRecovery(t *testing.T) {
	o := DefaultOptions()
	o.StepOffsets = 2
	bound := controller.DefaultLimiterParams().EVResponse + time.Second
	laws := []LawFactory{Ours, OursNoEVMeter}
	res := make([]LowDrawResult, len(laws))
	var wg sync.WaitGroup
	for i, law := range laws {
		wg.Add(1)
		go func() { defer wg.Done(); res[i] = LowDraw(o, law) }()
	}
	wg.Wait()
	cases := LowDrawCases()
	for _, r := range res {
		for i, d := range r.Max {
			t.Logf("%-40s %-75s back under after %v", r.Law, cases[i].Name, d)
			if d > bound || d == 0 {
				t.Errorf("%s, %s: back under after %v; want within %v (0: the step never overloaded, the case is wrong)", r.Law, cases[i].Name, d, bound)
			}
		}
	}
}
