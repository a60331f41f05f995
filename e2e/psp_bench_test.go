package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// BenchmarkPSPBridge measures the bridge over real Mosquitto with the
// project's simulator daemon as the box (run with -benchtime 200x):
//
//   - command: publishing charging/set → its answer on <base>/result. The
//     answer is published after the box applied the toggle and the bridge
//     read the new state back, so this is "command → applied on the box →
//     confirmed".
//   - state: the box's state changing (a car plugged or unplugged through
//     its /sim/v1, answered once applied) → the bridge's <base>/status
//     showing the new EvseState. The bridge polls every 200 ms here, so
//     this is dominated by the poll period (changes come at random phases
//     of it: expect about half a period, at most one).
func BenchmarkPSPBridge(b *testing.B) {
	b.Run("command", func(b *testing.B) {
		r := startPSPRig(b, "")
		r.box.post("/sim/v1/State", `{"EvPlugged":true}`, nil)
		status := r.o.Subscribe(r.base + "/status")
		r.waitStatus(status, 5*time.Second, "connected", func(s bridgeStatus) bool { return s.EvseState == 4 })
		results := r.o.Subscribe(r.base + "/result")
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			res := r.command(results, "charging/set", [2]string{"OFF", "ON"}[i%2])
			if !res.OK {
				b.Fatalf("command %d: %+v", i, res)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		report(b, lat)
	})
	b.Run("state", func(b *testing.B) {
		r := startPSPRig(b, "")
		status := r.o.Subscribe(r.base + "/status")
		r.waitStatus(status, 5*time.Second, "idle", func(s bridgeStatus) bool { return s.Reachable && s.EvseState == 1 })
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			plug := i%2 == 0
			want := map[bool]int{true: 4, false: 1}[plug]
			// Changes come at random phases of the poll: right after a
			// status, the next poll would always be a whole period away.
			b.StopTimer()
			time.Sleep(rand.N(pspPoll))
			b.StartTimer()
			t0 := time.Now()
			r.box.post("/sim/v1/State", fmt.Sprintf(`{"EvPlugged":%t}`, plug), nil)
			_, at := r.waitStatus(status, 5*time.Second, fmt.Sprint("EvseState ", want), func(s bridgeStatus) bool { return s.EvseState == want })
			lat = append(lat, at.Sub(t0))
		}
		b.StopTimer()
		report(b, lat)
	})
}

func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
