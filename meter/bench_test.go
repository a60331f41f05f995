package meter

import (
	"testing"
	"time"
)

// One full SDM72D-M-2 poll against the pymodbus TCP peer, in planned
// blocks (this package) versus one value per request (how mbmd and evcc
// read SDM meters). Run:
//
//	go test ./meter -run '^$' -bench FullMap -benchtime 200x
func BenchmarkFullMapBlocks(b *testing.B) {
	addr := freeAddr(b)
	pe := startPeer(b, v2Values(), "--tcp", addr)
	p, err := NewPoller(Options{Name: "Meter1", Type: TypeIPSDM72DM, Address: addr, Log: nopLog,
		Config: Config{Variant: VariantV2, Timeout: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	p.Poll() // connect outside the timing
	link := p.reader.(*Link)
	before, peerBefore := link.Transactions(), pe.count()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Poll()
	}
	b.StopTimer()
	if h := p.Health(); !h.Healthy {
		b.Fatalf("poll failed: %s", h.LastError)
	}
	b.ReportMetric(float64(link.Transactions()-before)/float64(b.N), "transactions/op")
	b.ReportMetric(float64(pe.count()-peerBefore)/float64(b.N), "peer-requests/op")
}

func BenchmarkFullMapOnePerValue(b *testing.B) {
	addr := freeAddr(b)
	pe := startPeer(b, v2Values(), "--tcp", addr)
	link := NewLink(LinkConfig{URL: "tcp://" + addr, Timeout: time.Second}, nopLog)
	defer link.Close()
	m := SDM72DMv2()
	if _, err := link.ReadRegisters(1, FCInput, 0, 2); err != nil {
		b.Fatal(err)
	}
	before, peerBefore := link.Transactions(), pe.count()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range m.Registers {
			raw, err := link.ReadRegisters(1, r.FC, r.Addr, RegisterWords)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeFloat32(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(link.Transactions()-before)/float64(b.N), "transactions/op")
	b.ReportMetric(float64(pe.count()-peerBefore)/float64(b.N), "peer-requests/op")
}

// The same comparison over Modbus RTU on a socat pty pair at 9600 baud.
// A pty does not pace bytes at the baud rate, so this measures the
// per-transaction cost (the library's t3.5 gaps and pymodbus's frame
// handling), not the wire time; see README.md for the wire estimate.
func BenchmarkFullMapBlocksRTU(b *testing.B) {
	master, slave := ptyPair(b)
	pe := startPeer(b, v2Values(), "--serial", slave, "--baud", "9600")
	p, err := NewPoller(Options{Name: "Meter1", Type: TypeRTUSDM72DM, Log: nopLog,
		Config: Config{Device: master, Variant: VariantV2, Timeout: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	p.Poll()
	link := p.reader.(*Link)
	before, peerBefore := link.Transactions(), pe.count()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Poll()
	}
	b.StopTimer()
	if h := p.Health(); !h.Healthy {
		b.Fatalf("poll failed: %s", h.LastError)
	}
	b.ReportMetric(float64(link.Transactions()-before)/float64(b.N), "transactions/op")
	b.ReportMetric(float64(pe.count()-peerBefore)/float64(b.N), "peer-requests/op")
}

func BenchmarkFullMapOnePerValueRTU(b *testing.B) {
	master, slave := ptyPair(b)
	pe := startPeer(b, v2Values(), "--serial", slave, "--baud", "9600")
	link := NewLink(LinkConfig{URL: "rtu://" + master, Baud: 9600, StopBits: 1, Timeout: time.Second}, nopLog)
	defer link.Close()
	m := SDM72DMv2()
	if _, err := link.ReadRegisters(1, FCInput, 0, 2); err != nil {
		b.Fatal(err)
	}
	before, peerBefore := link.Transactions(), pe.count()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range m.Registers {
			if _, err := link.ReadRegisters(1, r.FC, r.Addr, RegisterWords); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(link.Transactions()-before)/float64(b.N), "transactions/op")
	b.ReportMetric(float64(pe.count()-peerBefore)/float64(b.N), "peer-requests/op")
}
