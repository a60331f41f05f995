package webui

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Event is one line of the page's log of recent events.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // "fault", "session", "vehicle", "limit", "state"
	Text string    `json:"text"`
}

// EventLog keeps the last n events, newest last.
type EventLog struct {
	mu   sync.Mutex
	max  int
	evs  []Event
	prev *statusFields
}

// NewEventLog keeps the last n events.
func NewEventLog(n int) *EventLog { return &EventLog{max: max(n, 1)} }

// Events returns the kept events, oldest first.
func (l *EventLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event{}, l.evs...)
}

func (l *EventLog) add(at time.Time, kind, text string) {
	l.evs = append(l.evs, Event{at, kind, text})
	if len(l.evs) > l.max {
		l.evs = append(l.evs[:0:0], l.evs[len(l.evs)-l.max:]...)
	}
}

// Observe compares s with the previous document and logs what a person
// asking "why is it not charging?" wants to see: faults, sessions, the
// vehicle, the limit in force and its source.
func (l *EventLog) Observe(s statusFields) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.prev
	l.prev = &s
	at := s.At
	if p == nil {
		l.add(at, "state", "daemon running: "+describe(s))
		return
	}
	if s.Fault != p.Fault {
		if s.Fault != "" {
			l.add(at, "fault", "fault: "+s.Fault+reasonSuffix(s.Reason))
		} else {
			l.add(at, "fault", "fault cleared: "+p.Fault)
		}
	}
	if s.VehicleConnected != p.VehicleConnected {
		if s.VehicleConnected {
			l.add(at, "vehicle", "vehicle connected")
		} else {
			l.add(at, "vehicle", "vehicle disconnected")
		}
	}
	if s.ChargerStarted != p.ChargerStarted {
		if s.ChargerStarted {
			l.add(at, "session", "session started")
		} else {
			l.add(at, "session", fmt.Sprintf("session ended: %.1f kWh in %s", p.SessionEnergy/1000, time.Duration(p.SessionDuration)*time.Second))
		}
	}
	if s.LimitSource != p.LimitSource || s.LimiterPaused != p.LimiterPaused || s.CurrentLimit != p.CurrentLimit && s.LimitSource != "configuration" {
		text := fmt.Sprintf("limit %.1f A from %s", s.CurrentLimit, s.LimitSource)
		if s.LimiterPaused {
			text = "limiter paused charging"
		}
		l.add(at, "limit", text+reasonSuffix(s.Reason))
	}
	if s.State != p.State && s.Fault == p.Fault {
		l.add(at, "state", describe(s))
	}
}

func describe(s statusFields) string { return s.State + reasonSuffix(s.Reason) }

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func (u *UI) serveLog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": u.events.Events()})
}

// Run feeds the event log from every status change and the chart from a
// sample each SampleEvery, until ctx ends.
func (u *UI) Run(ctx context.Context) {
	changed, stop := u.o.Subscribe()
	defer stop()
	t := time.NewTicker(u.o.SampleEvery)
	defer t.Stop()
	sample := func() {
		if s, ok := u.current(); ok {
			u.history.Add(Sample{At: u.o.Now(), PowerW: s.ActualPower, OfferedA: s.CurrentLimit, AvailPowW: s.PowerAvail})
		}
	}
	if s, ok := u.current(); ok {
		u.events.Observe(s)
	}
	sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			if s, ok := u.current(); ok {
				u.events.Observe(s)
			}
		case <-t.C:
			sample()
		}
	}
}
