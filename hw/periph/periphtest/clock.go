package periphtest

import (
	"sort"
	"sync"
	"time"
)

// Clock is a virtual clock for the driver's Now and AfterFunc: timers
// fire when the test advances it.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer
}

type timer struct {
	at   time.Time
	seq  int
	f    func()
	dead bool
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the virtual time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// AfterFunc runs f once the clock has been advanced by d.
func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.dead
		t.dead = true
		return was
	}
}

// Advance moves the clock to t and runs the timers due by then, in
// order, each at its own time.
func (c *Clock) Advance(t time.Time) {
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.at.Before(b.at) || a.at.Equal(b.at) && a.seq < b.seq
		})
		var due *timer
		for len(c.timers) > 0 && c.timers[0].dead {
			c.timers = c.timers[1:]
		}
		if len(c.timers) > 0 && !c.timers[0].at.After(t) {
			due = c.timers[0]
			c.timers = c.timers[1:]
			due.dead = true
			c.now = due.at
		}
		if due == nil {
			c.now = t
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		due.f()
	}
}
