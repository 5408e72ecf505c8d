package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
)

// A corruption spoils a clean capture the way a broken TCP would, at one
// segment; the trace must flag that segment. apply returns the corrupted
// capture and the index of the segment where the deviation must show,
// or ok false when the corruption does not apply at i.
type corruption struct {
	kind  string
	apply func(segs []capSeg, i int) (out []capSeg, at int, ok bool)
}

// side returns the segments' sender: true for A.
func isData(c *capSeg) bool { return len(c.seg.Payload) > 0 }

// fresh reports whether segs[i] begins at or beyond everything its sender
// sent before (not a retransmission).
func fresh(segs []capSeg, i int) bool {
	c := &segs[i]
	for j := range i {
		p := &segs[j]
		if p.fromA == c.fromA && machine.SeqGT(p.seg.Seq+uint32(len(p.seg.Payload)), c.seg.Seq) {
			return false
		}
	}
	return true
}

func clone(segs []capSeg) []capSeg {
	out := slices.Clone(segs)
	for i := range out {
		out[i].seg.Payload = slices.Clone(out[i].seg.Payload)
	}
	return out
}

// shiftAfter moves the sequence numbers of every segment after i from the
// same side back by one, and returns the first such segment's index.
func shiftAfter(segs []capSeg, i int) (int, bool) {
	first := -1
	for j := i + 1; j < len(segs); j++ {
		if segs[j].fromA == segs[i].fromA && segs[j].seg.Flags&machine.RST == 0 {
			segs[j].seg.Seq--
			if first < 0 {
				first = j
			}
		}
	}
	return first, first >= 0
}

func isPlainAck(c *capSeg) bool {
	return c.seg.Flags&(machine.SYN|machine.RST) == 0 && c.seg.Flags&machine.ACK != 0
}

var corruptions = []corruption{
	{"ack-beyond", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		if !isPlainAck(&segs[i]) {
			return nil, 0, false
		}
		out := clone(segs)
		out[i].seg.Ack += 1 << 20
		return out, i, true
	}},
	{"ack-backwards", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		if !isPlainAck(&segs[i]) || !fresh(segs, i) {
			return nil, 0, false
		}
		// The sender's previous ACK, which this one must not fall behind.
		for j := i - 1; j >= 0; j-- {
			p := &segs[j]
			if p.fromA == segs[i].fromA && p.seg.Flags&machine.ACK != 0 && p.seg.Flags&machine.RST == 0 {
				if p.seg.Ack != segs[i].seg.Ack || p.seg.Flags&machine.SYN != 0 {
					break
				}
				out := clone(segs)
				out[i].seg.Ack = p.seg.Ack - 1
				return out, i, true
			}
		}
		return nil, 0, false
	}},
	{"syn-takes-no-seq", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		if segs[i].seg.Flags&machine.SYN == 0 || !fresh(segs, i) {
			return nil, 0, false
		}
		out := clone(segs)
		at, ok := shiftAfter(out, i)
		return out, at, ok
	}},
	{"fin-takes-no-seq", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		if segs[i].seg.Flags&machine.FIN == 0 || !fresh(segs, i) {
			return nil, 0, false
		}
		out := clone(segs)
		at, ok := shiftAfter(out, i)
		return out, at, ok
	}},
	{"rst-answers-rst", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		// After segment i, its receiver aborts (a legitimate RST at its
		// SND.NXT), and the sender answers that RST with a RST.
		c := &segs[i]
		if !isPlainAck(c) || c.seg.Flags&machine.FIN != 0 || i < 3 {
			return nil, 0, false
		}
		abort := capSeg{at: c.at, fromA: !c.fromA, seg: machine.Segment{Seq: c.seg.Ack, Flags: machine.RST}}
		answer := capSeg{at: c.at, fromA: c.fromA, seg: machine.Segment{Seq: c.seg.Seq + uint32(len(c.seg.Payload)), Flags: machine.RST}}
		out := clone(segs[:i+1])
		out = append(out, abort, answer)
		return out, i + 2, true
	}},
	{"beyond-window", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		c := &segs[i]
		if !isData(c) || !fresh(segs, i) || c.seg.Flags&machine.SYN != 0 {
			return nil, 0, false
		}
		edge, ok := rightEdge(segs, i)
		if !ok {
			return nil, 0, false
		}
		n := int(edge-c.seg.Seq) + 1000
		if n <= len(c.seg.Payload) || n > 60000 {
			return nil, 0, false
		}
		out := clone(segs)
		out[i].seg.Payload = make([]byte, n)
		return out, i, true
	}},
	{"skipped-time-wait", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		// segs[i] is the active closer's ACK of the peer's FIN, the last
		// segment of the close: the peer sends its FIN again, and the
		// closer, which skipped TIME-WAIT, answers with RST.
		c := &segs[i]
		if i == 0 || !isPlainAck(c) || isData(c) {
			return nil, 0, false
		}
		fin := -1
		for j := i - 1; j >= 0; j-- {
			if segs[j].fromA != c.fromA && segs[j].seg.Flags&machine.FIN != 0 {
				fin = j
				break
			}
		}
		if fin < 0 || c.seg.Ack != segs[fin].seg.Seq+uint32(len(segs[fin].seg.Payload))+1 {
			return nil, 0, false
		}
		sentFin := false
		for j := range i {
			sentFin = sentFin || segs[j].fromA == c.fromA && segs[j].seg.Flags&machine.FIN != 0
		}
		if !sentFin {
			return nil, 0, false // not the active closer
		}
		again := segs[fin]
		again.at = c.at
		rst := capSeg{at: c.at, fromA: c.fromA, seg: machine.Segment{Seq: again.seg.Ack, Flags: machine.RST}}
		out := clone(segs[:i+1])
		out = append(out, again, rst)
		return out, i + 2, true
	}},
	{"reordered-close", func(segs []capSeg, i int) ([]capSeg, int, bool) {
		// The ACK of a FIN (segs[i]) goes out before the FIN it acknowledges.
		c := &segs[i]
		if !isPlainAck(c) || isData(c) || c.seg.Flags&machine.FIN != 0 {
			return nil, 0, false
		}
		for j := i - 1; j >= 0; j-- {
			p := &segs[j]
			if p.fromA == c.fromA {
				return nil, 0, false
			}
			if p.seg.Flags&machine.FIN != 0 && c.seg.Ack == p.seg.Seq+uint32(len(p.seg.Payload))+1 {
				out := clone(segs)
				ack := out[i]
				copy(out[j+1:i+1], out[j:i])
				out[j] = ack
				return out, j, true
			}
		}
		return nil, 0, false
	}},
}

