package proptest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
	"pgregory.net/rapid"
)

// TestPropertyLossRepair is invariant 26 (its sender half): one lost
// segment with at least three segments behind it, or two lost segments,
// are repaired by fast retransmit (RFC 5681 3.2) and the recovery that
// follows (the SACK scoreboard, RFC 6675, or without SACK NewReno's
// partial ACK, RFC 6582), before any retransmission timeout,
// with exactly one retransmission per lost segment: the receiver holds what
// arrived beyond the hole, so nothing else is sent twice.
func TestPropertyLossRepair(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mss := rapid.IntRange(4, 12).Draw(t, "mss")
		segs := rapid.IntRange(5, 10).Draw(t, "segments") // one initial window (RFC 6928: ten segments of a small MSS)
		n := segs * mss
		// Without timestamps, so each segment carries the whole MSS, and
		// without delayed ACKs: a delayed ACK of the text before the hole
		// rides on the first out-of-order segment's ACK, which is then no
		// duplicate, and three segments behind the hole would give two.
		// With SACK the scoreboard repairs the second hole; without it,
		// NewReno's partial ACK resends the head (RFC 6582 3.2).
		noSACK := rapid.Bool().Draw(t, "no_sack")
		cfg := machine.Config{MSS: uint16(mss), RcvBuf: n + mss, SndBuf: n, ISNKey: NearWrapKey(), NoTimestamps: true, NoSACK: noSACK, DelayedACK: -1}
		start := time.Duration(0)
		if rapid.Bool().Draw(t, "near_wrap") {
			var err error
			if start, err = StartNearWrap(cfg, NearWrapGap+1+uint32(rapid.IntRange(0, 500).Draw(t, "k"))); err != nil {
				t.Fatal(err)
			}
		}
		var rexmits, timeouts int
		var sentEnd uint32
		var sentValid bool
		w := NewWorld(Options{Config: cfg, Start: start, OnRecord: func(r *simnet.Record) {
			if r.Side != simnet.A || !isSync(r.To) {
				return
			}
			for _, st := range r.Steps {
				if st.Rule == machine.RuleAnyRexmt {
					timeouts++
				}
			}
			for i := range r.Out {
				o := &r.Out[i]
				if len(o.Payload) == 0 {
					continue
				}
				end := o.Seq + uint32(len(o.Payload))
				if sentValid && machine.SeqLT(o.Seq, sentEnd) {
					rexmits++
				}
				if !sentValid || machine.SeqGT(end, sentEnd) {
					sentValid, sentEnd = true, end
				}
			}
		}})
		if err := establish(w); err != nil {
			t.Fatal(err)
		}
		if k, err := w.Write(simnet.A, n); k != n || err != nil {
			t.Fatalf("write %d: %d, %v", n, k, err)
		}
		if got := len(w.Net().Link(simnet.A)); got != segs {
			t.Fatalf("A sent %d segments for %d bytes at MSS %d, want %d", got, n, mss, segs)
		}
		// Lose one segment with at least three behind it (three duplicate
		// ACKs), maybe a second one further on, leaving three delivered
		// segments behind the first.
		lost := []int{rapid.IntRange(0, segs-4).Draw(t, "lost")}
		if l := lost[0]; l <= segs-5 && rapid.Bool().Draw(t, "two") {
			lost = append(lost, rapid.IntRange(l+2, segs-1).Draw(t, "lost2"))
		}
		for i := len(lost) - 1; i >= 0; i-- {
			w.Drop(simnet.A, lost[i])
		}
		b := w.Net().Conn(simnet.B)
		want := b.Vars().RcvNxt + uint32(n)
		for i := 0; w.Err() == nil && b.Vars().RcvNxt != want && i < 200; i++ {
			switch {
			case len(w.Net().Link(simnet.A)) > 0:
				w.Deliver(simnet.A, 0)
			case len(w.Net().Link(simnet.B)) > 0:
				w.Deliver(simnet.B, 0)
			default:
				w.Advance()
			}
			w.AdvanceBy(100 * time.Microsecond)
		}
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		if got := b.Vars().RcvNxt; got != want {
			t.Fatalf("B's RCV.NXT is %d, want %d: the transfer did not finish", got, want)
		}
		if timeouts > 0 || rexmits != len(lost) {
			t.Fatalf("%s", fmt.Sprintf("invariant 26: %d lost segment(s) of %d took %d retransmission timeouts and %d retransmissions; want none and %d",
				len(lost), segs, timeouts, rexmits, len(lost)))
		}
	})
}
