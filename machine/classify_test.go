package machine

import (
	"bytes"
	"fmt"
	"testing"
)

// connsInStates drives loopback pairs into every state and returns a Conn
// in each.
func connsInStates(t *testing.T) map[State]*Conn {
	t.Helper()
	m := map[State]*Conn{}
	keep := func(c *Conn) {
		if _, ok := m[c.State()]; !ok {
			cp := NewConn(c.Config(), c.Tuple())
			c.CopyTo(cp)
			cp.ClearOutbox()
			m[c.State()] = cp
		}
	}
	keep(NewConn(nil, tupleA))

	p := newPair(t, nil, nil)
	p.B().Listen(p.now)
	keep(p.B())
	p.A().Connect(p.now)
	keep(p.A())
	syn := p.collect(0)
	p.B().Input(p.now, &syn[0].seg)
	keep(p.B())
	p.flush()
	keep(p.A())
	p.write(0, []byte("data before close"))
	p.A().Close(p.now)
	keep(p.A()) // FIN-WAIT-1
	p.flush()
	keep(p.A()) // FIN-WAIT-2
	keep(p.B()) // CLOSE-WAIT
	p.B().Close(p.now)
	keep(p.B()) // LAST-ACK
	p.flush()
	keep(p.A()) // TIME-WAIT

	q := newPair(t, nil, nil)
	q.open()
	q.A().Close(q.now)
	q.B().Close(q.now)
	fa, fb := q.collect(0), q.collect(1)
	q.A().Input(q.now, &fb[0].seg)
	keep(q.A()) // CLOSING
	_ = fa
	for s := State(0); s < NumStates; s++ {
		if m[s] == nil {
			t.Fatalf("no Conn reached %v", s)
		}
	}
	return m
}

// flagEvent is the classification of CLOSED, LISTEN and SYN-SENT.
func flagEvent(f Flags, text bool) Event {
	switch {
	case f.Has(RST):
		return EventRcvRst
	case f.Has(SYN | ACK):
		return EventRcvSynack
	case f.Has(SYN):
		return EventRcvSyn
	case !f.Has(ACK):
		return EventRcvNoack
	case f.Has(FIN):
		return EventRcvFin
	case text:
		return EventRcvData
	}
	return EventRcvAck
}

// Every state, every combination of SYN, ACK, RST, FIN, with and without
// text, at SEG.SEQ = RCV.NXT (in window) and SEG.ACK = SND.NXT.
func TestClassifyTable(t *testing.T) {
	conns := connsInStates(t)
	for s := State(0); s < NumStates; s++ {
		c := conns[s]
		v := c.Vars()
		for bitsv := 0; bitsv < 16; bitsv++ {
			var f Flags
			for i, b := range [...]Flags{SYN, ACK, RST, FIN} {
				if bitsv&(1<<i) != 0 {
					f |= b
				}
			}
			for _, text := range []bool{false, true} {
				seg := Segment{Seq: v.RcvNxt, Ack: v.SndNxt, Flags: f, Window: 1000}
				if text {
					seg.Payload = []byte("abc")
				}
				var want Event
				switch s {
				case StateClosed, StateListen, StateSynSent:
					want = flagEvent(f, text)
				default:
					switch {
					case f.Has(RST):
						want = EventRcvRst
					case s == StateTimeWait && f&(SYN|ACK) == SYN:
						want = EventRcvSyn
					default:
						// In window: the flags decide, and a FIN at RCV.NXT
						// (after text at RCV.NXT) is in order.
						want = flagEvent(f, text)
					}
				}
				key := c.AppendKey(nil)
				if got := c.Classify(&seg); got != want {
					t.Errorf("%v: %v text=%v: %v, want %v", s, f, text, got, want)
				}
				if !bytes.Equal(key, c.AppendKey(nil)) {
					t.Fatalf("%v: Classify changed the Conn", s)
				}
			}
		}
	}
}

