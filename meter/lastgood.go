package meter

import "time"

// LastGood returns when any register was last read successfully; zero
// when none ever was. The metrics report its age.
func (p *Poller) LastGood() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Time
	for _, r := range p.regs {
		if r.lastGood.After(t) {
			t = r.lastGood
		}
	}
	return t
}

// ReadErrors is the sum of the registers' error counters (each failed
// read of a register counts one), for the metrics' counter.
func (p *Poller) ReadErrors() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.regs {
		n += r.errs
	}
	return n
}
