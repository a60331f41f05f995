package webui

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Sample is one point of the chart: what the charger drew, offered and
// was allowed at one instant.
type Sample struct {
	At        time.Time `json:"at"`
	PowerW    float64   `json:"power_w"`
	OfferedA  float64   `json:"offered_a"`
	AvailPowW float64   `json:"available_w"`
}

// History is a fixed ring of samples: the last hour at one sample per
// period, a few kB whatever the uptime.
type History struct {
	mu   sync.Mutex
	ring []Sample
	next int
	full bool
}

// NewHistory keeps the last n samples.
func NewHistory(n int) *History { return &History{ring: make([]Sample, max(n, 1))} }

// Add appends s, dropping the oldest sample when full.
func (h *History) Add(s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// Samples returns the kept samples, oldest first.
func (h *History) Samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]Sample{}, h.ring[:h.next]...)
	}
	return append(append([]Sample{}, h.ring[h.next:]...), h.ring[:h.next]...)
}

// statusFields is the part of the /api/v1/status document the page's
// server side reads.
type statusFields struct {
	State            string    `json:"state"`
	Fault            string    `json:"fault"`
	Reason           string    `json:"reason"`
	CurrentLimit     float64   `json:"current_limit_a"`
	LimitSource      string    `json:"limit_source"`
	LimiterPaused    bool      `json:"limiter_paused"`
	PowerAvail       float64   `json:"power_available_w"`
	ActualPower      float64   `json:"actual_power_w"`
	VehicleConnected bool      `json:"vehicle_connected"`
	ChargerStarted   bool      `json:"charger_started"`
	SessionEnergy    float64   `json:"session_energy_wh"`
	SessionDuration  int64     `json:"session_duration_s"`
	At               time.Time `json:"at"`
}

func (u *UI) current() (statusFields, bool) {
	var s statusFields
	return s, json.Unmarshal(u.o.Status(), &s) == nil
}

func (u *UI) serveHistory(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"period_s": u.o.SampleEvery.Seconds(),
		"samples":  u.history.Samples(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
