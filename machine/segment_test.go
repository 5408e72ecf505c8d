package machine

import "testing"

// Sequence comparisons are modulo 2^32 (RFC 9293 3.4, invariant 2).
func TestSeqArithmetic(t *testing.T) {
	const top = 1<<32 - 1
	cases := []struct {
		a, b        uint32
		lt, leq, gt bool
	}{
		{1, 2, true, true, false},
		{top, 0, true, true, false}, // 2^32-1 < 0 across the wrap
		{top - 999, 5, true, true, false},
		{5, top - 999, false, false, true},
		{0, top, false, false, true},
		{top, top, false, true, false},
		{0, 1 << 31, true, true, false}, // exactly half the space: 0-2^31 is -2^31 as int32
		{0, 1<<31 - 1, true, true, false},
	}
	for _, c := range cases {
		if SeqLT(c.a, c.b) != c.lt || SeqLEQ(c.a, c.b) != c.leq || SeqGT(c.a, c.b) != c.gt || SeqGEQ(c.a, c.b) != !c.lt {
			t.Errorf("%d vs %d: LT %v LEQ %v GT %v GEQ %v", c.a, c.b, SeqLT(c.a, c.b), SeqLEQ(c.a, c.b), SeqGT(c.a, c.b), SeqGEQ(c.a, c.b))
		}
	}
	if !SeqInWindow(2, top-3, 10) || SeqInWindow(top-4, top-3, 10) || SeqInWindow(6, top-3, 10) || !SeqInWindow(5, top-3, 10) {
		t.Error("SeqInWindow across the wrap")
	}
	s := Segment{Flags: SYN | FIN, Payload: []byte("ab")}
	if s.Len() != 4 {
		t.Errorf("SEG.LEN of SYN+FIN+2 bytes = %d", s.Len())
	}
}