// rightEdge is the right edge of the window segs[i]'s receiver last
// advertised before i: ACK + window, scaled when both SYNs offered it.
func rightEdge(segs []capSeg, i int) (uint32, bool) {
	rcvFromA := !segs[i].fromA
	shift := -1
	both := 0
	for j := range i {
		s := &segs[j].seg
		if s.Flags&machine.SYN != 0 {
			if s.Opts&machine.OptWScale == 0 {
				both = -10
			} else {
				both++
				if segs[j].fromA == rcvFromA {
					shift = int(s.WScale)
				}
			}
		}
	}
	for j := i - 1; j >= 0; j-- {
		s := &segs[j].seg
		if segs[j].fromA == rcvFromA && s.Flags&machine.ACK != 0 && s.Flags&machine.RST == 0 {
			w := uint32(s.Window)
			if both == 2 && shift > 0 && s.Flags&machine.SYN == 0 {
				w <<= shift
			}
			return s.Ack + w, true
		}
	}
	return 0, false
}

// TestCorruptions is the trace's own mutation test: every kind of
// corruption at every position where it applies, in every scenario (a
// few per kind and scenario), must be flagged at the corrupted segment.
// The bar is 95%; the rate and the misses are logged.
func TestCorruptions(t *testing.T) {
	// The simulated captures are taken where nothing reorders: at both
	// ends (Options.At). Without At, a pure ACK whose number went back
	// is taken as reordered in the network, and TestCorruptionsAnywhere
	// measures that rate.
	corruptionRate(t, Options{At: []netip.Addr{simA, simB}}, 0.95)
}

// TestCorruptionsAnywhere is TestCorruptions for a capture taken anywhere
// on the path: the rate is logged (95.0% when written), the bar 90%.
func TestCorruptionsAnywhere(t *testing.T) { corruptionRate(t, Options{}, 0.9) }

func corruptionRate(t *testing.T, opts Options, bar float64) {
	const perKind = 6
	total, caught := 0, 0
	byKind := map[string][2]int{}
	var misses []string
	for _, sc := range scenarios() {
		segs := record(t, sc)
		for _, co := range corruptions {
			// Spread the positions over the capture.
			var at []int
			for i := range segs {
				if _, _, ok := co.apply(segs, i); ok {
					at = append(at, i)
				}
			}
			if len(at) > perKind {
				step := len(at) / perKind
				var picked []int
				for k := 0; k < perKind; k++ {
					picked = append(picked, at[k*step])
				}
				at = picked
			}
			for _, i := range at {
				out, want, _ := co.apply(segs, i)
				c, _ := runCaptureWith(t, encodePcap(t, out), opts)
				total++
				k := byKind[co.kind]
				k[0]++
				hit := false
				for _, v := range c.segs {
					if v.Seg.Frame == want+1 && v.Deviation != nil {
						hit = true
						if k[1] == 0 {
							t.Logf("%s/%s: %s", sc.name, co.kind, v.Deviation.Why)
						}
					}
				}
				if hit {
					caught++
					k[1]++
				} else {
					misses = append(misses, fmt.Sprintf("%s/%s at frame %d", sc.name, co.kind, want+1))
				}
				byKind[co.kind] = k
			}
		}
	}
	for _, co := range corruptions {
		k := byKind[co.kind]
		t.Logf("%-18s %3d of %3d flagged at the corrupted segment", co.kind, k[1], k[0])
	}
	rate := float64(caught) / float64(total)
	t.Logf("%d of %d corruptions flagged at the corrupted segment: %.1f%%", caught, total, 100*rate)
	for _, m := range misses {
		t.Logf("missed: %s", m)
	}
	if total < 200 {
		t.Errorf("only %d corruptions; want at least 200", total)
	}
	if rate < bar {
		t.Errorf("%.1f%% flagged; want at least %.0f%%", 100*rate, 100*bar)
	}
}
