package meter

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// fakeMeter is an in-memory Reader with Eastron rules: a per-request
// limit, addresses that raise an exception, and a silent mode.
type fakeMeter struct {
	mu     sync.Mutex
	vals   map[uint16]float32
	code   uint16 // meter code at 0xFC02; 0: exception
	limit  int
	reject map[uint16]bool
	silent bool
	calls  int
}

func (f *fakeMeter) ReadRegisters(unit, fc uint8, addr, count uint16) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.silent {
		return nil, modbus.ErrRequestTimedOut
	}
	if fc == FCHolding {
		if addr == CodeRegister && count == 1 && f.code != 0 {
			return []byte{byte(f.code >> 8), byte(f.code)}, nil
		}
		return nil, modbus.ErrIllegalDataAddress
	}
	if int(count) > f.limit {
		return nil, modbus.ErrIllegalDataValue
	}
	out := make([]byte, 2*count)
	for a := addr; a < addr+count; a += 2 {
		if f.reject[a] {
			return nil, modbus.ErrIllegalDataAddress
		}
		w := EncodeFloat32(f.vals[a])
		o := 2 * (a - addr)
		out[o], out[o+1], out[o+2], out[o+3] = byte(w[0]>>8), byte(w[0]), byte(w[1]>>8), byte(w[1])
	}
	return out, nil
}

func (f *fakeMeter) set(fn func(f *fakeMeter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func v2Values() map[uint16]float32 {
	vals := map[uint16]float32{}
	for _, r := range SDM72DMv2().Registers {
		vals[r.Addr] = float32(r.Addr)/2 + 0.25
	}
	vals[0x34] = 475.2041931152344
	vals[0x48] = 12.5 // kWh
	return vals
}

func newTestPoller(t *testing.T, f *fakeMeter, c *clock, variant string, got *[]hw.MeterReading) *Poller {
	t.Helper()
	p, err := NewPoller(Options{
		Name: "Meter1", Type: TypeRTUSDM72DM, Reader: f, Now: c.Now, Log: zerolog.Nop(),
		Config:    Config{Device: "/dev/null", Period: time.Second, Staleness: 3 * time.Second, Variant: variant},
		OnReading: func(r hw.MeterReading) { *got = append(*got, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPollerDetectsV2AndDelivers(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), code: CodeSDM72DMv2, limit: 60}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, "", &got)
	if p.MapName() != "SDM72D-M" {
		t.Fatalf("before detection map %s", p.MapName())
	}
	p.Poll()
	if p.MapName() != "SDM72D-M-2" || f.calls != 1+5 {
		t.Fatalf("map %s after %d calls, want SDM72D-M-2 after 6", p.MapName(), f.calls)
	}
	if len(got) != 1 {
		t.Fatalf("%d readings", len(got))
	}
	r := got[0]
	if r.Power != 475.2041931152344 || r.ImportEnergy != 12500 || !r.HasPhases || r.PhaseVoltage[2] != 2.25 ||
		r.PhaseCurrent[0] != 3.25 || r.PhasePower[1] != 7.25 || !r.At.Equal(c.Now()) {
		t.Errorf("reading %+v", r)
	}
	for _, s := range p.Snapshot() {
		if !s.Valid || s.ErrCounter != 0 || s.Value != float64(f.vals[s.Addr]) {
			t.Errorf("%s: %+v", s.Key(), s)
		}
	}
}

func TestPollerV1WhenNoMeterCode(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), limit: 60}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, VariantAuto, &got)
	p.Poll()
	if p.MapName() != "SDM72D-M" || len(p.Snapshot()) != 9 || len(got) != 1 || got[0].HasPhases {
		t.Fatalf("map %s, %d regs, readings %+v", p.MapName(), len(p.Snapshot()), got)
	}
}

// Staleness over time: valid, then the meter goes silent, registers stay
// valid until the limit, then "Not available"; errors count; recovery.
func TestPollerStalenessAndRecovery(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), code: CodeSDM72DMv2, limit: 60}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, VariantV2, &got)
	steps := []struct {
		silent    bool
		advance   time.Duration
		wantValid bool
		wantErrs  int
		wantGauge int
	}{
		{false, 0, true, 0, 0},
		{true, time.Second, true, 1, 1},
		{true, time.Second, true, 2, 2},
		{true, time.Second, true, 3, 3}, // exactly at the limit: still valid
		{true, time.Second, false, 4, 4},
		{false, time.Second, true, 4, 0},
	}
	for i, s := range steps {
		f.set(func(f *fakeMeter) { f.silent = s.silent })
		c.Advance(s.advance)
		p.Poll()
		for _, st := range p.Snapshot() {
			if st.Valid != s.wantValid || st.ErrCounter != s.wantErrs {
				t.Fatalf("step %d %s: valid %v errs %d, want %v %d", i, st.Key(), st.Valid, st.ErrCounter, s.wantValid, s.wantErrs)
			}
		}
		if g := p.ErrorGauge(); g != s.wantGauge {
			t.Errorf("step %d: gauge %d want %d", i, g, s.wantGauge)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d readings, want 2 (only from good polls)", len(got))
	}
	// a silent meter costs one timeout per poll, not one per block
	f.set(func(f *fakeMeter) { f.silent = true; f.calls = 0 })
	p.Poll()
	if f.calls != 1 {
		t.Errorf("silent poll made %d requests, want 1", f.calls)
	}
}