// The sequence test and trimming in synchronized states (RFC 9293
// 3.10.7.4), including the zero-window cases and TIME-WAIT's exceptions.
func TestClassifySequence(t *testing.T) {
	conns := connsInStates(t)
	est := conns[StateEstablished]
	v := est.Vars()
	nxt, wnd, una := v.RcvNxt, v.RcvWnd, v.SndNxt
	text := func(n int) []byte { return make([]byte, n) }
	type tc struct {
		name string
		seg  Segment
		want Event
	}
	cases := []tc{
		{"ack at RCV.NXT", Segment{Seq: nxt, Ack: una, Flags: ACK}, EventRcvAck},
		{"ack just before RCV.NXT", Segment{Seq: nxt - 1, Ack: una, Flags: ACK}, EventRcvUnacceptable},
		{"ack at the window's last number", Segment{Seq: nxt + wnd - 1, Ack: una, Flags: ACK}, EventRcvAck},
		{"ack beyond the window", Segment{Seq: nxt + wnd, Ack: una, Flags: ACK}, EventRcvUnacceptable},
		{"text straddling the left edge", Segment{Seq: nxt - 2, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvData},
		{"old text", Segment{Seq: nxt - 5, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvUnacceptable},
		{"text straddling the right edge", Segment{Seq: nxt + wnd - 2, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvData},
		{"text beyond the right edge", Segment{Seq: nxt + wnd, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvUnacceptable},
		{"text half the space away", Segment{Seq: nxt + 1<<31, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvUnacceptable},
		{"out-of-order text", Segment{Seq: nxt + 10, Ack: una, Flags: ACK, Payload: text(5)}, EventRcvData},
		{"old text with a new FIN", Segment{Seq: nxt - 5, Ack: una, Flags: ACK | FIN, Payload: text(5)}, EventRcvFin},
		{"straddling text and FIN", Segment{Seq: nxt - 2, Ack: una, Flags: ACK | FIN, Payload: text(5)}, EventRcvFin},
		{"FIN just past a full window", Segment{Seq: nxt, Ack: una, Flags: ACK | FIN, Payload: text(int(wnd))}, EventRcvData},
		{"out-of-order FIN", Segment{Seq: nxt + 3, Ack: una, Flags: ACK | FIN}, EventRcvAck},
		{"out-of-order FIN with text", Segment{Seq: nxt + 3, Ack: una, Flags: ACK | FIN, Payload: text(3)}, EventRcvData},
		{"old FIN", Segment{Seq: nxt - 1, Ack: una, Flags: ACK | FIN}, EventRcvUnacceptable},
		{"SYN in window", Segment{Seq: nxt + 5, Flags: SYN}, EventRcvSyn},
		{"SYN out of window", Segment{Seq: nxt - 100, Flags: SYN}, EventRcvUnacceptable},
		{"SYN+ACK in window", Segment{Seq: nxt, Ack: una, Flags: SYN | ACK}, EventRcvSynack},
		{"RST out of window", Segment{Seq: nxt - 100, Flags: RST}, EventRcvRst},
		{"no ACK, in window", Segment{Seq: nxt, Flags: FIN, Payload: text(2)}, EventRcvNoack},
		{"no ACK, out of window", Segment{Seq: nxt - 9, Flags: PSH, Payload: text(2)}, EventRcvUnacceptable},
	}
	for _, c := range cases {
		if got := est.Classify(&c.seg); got != c.want {
			t.Errorf("ESTABLISHED, %s: %v, want %v", c.name, got, c.want)
		}
	}

	tw := conns[StateTimeWait]
	tv := tw.Vars()
	for _, c := range []tc{
		{"retransmitted FIN", Segment{Seq: tv.RcvNxt - 1, Ack: tv.SndNxt, Flags: ACK | FIN}, EventRcvFin},
		{"retransmitted FIN with text", Segment{Seq: tv.RcvNxt - 4, Ack: tv.SndNxt, Flags: ACK | FIN | PSH, Payload: text(3)}, EventRcvFin},
		{"an older FIN", Segment{Seq: tv.RcvNxt - 2, Ack: tv.SndNxt, Flags: ACK | FIN}, EventRcvUnacceptable},
		{"old SYN (before the sequence test)", Segment{Seq: tv.RcvNxt - 1000, Flags: SYN}, EventRcvSyn},
		{"new SYN", Segment{Seq: tv.RcvNxt + 1000, Flags: SYN}, EventRcvSyn},
		{"old SYN+ACK", Segment{Seq: tv.RcvNxt - 1000, Ack: 1, Flags: SYN | ACK}, EventRcvUnacceptable},
		{"old ACK", Segment{Seq: tv.RcvNxt - 1, Ack: tv.SndNxt, Flags: ACK}, EventRcvUnacceptable},
	} {
		if got := tw.Classify(&c.seg); got != c.want {
			t.Errorf("TIME-WAIT, %s: %v, want %v", c.name, got, c.want)
		}
	}
	// A FIN retransmitted into CLOSE-WAIT is old: the ACK rule answers it.
	cw := conns[StateCloseWait]
	fin := Segment{Seq: cw.Vars().RcvNxt - 1, Ack: cw.Vars().SndNxt, Flags: ACK | FIN}
	if got := cw.Classify(&fin); got != EventRcvUnacceptable {
		t.Errorf("CLOSE-WAIT, retransmitted FIN: %v", got)
	}
}

// RCV.WND = 0: only a zero-length segment at exactly RCV.NXT is acceptable,
// and the ACK of text at exactly RCV.NXT (its text trimmed away).
func TestClassifyZeroWindow(t *testing.T) {
	p := newPair(t, nil, &Config{ISNKey: [16]byte{2}, RcvBuf: 3000})
	p.open()
	p.eager = false
	p.write(0, pattern(3000, 1))
	b := p.B()
	v := b.Vars()
	if v.RcvWnd != 0 || b.Readable() != 3000 {
		t.Fatalf("RCV.WND %d with %d readable; want a full buffer", v.RcvWnd, b.Readable())
	}
	ack := p.A().Vars().SndNxt
	checkClassify(t, b, "zero window", []classifyCase{
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK}, EventRcvAck},
		{Segment{Seq: v.RcvNxt + 1, Ack: ack, Flags: ACK}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt - 1, Ack: ack, Flags: ACK}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK, Payload: []byte{1}}, EventRcvAck}, // its ACK counts
		{Segment{Seq: v.RcvNxt + 1, Ack: ack, Flags: ACK, Payload: []byte{1}}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt, Flags: PSH, Payload: []byte{1}}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK | FIN}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt + 7, Flags: RST}, EventRcvRst},
	})
	// An in-window RST test with a zero window: only the exact one counts.
	rst := Segment{Seq: v.RcvNxt + 1, Flags: RST}
	if r := b.Input(p.now, &rst); r != RuleSyncRcvRstOld {
		t.Errorf("RST next to a zero window: %v", r)
	}
}

