package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// rideRig is a limiter in mode solar on the grid feed, its car measured
// (meter 1) drawing what it is offered on 3 phases, fed a reading per
// step: the surplus (the car's draw included) is exactly what the test
// sets.
type rideRig struct {
	l   limiter
	s   settings.Settings
	now time.Time
}

func newRideRig() *rideRig {
	s := settings.Defaults()
	s.Meter2Type, s.ControlStrategy = settings.MeterGridFeed, 0
	return &rideRig{l: limiter{p: DefaultLimiterParams()}, s: s, now: epoch}
}

// step advances one tick with surplus w available (the car's draw
// included): the grid shows the car's draw less w.
func (r *rideRig) step(w units.Watts) {
	r.now = r.now.Add(tick)
	car := units.PowerFor(r.l.out, 3)
	r.l.site, r.l.siteOK = hw.MeterReading{At: r.now, Power: car - w}, true
	r.l.update(r.now, &r.s, limitInput{ceiling: 16, phases: 3, mode: ModeSolar, advertised: r.l.out,
		ev: evDraw{measured: true, at: r.now, power: car}})
}

func (r *rideRig) run(w units.Watts, d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.step(w)
	}
}

// The allowance (SolarImport, 100 W) is added to the surplus: a surplus
// of exactly 6 A on 3 phases less the allowance is exactly 6 A.
var sixAmps3p = units.PowerFor(settings.MinCurrent, 3) - DefaultLimiterParams().SolarImport

// TestSolarRideEdges pins the ride at its edges: the surplus carrying
// exactly 6 A is no dip; nothing is ridden before the car charges (the
// solar mode never starts a car on a ride); the ride ends exactly at
// SolarHold; and a control meter that goes stale during a ride takes the
// ride's reason with it.
func TestSolarRideEdges(t *testing.T) {
	t.Run("exactly 6 A is no dip", func(t *testing.T) {
		r := newRideRig()
		r.run(3*sixAmps3p, 30*time.Second)
		r.run(sixAmps3p, 10*time.Second)
		if r.l.out != 6 || r.l.rideReason() != "" || !r.l.dipAt.IsZero() {
			t.Fatalf("out %v, reason %q at exactly 6 A of surplus; want 6 A and no ride", r.l.out, r.l.rideReason())
		}
	})
	t.Run("no start on a ride", func(t *testing.T) {
		r := newRideRig()
		for end := r.now.Add(5 * time.Minute); r.now.Before(end); {
			r.step(sixAmps3p - 1)
			if r.l.out != 0 || !r.l.paused {
				t.Fatalf("%v: out %v paused %v with the surplus 1 W short of 6 A from the start; a ride never starts a car",
					r.now.Sub(epoch), r.l.out, r.l.paused)
			}
		}
	})
	t.Run("the ride ends at SolarHold", func(t *testing.T) {
		r := newRideRig()
		r.run(3*sixAmps3p, 30*time.Second)
		r.step(sixAmps3p - 1) // the dip begins
		began := r.now
		hold := r.l.p.SolarHold
		for r.now.Sub(began) < hold-tick {
			r.step(sixAmps3p - 1)
			if r.l.paused {
				t.Fatalf("paused %v into the dip, before SolarHold %v", r.now.Sub(began), hold)
			}
		}
		if !strings.Contains(r.l.rideReason(), "holding 6 A") {
			t.Fatalf("reason %q during the ride", r.l.rideReason())
		}
		r.step(sixAmps3p - 1) // exactly SolarHold after the dip began
		if !r.l.paused {
			t.Fatalf("not paused exactly SolarHold (%v) after the dip began", r.now.Sub(began))
		}
	})
	t.Run("stale during a ride", func(t *testing.T) {
		r := newRideRig()
		r.run(3*sixAmps3p, 30*time.Second)
		r.run(sixAmps3p-1, 5*time.Second)
		if r.l.rideReason() == "" {
			t.Fatal("no ride to begin with")
		}
		last := r.now // no more readings: the last pair (grid and car) ages
		car := units.PowerFor(r.l.out, 3)
		for end := r.now.Add(r.l.p.MeterStale + time.Second); r.now.Before(end); {
			r.now = r.now.Add(tick)
			r.l.update(r.now, &r.s, limitInput{ceiling: 16, phases: 3, mode: ModeSolar, advertised: r.l.out,
				ev: evDraw{measured: true, at: last, power: car}})
			if !r.l.stale && r.l.rideReason() == "" {
				t.Fatalf("%v after the last reading: the ride ended before the meter went stale", r.now.Sub(last))
			}
		}
		if !r.l.stale || r.l.rideReason() != "" {
			t.Fatalf("stale %v, reason %q: a stale meter's fallback is no ride", r.l.stale, r.l.rideReason())
		}
	})
}
