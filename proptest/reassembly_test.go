package proptest

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
	"pgregory.net/rapid"
)

// TestPropertyReassembly drives a receiver's reassembly hard: the sender's
// own segments are lost and the receiver gets the same text again in
// small pieces, in any order, overlapping, filling gaps, bridging held
// ranges and opening more holes than it may hold, while its application
// reads now and then. Every invariant is checked after each piece
// (invariant 26: text in the window is kept while fewer than 16 ranges are
// held; 31: the ranges stay in canonical form), and the fair ending must
// deliver every byte (17).
func TestPropertyReassembly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mss := rapid.SampledFrom([]int{8, 64, 200, 1000}).Draw(t, "mss")
		// 9000 makes the ring grow past its first 4 KiB while it holds
		// ranges far ahead of RCV.NXT.
		buf := rapid.SampledFrom([]int{48, 120, 400, 9000}).Draw(t, "buf")
		w := NewWorld(Options{Config: machine.Config{MSS: uint16(mss), RcvBuf: buf, SndBuf: buf}})
		if err := establish(w); err != nil {
			t.Fatal(err)
		}
		n := buf // a full window's worth, so that text reaches its right edge
		if rapid.Bool().Draw(t, "less") {
			n = rapid.IntRange(buf/2, buf).Draw(t, "written")
		}
		if k, err := w.Write(simnet.A, n); k != n || err != nil {
			t.Fatalf("write %d: %d, %v", n, k, err)
		}
		closed := rapid.Bool().Draw(t, "closed")
		if closed { // A's FIN follows its text, lost with it
			w.Close(simnet.A)
		}
		for len(w.Net().Link(simnet.A)) > 0 {
			w.Drop(simnet.A, 0)
		}
		pieces := rapid.IntRange(20, 80).Draw(t, "pieces")
		// rapid favours small numbers; offsets spread over the window come
		// from a generator seeded by rapid, so that holes open anywhere.
		spread := NewSeededChooser(rapid.Uint64().Draw(t, "seed"))
		for i := 0; i < pieces && w.Err() == nil; i++ {
			switch rapid.IntRange(0, 8).Draw(t, "move") {
			case 0, 1: // a small piece anywhere in the window (often a new hole)
				w.InjectRaw(simnet.B, RawSegment{Flags: machine.ACK | machine.PSH,
					SeqOff: uint32(spread.Intn("off", n)), Len: 1 + spread.Intn("len", 4)})
			case 2, 3, 4: // shaped around the ranges held
				w.Inject(simnet.B, Reassemble, uint32(spread.Intn("k", 1000)))
			case 6: // A's FIN, out of order or not, with the text before it
				if closed {
					w.injectPeerFIN(simnet.B, 1+spread.Intn("before", 4))
				}
			case 7: // a second FIN or text beyond a FIN held out of order
				w.Inject(simnet.B, AfterFIN, uint32(spread.Intn("k", 1000)))
			case 8: // text filling the window to its right edge, with a FIN just beyond
				w.Inject(simnet.B, EdgeData, uint32(18*spread.Intn("k", 50)+5))
			case 5:
				if w.Net().Conn(simnet.B).Readable() > 0 {
					w.Read(simnet.B, rapid.IntRange(1, buf).Draw(t, "read"))
				}
			}
			// The receiver's ACKs are of no interest here.
			for len(w.Net().Link(simnet.B)) > 0 {
				w.Drop(simnet.B, 0)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
	})
}

// injectPeerFIN hands side `to` its peer's FIN (which the peer has queued)
// with up to `before` bytes of the peer's text in front of it.
func (w *World) injectPeerFIN(to simnet.Side, before int) {
	pv, v := w.conn(to.Peer()).Vars(), w.conn(to).Vars()
	if !pv.FinSent {
		return
	}
	n := min(uint32(before), pv.FinSeq-(v.IRS+1))
	seg := machine.Segment{Flags: machine.ACK | machine.FIN, Seq: pv.FinSeq - n, Ack: pv.RcvNxt, Window: 64, Payload: make([]byte, n)}
	if !w.peerText(to, &v, &seg) {
		return
	}
	w.net.Inject(to, seg)
	if !w.quiet {
		w.note("inject %v's FIN into %v: %s", to.Peer(), to, simnet.FormatSegment(&seg))
	}
	w.moved()
}
