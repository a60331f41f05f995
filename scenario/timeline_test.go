package scenario

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
)

var solarTimeline = flag.Int("solar-timeline", 0, "TestSolarTimeline: print the solar day of this seed in half hours (0: skip)")

// timelineLaw records, per half hour, the surplus (the car's draw
// included), the car's draw and the phases of a solar law, and logs its
// phase decisions.
type timelineLaw struct {
	solarLaw
	bins    [48][5]float64
	next    time.Time
	lastWhy string
	log     []string
}

func (d *timelineLaw) Control(now time.Time, m *controller.Machine, site, ev hw.MeterReading) {
	d.solarLaw.Control(now, m, site, ev)
	if now.Before(d.next) || site.At.IsZero() {
		return
	}
	d.next = now.Add(time.Second)
	var st controller.Status
	m.Snapshot(now, &st)
	if st.PhaseReason != d.lastWhy {
		d.lastWhy = st.PhaseReason
		d.log = append(d.log, now.Format("15:04:05 ")+st.PhaseReason)
	}
	x := &d.bins[(now.Hour()*60+now.Minute())/30]
	x[0] += float64(ev.Power - site.Power)
	x[1] += float64(ev.Power)
	x[2] += float64(st.PhasesActive)
	x[3]++
	sur := float64(ev.Power - site.Power)
	x[4] += float64(ev.Power) - min(float64(ev.Power), max(sur, 0)) // import
}

// TestSolarTimeline shows where each law gains or loses over a solar day:
// go test ./scenario -run TestSolarTimeline -solar-timeline 2 -v
func TestSolarTimeline(t *testing.T) {
	if *solarTimeline <= 0 {
		t.Skip("-solar-timeline SEED prints that seed's solar day in half hours")
	}
	o := DefaultOptions()
	o.Day = DefaultDay(uint64(*solarTimeline))
	laws := SolarLaws()
	ds := make([]*timelineLaw, len(laws))
	fs := make([]LawFactory, len(laws))
	for i, f := range laws {
		d := &timelineLaw{solarLaw: f().(solarLaw)}
		ds[i], fs[i] = d, func() Law { return d }
	}
	for _, m := range SolarDay(o, fs) {
		t.Logf("%-60s %6.2f kWh %5.0f Wh %2d switches %3d cycles", m.Law, m.SurplusWh/1000, m.ImportWh, m.PhaseSwitches, m.ContactorCycles)
	}
	t.Logf("ours: %s", strings.Join(ds[0].log, "; "))
	for b := range 48 {
		if ds[0].bins[b][3] == 0 || ds[0].bins[b][0] <= 0 {
			continue
		}
		line := fmt.Sprintf("%02d:%02d surplus %5.0f W", b/2, b%2*30, ds[0].bins[b][0]/ds[0].bins[b][3])
		for _, d := range ds {
			x := d.bins[b]
			line += fmt.Sprintf(" | car %5.0f W %.1fp imp %4.0f", x[1]/x[3], x[2]/x[3], x[4]/x[3])
		}
		t.Log(line)
	}
}
