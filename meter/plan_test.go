package meter

import "testing"

func TestPlanSDM72DMv2FitsInFiveBlocks(t *testing.T) {
	m := SDM72DMv2()
	blocks := PlanBlocks(m, m.MaxRegs)
	if len(blocks) != 5 {
		t.Fatalf("%d blocks, want 5: %+v", len(blocks), blocks)
	}
	want := [][2]uint16{{0x0000, 0x3A}, {0x003C, 0x10}, {0x00C8, 0x1A}, {0x0156, 0x38}, {0x0500, 4}}
	for i, b := range blocks {
		if b.Start != want[i][0] || b.Count != want[i][1] {
			t.Errorf("block %d = 0x%04x+%d, want 0x%04x+%d", i, b.Start, b.Count, want[i][0], want[i][1])
		}
	}
}

func TestPlanV1(t *testing.T) {
	m := SDM72DMv1()
	if got := len(PlanBlocks(m, m.MaxRegs)); got != 3 {
		t.Errorf("v1: %d blocks, want 3", got)
	}
}

// Every register is read exactly once, within the limit, from an even
// start, for every map and a range of limits.
func TestPlanCoversEveryRegisterWithinLimit(t *testing.T) {
	for _, m := range []*Map{SDM72DMv1(), SDM72DMv2(), SDM120M(), NMID30()} {
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		for limit := 2; limit <= 125; limit += 2 {
			seen := make([]int, len(m.Registers))
			for _, b := range PlanBlocks(m, limit) {
				if int(b.Count) > limit || b.Start%2 != 0 || b.Count%2 != 0 {
					t.Fatalf("%s limit %d: bad block %+v", m.Name, limit, b)
				}
				for _, i := range b.Regs {
					r := m.Registers[i]
					if r.FC != b.FC || r.Addr < b.Start || int(r.Addr)+2 > int(b.Start)+int(b.Count) {
						t.Fatalf("%s: register %s outside block %+v", m.Name, r.Key(), b)
					}
					seen[i]++
				}
			}
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("%s limit %d: register %s read %d times", m.Name, limit, m.Registers[i].Key(), n)
				}
			}
		}
	}
}

func TestBlockSplit(t *testing.T) {
	m := SDM72DMv2()
	b := PlanBlocks(m, m.MaxRegs)[3] // 0x0156..0x018D, 6 registers
	a, c, ok := b.Split(m)
	if !ok || len(a.Regs)+len(c.Regs) != len(b.Regs) {
		t.Fatalf("split %+v -> %+v %+v", b, a, c)
	}
	if a.Start != 0x156 || a.Count != 0x182-0x156 || c.Start != 0x184 || c.Count != 0x18E-0x184 {
		t.Errorf("halves 0x%x+%d 0x%x+%d", a.Start, a.Count, c.Start, c.Count)
	}
	one := Block{FC: FCInput, Start: 0x500, Count: 2, Regs: []int{len(m.Registers) - 2}}
	if _, _, ok := one.Split(m); ok {
		t.Error("a single register block split")
	}
}
