package simmeter

import (
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/units"
)

type fixture struct {
	mu  sync.Mutex
	now time.Time
	ph  Phases
}

func (f *fixture) Now() time.Time          { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) Advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }
func (f *fixture) Source() Phases          { f.mu.Lock(); defer f.mu.Unlock(); return f.ph }
func (f *fixture) Set(p Phases)            { f.mu.Lock(); f.ph = p; f.mu.Unlock() }

var charging = Phases{
	Voltage: [3]units.Volts{230, 231, 229.5},
	Current: [3]units.Amps{16, 15.5, 0},
	Power:   [3]units.Watts{3600, 3500, 0},
}

func startServer(t *testing.T) (*Server, *fixture) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	f := &fixture{now: time.Unix(10000, 0), ph: charging}
	s, err := New(Options{Addr: addr, Source: f.Source, Now: f.Now, Log: zerolog.Nop(), Serial: 12345678})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s, f
}

// The meter package's poller reads the simulated meter over real Modbus
// TCP, detects the SDM72D-M-2 by its meter code and sees the source.
func TestPollerReadsSimulatedMeter(t *testing.T) {
	s, f := startServer(t)
	var got []hw.MeterReading
	p, err := meter.NewPoller(meter.Options{Name: "Meter1", Type: meter.TypeIPSDM72DM, Address: s.Addr(),
		Now: f.Now, Log: zerolog.Nop(), OnReading: func(r hw.MeterReading) { got = append(got, r) }})
	if err != nil {
		t.Fatal(err)
	}
	p.Poll()
	if p.MapName() != "SDM72D-M-2" || s.Requests() > 6 {
		t.Fatalf("map %s after %d requests", p.MapName(), s.Requests())
	}
	if len(got) != 1 {
		t.Fatalf("%d readings (%s)", len(got), p.Health().LastError)
	}
	r := got[0]
	if r.Power != 7100 || r.PhaseVoltage != charging.Voltage || r.PhaseCurrent != charging.Current || r.PhasePower != charging.Power {
		t.Errorf("reading %+v", r)
	}
	for _, st := range p.Snapshot() {
		if st.DataStatus() != meter.StatusValid {
			t.Errorf("%s %s", st.Key(), st.DataStatus())
		}
	}
}

func TestEnergyIntegratesOverTime(t *testing.T) {
	s, f := startServer(t)
	s.Values() // first sample: nothing to integrate yet
	f.Advance(30 * time.Minute)
	v := s.Values()
	if v[0x48] != 3.55 || v[0x4A] != 0 || v[0x156] != 3.55 {
		t.Fatalf("after 30 min at 7.1 kW: import %v export %v total %v", v[0x48], v[0x4A], v[0x156])
	}
	export := Phases{Voltage: charging.Voltage, Current: [3]units.Amps{4, 4, 4}, Power: [3]units.Watts{-1000, -500, -500}}
	f.Set(export)
	s.Values() // the new power holds from now
	f.Advance(time.Hour)
	v = s.Values()
	if v[0x48] != 3.55 || v[0x4A] != 2 || v[0x502] != 2000 || v[0x500] != 0 || math.Abs(float64(v[0x18C])-1.55) > 1e-6 {
		t.Errorf("after 1 h exporting 2 kW: import %v export %v net %v", v[0x48], v[0x4A], v[0x18C])
	}
	imp, exp := s.Energy()
	if imp != 3550 || exp != 2000 {
		t.Errorf("Energy() = %v, %v", imp, exp)
	}
}

func TestSimulatedMeterLimits(t *testing.T) {
	s, _ := startServer(t)
	l := meter.NewLink(meter.LinkConfig{URL: "tcp://" + s.Addr(), Timeout: time.Second}, zerolog.Nop())
	defer l.Close()
	if _, err := l.ReadRegisters(1, meter.FCInput, 0, MaxRegs+2); !errors.Is(err, modbus.ErrIllegalDataValue) {
		t.Errorf("62-register read: %v, want an illegal data value exception", err)
	}
	if _, err := l.ReadRegisters(1, meter.FCInput, 1, 2); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("odd start: %v", err)
	}
	b, err := l.ReadRegisters(1, meter.FCHolding, 0xFC00, 3)
	if err != nil || b[4] != 0x00 || b[5] != 0x89 || uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]) != 12345678 {
		t.Errorf("serial and meter code: % x %v", b, err)
	}
	if _, err := l.ReadRegisters(2, meter.FCInput, 0, 2); !meter.IsException(err) {
		t.Errorf("other unit id: %v", err)
	}
}

// mbpoll, an independent Modbus master, reads the values the simulator
// serves. The same command works by hand against a running daemon:
//
//	mbpoll -m tcp -p 1502 -a 1 -0 -t 3:float -B -r 0 -c 26 -1 127.0.0.1
func TestMbpollReadsSimulatedMeter(t *testing.T) {
	const mbpoll = "/usr/bin/mbpoll"
	if _, err := os.Stat(mbpoll); err != nil {
		t.Fatalf("mbpoll missing (apt-get install mbpoll): %v", err)
	}
	s, _ := startServer(t)
	host, port, _ := net.SplitHostPort(s.Addr())
	want := s.Values() // the clock is frozen, so energies do not move
	re := regexp.MustCompile(`\[(\d+)\]:\s+(\S+)`)
	for _, q := range [][2]int{{0, 26}, {0x34, 12}, {0x500, 2}} {
		out, err := exec.Command(mbpoll, "-m", "tcp", "-p", port, "-a", "1", "-0", "-t", "3:float", "-B",
			"-r", strconv.Itoa(q[0]), "-c", strconv.Itoa(q[1]), "-1", host).CombinedOutput()
		if err != nil {
			t.Fatalf("mbpoll: %v\n%s", err, out)
		}
		m := re.FindAllStringSubmatch(string(out), -1)
		if len(m) != q[1] {
			t.Fatalf("mbpoll printed %d values, want %d:\n%s", len(m), q[1], out)
		}
		for _, g := range m {
			addr, _ := strconv.Atoi(g[1])
			v, err := strconv.ParseFloat(g[2], 64)
			if err != nil {
				t.Fatalf("%q: %v", g[2], err)
			}
			w := float64(want[uint16(addr)])
			if math.Abs(v-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Errorf("mbpoll [%d] = %v, simulator serves %v", addr, v, w)
			}
		}
	}
}