// A meter that rejects long reads or one address: the poller splits by
// bisection, keeps the smaller plan and reads it without retrying the
// rejected blocks.
func TestPollerSplitsRejectedBlocksAndRemembers(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), limit: 20, reject: map[uint16]bool{0xE0: true}}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, VariantV2, &got)
	p.Poll()
	plan := p.Plan()
	for _, b := range plan {
		if b.Count > 20 && b.FC == FCInput {
			t.Errorf("kept an oversize block %+v", b)
		}
	}
	for _, s := range p.Snapshot() {
		want := s.Addr != 0xE0
		if s.Valid != want {
			t.Errorf("%s valid %v", s.Key(), s.Valid)
		}
	}
	if len(got) != 1 {
		t.Errorf("roles all read, want a reading; got %d", len(got))
	}
	f.set(func(f *fakeMeter) { f.calls = 0 })
	p.Poll()
	if f.calls != len(plan) {
		t.Errorf("second poll made %d requests, plan has %d blocks", f.calls, len(plan))
	}
}

func TestWebAPIShape(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), limit: 60}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, VariantV1, &got)
	// before any read: every register 0 and "Not available"
	checkGolden(t, "webapi_meter1_unread.json", p.WebAPI(1826000))
	p.Poll()
	checkGolden(t, "webapi_meter1_v1.json", p.WebAPI(1826814))
	checkGolden(t, "webapi_meter_none.json", RenderWebAPI("Meter2", 5, nil))
	var v map[string]struct {
		TimeStamp  int64
		ModbusData map[string]struct {
			Desc       string
			ErrCounter int
			Value      float64
			DataStatus string
		}
	}
	if err := json.Unmarshal(p.WebAPI(1), &v); err != nil {
		t.Fatal(err)
	}
	if d := v["Meter1"].ModbusData["0x04_0x0034"]; d.Desc != "TotalSystemPower[W]" || d.Value != 475.2041931152344 || d.DataStatus != "Valid" {
		t.Errorf("0x04_0x0034: %+v", d)
	}
}

// A meter that rejects everything for a while must not leave the poller
// with a plan of single registers afterwards, nor bisect on every poll.
func TestPollerExceptionStormKeepsPlan(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), limit: 60}
	c := &clock{t: time.Unix(1000, 0)}
	var got []hw.MeterReading
	p := newTestPoller(t, f, c, VariantV2, &got)
	p.Poll()
	before := len(p.Plan())
	f.set(func(f *fakeMeter) { f.limit = 0; f.calls = 0 })
	p.Poll()
	if n := len(p.Plan()); n != before {
		t.Fatalf("plan has %d blocks after an exception storm, want %d", n, before)
	}
	f.set(func(f *fakeMeter) { f.calls = 0 })
	p.Poll()
	if f.calls != before {
		t.Errorf("second storm poll made %d requests, want %d (no new bisection)", f.calls, before)
	}
	for _, s := range p.Snapshot() {
		if s.ErrCounter != 2 {
			t.Fatalf("%s errs %d, want 2", s.Key(), s.ErrCounter)
		}
	}
	f.set(func(f *fakeMeter) { f.limit = 60; f.calls = 0 })
	p.Poll()
	if f.calls != before || p.ErrorGauge() != 0 || len(got) != 2 {
		t.Errorf("after recovery: %d requests, gauge %d, %d readings", f.calls, p.ErrorGauge(), len(got))
	}
}

// Run polls at once and then on its period, delivering through the
// callback, and returns when the context ends.
func TestPollerRunDeliversAndStops(t *testing.T) {
	f := &fakeMeter{vals: v2Values(), limit: 60}
	readings := make(chan hw.MeterReading, 8)
	p, err := NewPoller(Options{Name: "Meter2", Type: TypeIPSDM72DM, Address: "127.0.0.1", Reader: f, Log: nopLog,
		Control: true, Config: Config{Variant: VariantV2, Period: 100 * time.Millisecond},
		OnReading: func(r hw.MeterReading) {
			select {
			case readings <- r:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(ctx); close(stopped) }()
	for i := 0; i < 2; i++ {
		select {
		case r := <-readings:
			if r.Power != 475.2041931152344 {
				t.Errorf("reading %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no reading from Run")
		}
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
