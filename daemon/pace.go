package daemon

import (
	"net/http"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/pace"
)

// The HTTP pace: requests are admitted at most httpRate a second (after a
// burst of httpBurst) and at most httpInFlight at once. The rest wait,
// parked, costing no CPU, and a client that keeps a connection busy only
// sends its next request after its answer, so a flood of clients cannot
// make the daemon spend more than about 10 % of a core on HTTP: the
// control loop and MQTT commands keep the rest (README, "Control loop
// under load"). A request that cannot be admitted within httpMaxWait gets
// 503. Connection caps are the listener's business (listenHTTP).
const (
	httpRate     = 500
	httpBurst    = 50
	httpInFlight = 2
	httpMaxWait  = 5 * time.Second
)

// The side lane: /healthz and /debug/v1/loop, cheap reads that must
// answer while the WebAPI is flooded (a health probe that times out
// restarts the charger).
const (
	sideRate     = 100
	sideBurst    = 20
	sideInFlight = 2
	sideMaxWait  = time.Second
)

// sideLane sends the given paths to side and everything else to main.
func sideLane(main, side http.Handler, paths ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if r.URL.Path == p {
				side.ServeHTTP(w, r)
				return
			}
		}
		main.ServeHTTP(w, r)
	})
}

// pacer admits requests at a steady rate with a burst and bounds how many
// run at once.
type pacer struct {
	rate    *pace.Rate
	maxWait time.Duration
	slots   chan struct{}
}

func newPacer(perSecond, burst, inFlight int, maxWait time.Duration) *pacer {
	return &pacer{rate: pace.New(perSecond, burst), maxWait: maxWait, slots: make(chan struct{}, inFlight)}
}

func (p *pacer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		giveUp := now.Add(p.maxWait)
		at := p.rate.Reserve(now)
		if at.After(giveUp) {
			busy(w)
			return
		}
		if d := at.Sub(now); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if !p.acquire(r, giveUp) {
			busy(w)
			return
		}
		defer func() { <-p.slots }()
		h.ServeHTTP(w, r)
	})
}

// acquire takes an in-flight slot, waiting until giveUp at most.
func (p *pacer) acquire(r *http.Request, giveUp time.Time) bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(time.Until(giveUp))
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

func busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "busy: too many requests, try again"})
}
