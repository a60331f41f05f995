package meter

import "sort"

// Block is one read request: Count registers of function code FC from
// Start, covering the map registers whose indices are in Regs.
type Block struct {
	FC    uint8
	Start uint16
	Count uint16
	Regs  []int
	// fruitless marks a block whose every part was rejected: it is not
	// bisected again until it has been read once.
	fruitless bool
}

// PlanBlocks groups a map's registers into as few reads as the per-request
// limit allows. Gaps between registers are read along: on a serial line a
// skipped register costs 2 bytes (about 2 ms at 9600 baud) while an extra
// transaction costs a request, two inter-frame gaps and the meter's
// latency (tens of milliseconds), so merging always pays within the limit.
// Blocks start on even addresses and cover even counts because every
// value is two registers at an even address.
func PlanBlocks(m *Map, maxRegs int) []Block {
	idx := make([]int, len(m.Registers))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return less(m.Registers[idx[a]], m.Registers[idx[b]]) })
	var blocks []Block
	for _, i := range idx {
		r := m.Registers[i]
		if n := len(blocks); n > 0 {
			last := &blocks[n-1]
			end := int(r.Addr) + RegisterWords
			if last.FC == r.FC && end-int(last.Start) <= maxRegs {
				last.Count = uint16(end - int(last.Start))
				last.Regs = append(last.Regs, i)
				continue
			}
		}
		blocks = append(blocks, Block{FC: r.FC, Start: r.Addr, Count: RegisterWords, Regs: []int{i}})
	}
	return blocks
}

// Split divides a block of more than one register into two blocks, each
// trimmed to its own registers; ok is false for a single-register block.
// The poller splits a block the meter answered with an exception, so an
// unsupported register or a smaller real limit is found by bisection.
func (b Block) Split(m *Map) (first, second Block, ok bool) {
	if len(b.Regs) < 2 {
		return b, Block{}, false
	}
	h := len(b.Regs) / 2
	return span(m, b.FC, b.Regs[:h]), span(m, b.FC, b.Regs[h:]), true
}

func span(m *Map, fc uint8, regs []int) Block {
	start := m.Registers[regs[0]].Addr
	end := int(m.Registers[regs[len(regs)-1]].Addr) + RegisterWords
	return Block{FC: fc, Start: start, Count: uint16(end - int(start)), Regs: append([]int(nil), regs...)}
}
