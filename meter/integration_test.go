package meter

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/hw"
)

// checkValues asserts every register was read exactly as served.
func checkValues(t *testing.T, p *Poller, vals map[uint16]float32, wantErrs int) {
	t.Helper()
	snap := p.Snapshot()
	if len(snap) != len(SDM72DMv2().Registers) {
		t.Fatalf("map %s with %d registers, want the SDM72D-M-2 set", p.MapName(), len(snap))
	}
	for _, s := range snap {
		if !s.Valid || s.Value != float64(vals[s.Addr]) || s.ErrCounter != wantErrs {
			t.Errorf("%s: value %v valid %v errs %d; want %v valid errs %d", s.Key(), s.Value, s.Valid, s.ErrCounter, vals[s.Addr], wantErrs)
		}
	}
}

func newPeerPoller(t *testing.T, typ Type, addr string, cfg Config, c *clock, got *[]hw.MeterReading) *Poller {
	t.Helper()
	p, err := NewPoller(Options{Name: "Meter1", Type: typ, Address: addr, Config: cfg, Now: c.Now, Log: nopLog,
		Links: NewLinks(nopLog), OnReading: func(r hw.MeterReading) { *got = append(*got, r) }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Against pymodbus over Modbus TCP: exact values, the whole SDM72D-M-2 set
// in at most 6 transactions (meter code + 5 blocks), then faults.
func TestPymodbusTCP(t *testing.T) {
	vals := v2Values()
	addr := freeAddr(t)
	pe := startPeer(t, vals, "--tcp", addr)
	c := &clock{t: time.Unix(5000, 0)}
	var got []hw.MeterReading
	p := newPeerPoller(t, TypeIPSDM72DM, addr,
		Config{Timeout: 300 * time.Millisecond, Period: time.Second, Staleness: 2 * time.Second}, c, &got)

	p.Poll()
	if n := pe.count(); n > 6 {
		t.Errorf("first poll took %d transactions, want <= 6", n)
	}
	checkValues(t, p, vals, 0)
	if len(got) != 1 || got[0].Power != 475.2041931152344 {
		t.Fatalf("readings %+v", got)
	}
	base := pe.count()
	p.Poll()
	if n := pe.count() - base; n != 5 {
		t.Errorf("steady poll took %d transactions, want 5", n)
	}

	// the peer stops answering: values stay Valid within the staleness
	// limit, then "Not available"; the error counters rise
	pe.cmd("silent")
	c.Advance(time.Second)
	p.Poll()
	c.Advance(1500 * time.Millisecond)
	p.Poll()
	for _, s := range p.Snapshot() {
		if s.Valid || s.ErrCounter != 2 || s.Value != float64(vals[s.Addr]) {
			t.Fatalf("silent: %s %+v", s.Key(), s)
		}
	}
	if h := p.Health(); h.Healthy || h.ConsecutiveFailures != 2 || h.NotAvailable != len(vals) {
		t.Errorf("silent health %+v", h)
	}
	pe.cmd("normal")
	c.Advance(time.Second)
	p.Poll()
	checkValues(t, p, vals, 2)
	if p.ErrorGauge() != 0 || len(got) != 3 {
		t.Errorf("recovered: gauge %d, %d readings", p.ErrorGauge(), len(got))
	}

	// exception responses: counted, nothing delivered, the plan survives
	pe.cmd("exceptions")
	p.Poll()
	if p.ErrorGauge() != 1 || len(got) != 3 {
		t.Errorf("exceptions: gauge %d, %d readings", p.ErrorGauge(), len(got))
	}
	pe.cmd("normal")
	base = pe.count()
	p.Poll()
	if n := pe.count() - base; n != 5 {
		t.Errorf("after exceptions a poll took %d transactions, want 5", n)
	}
	checkValues(t, p, vals, 3)
}

// Over Modbus RTU on a socat pty pair (9600 8N1), pymodbus as the slave.
func TestPymodbusRTU(t *testing.T) {
	vals := v2Values()
	master, slave := ptyPair(t)
	pe := startPeer(t, vals, "--serial", slave, "--baud", "9600")
	c := &clock{t: time.Unix(5000, 0)}
	var got []hw.MeterReading
	p := newPeerPoller(t, TypeRTUSDM72DM, "", Config{Device: master, Timeout: 500 * time.Millisecond}, c, &got)
	p.Poll()
	if n := pe.count(); n > 6 {
		t.Errorf("first poll took %d transactions, want <= 6", n)
	}
	checkValues(t, p, vals, 0)
	if len(got) != 1 || !got[0].HasPhases {
		t.Errorf("readings %+v", got)
	}
}

// relay copies bytes between two ptys and corrupts the next chunk from
// the slave side when armed: a garbled RTU response on the wire.
type relay struct{ armed atomic.Bool }

func (r *relay) run(t *testing.T, masterSide, slaveSide string) {
	open := func(path string) *os.File {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	m, s := open(masterSide), open(slaveSide)
	pump := func(dst, src *os.File, corrupt bool) {
		buf := make([]byte, 512)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if corrupt && n > 0 && r.armed.CompareAndSwap(true, false) {
				buf[n-1] ^= 0xFF
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	go pump(s, m, false)
	go pump(m, s, true)
}

// A garbled RTU frame is counted against the registers of that poll and
// the next poll reads everything again.
func TestRTUGarbledFrameIsCountedAndSurvived(t *testing.T) {
	vals := v2Values()
	master, relayM := ptyPair(t)
	relayS, slave := ptyPair(t)
	pe := startPeer(t, vals, "--serial", slave, "--baud", "9600")
	r := &relay{}
	r.run(t, relayM, relayS)
	c := &clock{t: time.Unix(5000, 0)}
	var got []hw.MeterReading
	p := newPeerPoller(t, TypeRTUSDM72DM, "", Config{Device: master, Variant: VariantV2, Timeout: 500 * time.Millisecond}, c, &got)
	p.Poll()
	checkValues(t, p, vals, 0)
	r.armed.Store(true)
	c.Advance(time.Second)
	p.Poll()
	if r.armed.Load() {
		t.Fatal("the relay never corrupted a frame")
	}
	if p.ErrorGauge() != 1 || len(got) != 1 {
		t.Fatalf("garbled poll: gauge %d, %d readings (%s)", p.ErrorGauge(), len(got), p.Health().LastError)
	}
	c.Advance(time.Second)
	p.Poll()
	checkValues(t, p, vals, 1)
	if p.ErrorGauge() != 0 || len(got) != 2 {
		t.Errorf("after recovery: gauge %d, %d readings", p.ErrorGauge(), len(got))
	}
	_ = pe
}

// Two meters on one serial line share one Link: their polls run
// concurrently but the frames never interleave, so nothing fails.
func TestTwoMetersOnOneSerialLineAreSerialised(t *testing.T) {
	vals := v2Values()
	master, slave := ptyPair(t)
	pe := startPeer(t, vals, "--serial", slave, "--baud", "19200")
	links := NewLinks(nopLog)
	c := &clock{t: time.Unix(5000, 0)}
	var ps []*Poller
	for _, name := range []string{"Meter1", "Meter2"} {
		p, err := NewPoller(Options{Name: name, Type: TypeRTUSDM72DM, Links: links, Now: c.Now, Log: nopLog,
			Control: name == "Meter2", Config: Config{Device: master, Baud: 19200, Variant: VariantV2, Timeout: 500 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	done := make(chan struct{})
	for _, p := range ps {
		go func(p *Poller) {
			for i := 0; i < 4; i++ {
				p.Poll()
			}
			done <- struct{}{}
		}(p)
	}
	for range ps {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("polls did not finish")
		}
	}
	for _, p := range ps {
		checkValues(t, p, vals, 0)
	}
	if n := pe.count(); n != 2*4*5 {
		t.Errorf("peer saw %d requests, want 40", n)
	}
}