// RCV.WND = 1 (all but the last byte of the advertised window taken): text
// starting at RCV.NXT is acceptable whatever its length (RFC 9293
// 3.10.7.4's fourth case; the excess is trimmed), text one byte further
// is not.
func TestClassifyOneByteWindow(t *testing.T) {
	p := newPair(t, nil, &Config{ISNKey: [16]byte{2}, RcvBuf: 3000})
	p.open()
	p.eager = false
	p.write(0, pattern(2999, 1))
	b := p.B()
	v := b.Vars()
	if v.RcvWnd != 1 {
		t.Fatalf("RCV.WND %d with %d readable; the test needs 1", v.RcvWnd, b.Readable())
	}
	ack := p.A().Vars().SndNxt
	checkClassify(t, b, "one-byte window", []classifyCase{
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK, Payload: []byte{1}}, EventRcvData},
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK, Payload: []byte{1, 2, 3}}, EventRcvData},
		{Segment{Seq: v.RcvNxt - 2, Ack: ack, Flags: ACK, Payload: []byte{1, 2, 3}}, EventRcvData},
		{Segment{Seq: v.RcvNxt + 1, Ack: ack, Flags: ACK, Payload: []byte{1}}, EventRcvUnacceptable},
		{Segment{Seq: v.RcvNxt, Ack: ack, Flags: ACK}, EventRcvAck},
		{Segment{Seq: v.RcvNxt + 1, Ack: ack, Flags: ACK}, EventRcvUnacceptable},
	})
}

// classifyCase is a segment and the event Classify must give it.
type classifyCase struct {
	seg  Segment
	want Event
}

// checkClassify classifies each case's segment on c (without input) and
// reports every event that differs, the sequence number relative to
// RCV.NXT.
func checkClassify(t *testing.T, c *Conn, what string, cases []classifyCase) {
	t.Helper()
	nxt := c.Vars().RcvNxt
	for _, k := range cases {
		if got := c.Classify(&k.seg); got != k.want {
			t.Errorf("%s, %v seq=RCV.NXT%+d len=%d: %v, want %v", what, k.seg.Flags, int32(k.seg.Seq-nxt), k.seg.Len(), got, k.want)
		}
	}
}

// Input of every flag combination in every state never panics, never
// answers a RST with a RST, and leaves invariant 3 and 1 intact.
func TestInputEveryState(t *testing.T) {
	conns := connsInStates(t)
	for s := State(0); s < NumStates; s++ {
		for bitsv := 0; bitsv < 64; bitsv++ {
			for _, dseq := range []int32{-3, 0, 1, 1 << 20, -(1 << 30)} {
				for _, dack := range []int32{-1, 0, 1, 5000} {
					c := NewConn(conns[s].Config(), conns[s].Tuple())
					conns[s].CopyTo(c)
					v := c.Vars()
					var f Flags
					for i := 0; i < 6; i++ {
						if bitsv&(1<<i) != 0 {
							f |= 1 << i
						}
					}
					seg := Segment{Seq: v.RcvNxt + uint32(dseq), Ack: v.SndNxt + uint32(dack), Flags: f, Window: 100}
					if bitsv&8 != 0 { // PSH: carry text
						seg.Payload = []byte("xyz")
					}
					name := fmt.Sprintf("%v %v seq%+d ack%+d", s, f, dseq, dack)
					c.Input(0, &seg)
					for _, o := range c.Outbox() {
						if f.Has(RST) && o.Flags.Has(RST) {
							t.Fatalf("%s: answered RST with %v", name, o.Flags)
						}
					}
					checkVars(t, c)
					if c.State() == StateClosed && c.Vars() != (Vars{}) {
						t.Fatalf("%s: CLOSED with a TCB", name)
					}
				}
			}
		}
	}
}
