package scenario

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// LoadStep is a building with a constant house load that rises by step at
// offset at, and no PV.
func LoadStep(base, step units.Watts, at time.Duration) Building {
	return func(t time.Duration) (units.Watts, units.Watts) {
		if t >= at {
			return base + step, 0
		}
		return base, 0
	}
}

// DayParams shape a synthetic day.
type DayParams struct {
	Seed    uint64
	PVPeak  units.Watts // clear-sky peak at solar noon
	Sunrise time.Duration
	Sunset  time.Duration
	// Cumulus develop from CloudsFrom to CloudsUntil: shade and sun
	// alternate with log-normal durations (medians ShadeMedian and
	// SunMedian), the way convective clouds pass over a roof.
	CloudsFrom, CloudsUntil time.Duration
	ShadeMedian, SunMedian  time.Duration
	BaseLoad                units.Watts // always-on house load
	Appliance               int         // appliance runs over the day (kettle, oven, washer, …)
}

// DefaultDay is a June day with a 10 kWp roof, a clear morning, cumulus
// from 10:00 to 17:00 and an ordinary household.
func DefaultDay(seed uint64) DayParams {
	return DayParams{Seed: seed, PVPeak: 8500, Sunrise: 5 * time.Hour, Sunset: 21 * time.Hour,
		CloudsFrom: 10 * time.Hour, CloudsUntil: 17 * time.Hour, ShadeMedian: 45 * time.Second, SunMedian: 120 * time.Second,
		BaseLoad: 350, Appliance: 30}
}

// Day returns a deterministic 24-hour building trace at 1 s resolution:
// a clear-sky PV curve dimmed by passing clouds (each with soft edges), a
// base load with a cycling fridge, and appliance runs.
func Day(dp DayParams) Building {
	const n = 24 * 3600
	rnd := rand.New(rand.NewPCG(dp.Seed, 0x5eed))
	pv := make([]float32, n)
	house := make([]float32, n)
	dim := make([]float32, n)
	for i := range dim {
		dim[i] = 1
	}
	logNormal := func(median time.Duration, sigma float64) int {
		return max(3, int(median.Seconds()*math.Exp(sigma*rnd.NormFloat64())))
	}
	rise, set := int(dp.Sunrise/time.Second), int(dp.Sunset/time.Second)
	for at := int(dp.CloudsFrom / time.Second); at < int(dp.CloudsUntil/time.Second); {
		at += logNormal(dp.SunMedian, 1)
		length := logNormal(dp.ShadeMedian, 0.8)
		edge := 3 + rnd.IntN(13)          // s to fade in/out
		depth := 0.5 + 0.35*rnd.Float64() // fraction of the light it takes
		for i := at; i < at+length+2*edge && i < n; i++ {
			d := depth
			switch k := i - at; {
			case k < edge:
				d *= float64(k) / float64(edge)
			case k >= length+edge:
				d *= float64(length+2*edge-k) / float64(edge)
			}
			dim[i] = float32(math.Min(float64(dim[i]), 1-d))
		}
		at += length + 2*edge
	}
	for i := rise; i < set; i++ {
		x := math.Sin(math.Pi * float64(i-rise) / float64(set-rise))
		pv[i] = float32(float64(dp.PVPeak) * math.Pow(x, 1.3) * float64(dim[i]) * (0.98 + 0.04*rnd.Float64()))
	}
	for i := range house {
		fridge := 0.0
		if (i/60)%45 < 15 { // on 15 min of every 45
			fridge = 120
		}
		house[i] = float32(float64(dp.BaseLoad) + fridge + 30*rnd.Float64())
	}
	for a := 0; a < dp.Appliance; a++ {
		at := 6*3600 + rnd.IntN(17*3600) // 06:00 … 23:00
		length := 60 + rnd.IntN(30*60)
		w := 500 + 2500*rnd.Float64()
		for i := at; i < at+length && i < n; i++ {
			house[i] += float32(w)
		}
	}
	return func(t time.Duration) (units.Watts, units.Watts) {
		i := int(t / time.Second)
		if i < 0 || i >= n {
			return units.Watts(house[0]), 0
		}
		return units.Watts(math.Round(float64(house[i]))), units.Watts(math.Round(float64(pv[i])))
	}
}
