package machine

import (
	"bytes"
	"testing"
)

// RFC 9293 3.10.7.4: with RCV.WND zero, "special allowance should be made
// to accept valid ACKs". A zero-window probe from A carries the only ACK of
// data B sent (A's pure ACK was lost): B must process that ACK and answer
// the probe with an ACK showing the window still closed; once B reads, the
// transfer completes intact both ways.
func TestZeroWindowProbeCarriesACK(t *testing.T) {
	p := newPair(t, nil, &Config{ISNKey: [16]byte{2}, RcvBuf: 3000})
	p.open()
	p.eager = false
	data := pattern(8000, 3)
	if n, err := p.A().Write(p.now, data); err != nil || n != len(data) {
		t.Fatal(n, err)
	}
	p.flush()
	for i := 0; p.A().Vars().SndWnd != 0; i++ {
		if i > 5 || !p.advance() {
			t.Fatalf("window never closed: %+v", p.A().Vars())
		}
	}
	if w := p.B().Vars().RcvWnd; w != 0 {
		t.Fatalf("B's RCV.WND %d, want 0", w)
	}

	// B sends data; A's pure ACK of it is lost.
	back := pattern(300, 4)
	if n, err := p.B().Write(p.now, back); err != nil || n != len(back) {
		t.Fatal(n, err)
	}
	p.drop = func(w wire) bool { return w.from == 0 && len(w.seg.Payload) == 0 }
	p.flush()
	p.drop = nil
	bv := p.B().Vars()
	if bv.SndUna == bv.SndNxt {
		t.Fatal("B's data was acknowledged; the test needs the ACK lost")
	}

	// Fire A's timers only, until it sends a probe; deliver that alone.
	var probe *Segment
	for i := 0; probe == nil; i++ {
		at, ok := p.A().NextDeadline()
		if i > 10 || !ok {
			t.Fatalf("A sends no zero-window probe:\n%s", p.trace(10))
		}
		p.now = max(p.now, at)
		p.A().Tick(p.now)
		for _, w := range p.collect(0) {
			if len(w.seg.Payload) > 0 {
				s := w.seg
				probe = &s
			}
		}
	}
	if probe.Seq != bv.RcvNxt || probe.Ack != bv.SndNxt || !probe.Flags.Has(ACK) {
		t.Fatalf("probe seq=%d ack=%d %v; want seq=RCV.NXT %d ack=SND.NXT %d", probe.Seq, probe.Ack, probe.Flags, bv.RcvNxt, bv.SndNxt)
	}
	rule := p.B().Input(p.now, probe)
	after := p.B().Vars()
	if after.SndUna != bv.SndNxt {
		t.Fatalf("B's SND.UNA %d after the probe (rule %v), want %d: the probe's ACK was ignored", after.SndUna, rule, bv.SndNxt)
	}
	if after.RcvNxt != bv.RcvNxt || p.B().Readable() != 3000 {
		t.Fatalf("B took the probe's text into a zero window: RCV.NXT %d -> %d, %d readable", bv.RcvNxt, after.RcvNxt, p.B().Readable())
	}
	var replied bool
	for _, w := range p.collect(1) {
		if w.seg.Flags.Has(ACK) && w.seg.Window == 0 && w.seg.Ack == bv.RcvNxt {
			replied = true
		}
	}
	if !replied {
		t.Fatalf("B did not answer the probe with a zero-window ACK (rule %v):\n%s", rule, p.trace(5))
	}

	// B reads: the window opens and everything arrives intact.
	p.eager = true
	p.runUntil("all data through", func() bool {
		return len(p.got[1]) == len(data) && len(p.got[0]) == len(back)
	})
	if !bytes.Equal(p.got[1], data) || !bytes.Equal(p.got[0], back) {
		t.Fatal("data corrupted through the zero window")
	}
	checkVars(t, p.A())
	checkVars(t, p.B())
}
