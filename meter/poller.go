package meter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// ErrNotAMeter is returned by NewPoller for types 0 (none) and 7 (remote
// supervisor), which have nothing to poll.
var ErrNotAMeter = errors.New("meter type has no poller")

// Options configure a Poller.
type Options struct {
	Name    string // "Meter1" or "Meter2": log field and WebAPI object name
	Type    Type
	Address string // MeterNIp, for IP types
	Control bool   // the control meter: faster default period
	Config  Config // resolved with Resolve by NewPoller
	// Links shares serial lines and bridges between meters; nil gives the
	// poller a link of its own. Reader, when set, replaces both.
	Links  *Links
	Reader Reader
	// OnReading receives a reading after each poll in which every register
	// with a role was read; it runs on the poller's goroutine and must not
	// block (hand the value to a channel with a non-blocking send).
	OnReading func(hw.MeterReading)
	Now       func() time.Time // defaults to time.Now
	Log       zerolog.Logger
}

// Poller owns one meter: it polls the map in planned blocks on its own
// goroutine (Run) and keeps each register's last good value and health.
// Its accessors are safe to call from any goroutine and never wait for
// the meter.
type Poller struct {
	name      string
	typ       Type
	cfg       Config
	unit      uint8
	reader    Reader
	onReading func(hw.MeterReading)
	now       func() time.Time
	log       zerolog.Logger

	mu       sync.Mutex
	m        *Map
	detect   bool // SDM72D-M variant still to be read from 0xFC02
	plan     []Block
	regs     []regState
	healthy  bool
	started  bool // at least one poll finished
	failures int  // consecutive polls with an error
	lastErr  error
}

type regState struct {
	value    float64
	lastGood time.Time // zero: never read
	errs     int
}

// NewPoller builds the poller for a meter; it does no I/O.
func NewPoller(o Options) (*Poller, error) {
	if !o.Type.IsMeter() {
		return nil, fmt.Errorf("%s: %s: %w", o.Name, o.Type, ErrNotAMeter)
	}
	cfg := o.Config.Resolve(o.Type, o.Control)
	if err := cfg.Validate(o.Name, o.Type, o.Address); err != nil && o.Reader == nil {
		return nil, err
	}
	p := &Poller{
		name: o.Name, typ: o.Type, cfg: cfg, unit: uint8(cfg.UnitID), reader: o.Reader,
		onReading: o.OnReading, now: o.Now,
		log: o.Log.With().Str("component", "meter").Str("meter", o.Name).Logger(),
	}
	if p.now == nil {
		p.now = time.Now
	}
	m, detect, err := initialMap(o.Type, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Name, err)
	}
	p.setMap(m)
	p.detect = detect
	if p.reader == nil {
		lc, err := cfg.LinkConfig(o.Type, o.Address)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		links := o.Links
		if links == nil {
			links = NewLinks(o.Log)
		}
		if p.reader, err = links.Get(lc); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
	}
	return p, nil
}

// initialMap picks the map for a type; detect says an SDM72D-M variant is
// still to be read from the meter (the v1 set is shown until then: it is
// a subset of v2).
func initialMap(t Type, cfg Config) (*Map, bool, error) {
	if cfg.MapFile != "" {
		m, err := LoadUserMap(cfg.MapFile)
		return m, false, err
	}
	switch t.Model() {
	case ModelSDM72DM:
		switch cfg.Variant {
		case VariantV2:
			return SDM72DMv2(), false, nil
		case VariantV1:
			return SDM72DMv1(), false, nil
		}
		return SDM72DMv1(), true, nil
	case ModelSDM120M:
		return SDM120M(), false, nil
	case ModelNMID30:
		return NMID30(), false, nil
	}
	return nil, false, fmt.Errorf("%s: no map", t)
}

func (p *Poller) setMap(m *Map) {
	p.m = m
	p.plan = PlanBlocks(m, m.MaxRegs)
	p.regs = make([]regState, len(m.Registers))
	if !m.Verified {
		p.log.Warn().Str("map", m.Name).Msg("register map is provisional and unverified against the meter's documentation")
	}
}

