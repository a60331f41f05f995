package meter

import (
	"errors"
	"math"
	"testing"
)

// Vectors from the Eastron manuals (shared/reference/meters).
func TestDecodeFloat32ManualVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want float32
	}{
		// SDM120M protocol v2.5 §2.1: response 01 04 04 43 66 33 34 1B 38 is "Volts 1 = 230.2"
		{"sdm120 read input volts", []byte{0x43, 0x66, 0x33, 0x34}, 230.2},
		// §2.2: holding read answered 3F 80 00 00 = 1
		{"sdm120 read holding", []byte{0x3F, 0x80, 0x00, 0x00}, 1},
		// §2.3: write node address 60 sends 42 70 00 00
		{"sdm120 write node 60", []byte{0x42, 0x70, 0x00, 0x00}, 60},
		// SDM120 protocol §3.7: 240.5 is 43708000 hex
		{"ieee example 240.5", []byte{0x43, 0x70, 0x80, 0x00}, 240.5},
		{"negative export power", []byte{0xC3, 0x70, 0x80, 0x00}, -240.5},
	} {
		got, err := DecodeFloat32(tc.b)
		// the manual prints 230.2 for 0x43663334, one ulp above float32(230.2)
		if err != nil || math.Abs(float64(got-tc.want)) > 1e-4 {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
		w := EncodeFloat32(got)
		if byte(w[0]>>8) != tc.b[0] || byte(w[0]) != tc.b[1] || byte(w[1]>>8) != tc.b[2] || byte(w[1]) != tc.b[3] {
			t.Errorf("%s: encode gave %04x %04x", tc.name, w[0], w[1])
		}
	}
	if _, err := DecodeFloat32([]byte{0x43, 0x66, 0x33}); !errors.Is(err, ErrShortData) {
		t.Errorf("3 bytes: err %v, want ErrShortData", err)
	}
}

func TestBlockDecode(t *testing.T) {
	m := SDM72DMv1()
	b := PlanBlocks(m, m.MaxRegs)[0] // 0x0034..0x004B: power, import, export
	if b.Start != 0x34 || b.Count != 0x4C-0x34 {
		t.Fatalf("first block %+v", b)
	}
	raw := make([]byte, 2*b.Count)
	put := func(addr uint16, v float32) {
		w := EncodeFloat32(v)
		o := 2 * (addr - b.Start)
		raw[o], raw[o+1], raw[o+2], raw[o+3] = byte(w[0]>>8), byte(w[0]), byte(w[1]>>8), byte(w[1])
	}
	put(0x34, 475.2041931152344)
	put(0x48, 1234.5)
	nan := math.Float32frombits(0x7FC00000)
	put(0x4A, nan)
	vals, err := b.Decode(m, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 3 || vals[0].Value != float32(475.2041931152344) || vals[1].Value != 1234.5 {
		t.Fatalf("values %+v", vals)
	}
	if !errors.Is(vals[2].Err, ErrNotFinite) {
		t.Errorf("NaN register: err %v, want ErrNotFinite", vals[2].Err)
	}
	if _, err := b.Decode(m, raw[:len(raw)-2]); !errors.Is(err, ErrShortData) {
		t.Errorf("short block: err %v", err)
	}
}

func FuzzBlockDecode(f *testing.F) {
	f.Add([]byte{0x43, 0x66, 0x33, 0x34}, uint8(0))
	f.Add(make([]byte, 48), uint8(0))
	f.Add([]byte{0x7F, 0xC0, 0, 0, 1, 2}, uint8(3))
	m := SDM72DMv2()
	blocks := PlanBlocks(m, m.MaxRegs)
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		b := blocks[int(which)%len(blocks)]
		vals, err := b.Decode(m, raw)
		if len(raw) != 2*int(b.Count) {
			if err == nil {
				t.Fatalf("accepted %d bytes for %d registers", len(raw), b.Count)
			}
			return
		}
		if err != nil || len(vals) != len(b.Regs) {
			t.Fatalf("err %v, %d values for %d registers", err, len(vals), len(b.Regs))
		}
		for _, v := range vals {
			if v.Err == nil && (math.IsNaN(float64(v.Value)) || math.IsInf(float64(v.Value), 0)) {
				t.Fatalf("non-finite value without error")
			}
		}
	})
}