// Run polls until ctx is done: once at once, then every period. Start it
// with `go p.Run(ctx)`.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Period)
	defer t.Stop()
	for {
		p.Poll()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll runs one poll cycle synchronously; Run calls it on each tick. It
// must not run concurrently with itself. Each register that was not read
// in this cycle (its block failed, or the cycle stopped at the first
// transport error because a silent meter would otherwise cost one timeout
// per block) has its ErrCounter incremented.
func (p *Poller) Poll() {
	if p.detect {
		if err := p.detectVariant(); err != nil {
			p.finish(fmt.Errorf("read meter code: %w", err), true)
			return
		}
	}
	p.mu.Lock()
	m, plan := p.m, p.plan
	p.mu.Unlock()

	var (
		newPlan []Block
		pollErr error
		aborted bool
	)
	got := make(map[int]float32)
	failed := make(map[int]bool)
	// read reads one block and appends what to keep to newPlan; it reports
	// whether any register of the block was read.
	var read func(b Block) bool
	read = func(b Block) bool {
		if aborted {
			newPlan = append(newPlan, b)
			for _, i := range b.Regs {
				failed[i] = true
			}
			return false
		}
		raw, err := p.reader.ReadRegisters(p.unit, b.FC, b.Start, b.Count)
		if err == nil {
			var vals []Value
			if vals, err = b.Decode(m, raw); err == nil {
				b.fruitless = false
				newPlan = append(newPlan, b)
				for _, v := range vals {
					if v.Err != nil {
						failed[v.Index] = true
						pollErr = v.Err
						continue
					}
					got[v.Index] = v.Value
				}
				return true
			}
		}
		pollErr = err
		if isRejection(err) && !b.fruitless {
			if a, c, ok := b.Split(m); ok {
				mark := len(newPlan)
				okA, okC := read(a), read(c)
				if okA || okC {
					p.log.Info().Err(err).Uint16("start", b.Start).Uint16("count", b.Count).
						Msg("meter rejected a block read; split it and keep the smaller blocks")
					return true
				}
				// every part was rejected too: the meter refuses all of it (or
				// everything, for now), so smaller blocks would only cost more
				// requests; keep the block and stop bisecting it until it reads
				newPlan = newPlan[:mark]
				b.fruitless = true
			}
		} else if !IsException(err) {
			aborted = true // the meter or link is gone: do not wait out every block
		}
		newPlan = append(newPlan, b)
		for _, i := range b.Regs {
			failed[i] = true
		}
		return false
	}
	for _, b := range plan {
		read(b)
	}

	now := p.now()
	p.mu.Lock()
	if p.m == m {
		p.plan = newPlan
		for i, v := range got {
			p.regs[i].value = float64(v)
			p.regs[i].lastGood = now
		}
		for i := range failed {
			p.regs[i].errs++
		}
	}
	p.mu.Unlock()
	p.finish(pollErr, false)

	if p.onReading != nil && allRolesRead(m, got) {
		p.onReading(reading(m, got, now))
	}
}

// detectVariant reads the SDM72D-M meter code: 0x0089 is the SDM72D-M-2;
// an exception or another code means the v1 meter, which documents no
// meter code. A transport error leaves the question open.
func (p *Poller) detectVariant() error {
	raw, err := p.reader.ReadRegisters(p.unit, FCHolding, CodeRegister, 1)
	m := SDM72DMv1()
	switch {
	case err == nil && len(raw) == 2 && uint16(raw[0])<<8|uint16(raw[1]) == CodeSDM72DMv2:
		m = SDM72DMv2()
	case err != nil && !IsException(err):
		return err
	}
	p.log.Info().Str("map", m.Name).Msg("meter variant detected")
	p.mu.Lock()
	p.detect = false
	if m.Name != p.m.Name {
		p.setMap(m)
	}
	p.mu.Unlock()
	return nil
}

// finish records the outcome of a poll and logs health changes only.
func (p *Poller) finish(err error, countAll bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if countAll {
		for i := range p.regs {
			p.regs[i].errs++
		}
	}
	wasHealthy, first := p.healthy, !p.started
	p.started = true
	p.lastErr = err
	if err != nil {
		p.failures++
		p.healthy = false
	} else {
		p.failures = 0
		p.healthy = true
	}
	switch {
	case p.healthy && (first || !wasHealthy):
		p.log.Info().Str("map", p.m.Name).Int("blocks", len(p.plan)).Msg("meter readings valid")
	case !p.healthy && (first || wasHealthy):
		p.log.Warn().Err(err).Msg("meter reading failed")
	}
}

func allRolesRead(m *Map, got map[int]float32) bool {
	for i, r := range m.Registers {
		if r.Role == RoleNone {
			continue
		}
		if _, ok := got[i]; !ok {
			return false
		}
	}
	return true
}
