package proptest

import (
	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges loss recovery (invariant 35): when the sender repeats
// sequence space, and how much. The ghost counts duplicate ACKs by RFC
// 5681's definition and keeps RFC 6582's recovery point from the segments
// alone.

// recoveryGhost is one side's loss-recovery ghost.
type recoveryGhost struct {
	dups       int    // consecutive duplicate ACKs (RFC 5681 2)
	inRecovery bool   // after a fast retransmit or a timeout, until SND.UNA reaches recover
	recover    uint32 // SND.NXT when recovery began (RFC 6582's "recover", plus one)
	recoverSet bool   // a recovery began on this connection: recover holds its point
}

// freshLoss is RFC 6582 3.2 step 2: a loss signalled by duplicate ACKs of
// ack starts a recovery only outside one, and only if ack covers more than
// the last recovery's point (else its duplicates may be echoes of that
// recovery's retransmissions).
func (g *recoveryGhost) freshLoss(ack uint32) bool {
	return !g.inRecovery && (!g.recoverSet || machine.SeqGT(ack, g.recover))
}

// headLost is RFC 6675's IsLost(SND.UNA) from the sender's scoreboard after
// the ACK: DupThresh ranges, or more than (DupThresh-1)*SMSS bytes, SACKed
// above SND.UNA.
func headLost(c *machine.Conn, v *machine.Vars) bool {
	if !v.Opts.Has(machine.OptSACKPermitted) {
		return false
	}
	if v.SACKedRanges >= cc.DupThresh {
		return true
	}
	var n uint32
	for i := range v.SACKedRanges {
		s, e := c.SACKed(i)
		n += e - s
	}
	return n > (cc.DupThresh-1)*uint32(v.MSS)
}

// resendSize is how much text a resend of the head carries: one MSS, no
// more than was sent and no more than the peer's window (at least one
// byte). A bare FIN (0) when only the FIN is outstanding.
// una is SND.UNA when the resend goes; b holds the variables before the
// event (what had been sent, the MSS), wnd the window then.
func resendSize(una uint32, b *machine.Vars, wnd uint32) uint32 {
	sentEnd := b.SndNxt
	if b.FinSent {
		sentEnd = b.FinSeq
	}
	return min(sentEnd-una, uint32(b.MSS), max(wnd, 1))
}

// checkRecovery is invariant 35: in ESTABLISHED .. LAST-ACK, a segment
// makes the sender repeat sequence space exactly when RFC 5681 3.2 (the
// third duplicate ACK: no text, no SYN or FIN, ACK = SND.UNA with data
// outstanding, the same window), RFC 6582 (an ACK of new data below the
// recovery point) or a window reopened under a zero-window probe call for
// it; the retransmission starts at SND.UNA and carries what resendSize
// says. A retransmission timeout resends the head the same way, or, with
// nothing outstanding, sends one byte into a zero window (else up to one
// MSS that fits) to probe it; either starts recovery.
func (w *World) checkRecovery(r *simnet.Record, g *recoveryGhost, inWnd uint32, same bool) {
	if !same {
		*g = recoveryGhost{}
	}
	b, a, in := &r.Before, &r.After, &r.In
	if !acksData(r.From) || !acksData(r.To) || !b.SynAcked {
		return
	}
	var want, dataWant bool // a resend of the head is due; it is a probe of new data
	var size uint32
	switch r.Kind {
	case simnet.Tick:
		for i := range r.Steps {
			if r.Steps[i].Rule != machine.RuleAnyRexmt {
				continue
			}
			if b.SndUna != b.SndNxt {
				want, size = true, resendSize(b.SndUna, b, b.SndWnd)
			} else if b.SndQueued > 0 {
				dataWant, size = true, min(uint32(b.SndQueued), uint32(b.MSS), b.SndWnd)
				if b.SndWnd == 0 {
					size = 1
				}
			}
			if b.SndUna != b.SndNxt && b.SndWnd > 0 {
				g.inRecovery, g.recover, g.recoverSet = true, a.SndNxt, true // a loss (RFC 5681 3.1), not a zero-window probe
			}
		}
	case simnet.Input:
		if len(r.Steps) == 0 || droppedUnread(r) || !in.Flags.Has(machine.ACK) ||
			in.Flags.Has(machine.RST) || in.Flags.Has(machine.SYN) ||
			!ackInRange(b, in.Ack) {
			return
		}
		switch {
		case machine.SeqGT(in.Ack, b.SndUna):
			g.dups = 0
			if g.inRecovery {
				if machine.SeqLT(in.Ack, g.recover) {
					// A partial ACK: NewReno resends the head (RFC 6582
					// 3.2); with SACK, and after a timeout, the
					// scoreboard chooses (checked below).
					if b.CCState == cc.StateFastRecovery && !b.Opts.Has(machine.OptSACKPermitted) {
						want, size = true, resendSize(a.SndUna, b, b.SndWnd)
					}
				} else {
					g.inRecovery = false
				}
			}
		case in.Ack == b.SndUna:
			if b.SndUna != b.SndNxt && len(in.Payload) == 0 && !in.Flags.Has(machine.FIN) && inWnd == b.SndWnd {
				g.dups++
				// Fast retransmit: the third duplicate, or with SACK
				// the scoreboard declaring the head lost (RFC 6675 5).
				lost := g.dups == cc.DupThresh || headLost(w.net.Conn(r.Side), a)
				if lost && g.freshLoss(in.Ack) {
					want, size = true, resendSize(b.SndUna, b, b.SndWnd)
					g.inRecovery, g.recover, g.recoverSet = true, b.SndNxt, true
				}
			} else {
				g.dups = 0
			}
		}
		if b.SndWnd == 0 && a.SndWnd > 0 && inWnd > 0 && a.SndUna != b.SndNxt && !want {
			want, size = true, resendSize(a.SndUna, b, a.SndWnd) // reopened under a probe
		}
	default:
		return
	}
	// Find the resend: the first segment at SND.UNA that repeats sequence
	// space (with its wrap partner, when the send buffer's storage wraps).
	// Where the scoreboard drives recovery (RFC 6675 with SACK, or after a
	// timeout), further resends may follow: each within a hole taken as
	// lost, beyond what this recovery resent before (HighRxt), in order.
	sentEnd := b.SndNxt
	found, got := false, uint32(0)
	var repeated uint64
	var holes []ghostHole
	cursor := b.HighRxt
	if holeRecovery(a) {
		c := w.conn(r.Side)
		holes = ghostHoles(c, a)
		// Text sent after the pass's latest resend SACKed: what the pass
		// resent and is still missing was lost again, and a new pass
		// starts from SND.UNA (RFC 8985 6.2's rule; machine's lostAgain).
		if a.SACKedRanges > 0 && b.HighRxt != b.SndUna {
			if _, top := c.SACKed(a.SACKedRanges - 1); machine.SeqGT(top, b.PassNxt) {
				cursor = a.SndUna
			}
		}
	}
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags.Has(machine.RST) || o.Len() == 0 {
			continue
		}
		rex := machine.SeqLT(o.Seq, sentEnd)
		if rex {
			repeated++
		}
		if dataWant && o.Seq == b.SndNxt {
			rex = true // the probe: new data, sent by the timer
		}
		if !rex {
			continue
		}
		if holes != nil && (found || !want && !dataWant) && w.conn(r.Side).Vars() == *a {
			if !inLostHole(holes, o) || machine.SeqLT(o.Seq, cursor) {
				w.fail(35, "%v resent [%d, %d) on %v in %v: not within a hole taken as lost beyond HighRxt %d (holes %v)",
					r.Side, o.Seq, o.Seq+o.Len(), describe(r), a.CCState, cursor, holes)
				return
			}
			cursor = o.Seq + o.Len()
			continue
		}
		if !want && !dataWant {
			w.fail(35, "%v repeated [%d, %d) on %v (%d duplicate ACKs, recovery %v to %d), where neither RFC 5681 3.2, RFC 6582 nor a reopened window calls for it",
				r.Side, o.Seq, o.Seq+o.Len(), describe(r), g.dups, g.inRecovery, g.recover)
			return
		}
		if found {
			continue
		}
		start := a.SndUna
		if dataWant {
			start = b.SndNxt
		}
		if o.Seq != start {
			w.fail(35, "%v resent from %d on %v; the head starts at %d", r.Side, o.Seq, describe(r), start)
			return
		}
		found, got = true, uint32(len(o.Payload))
		cursor = o.Seq + o.Len()
		if i+1 < len(r.Out) && got < size {
			if p := &r.Out[i+1]; p.Seq == o.Seq+got && uint32(len(p.Payload))+got <= size {
				got += uint32(len(p.Payload))
			}
		}
	}
	if (want || dataWant) && (!found || got != size) {
		w.fail(35, "%v on %v must send %d bytes from the head (MSS %d, SND.WND %d): found %v, %d bytes (%v)",
			r.Side, describe(r), size, b.MSS, b.SndWnd, found, got, formatSegs(r.Out))
		return
	}
	// RFC 6675 5 step C: while cwnd leaves room for a segment beyond
	// pipe, a lost hole beyond HighRxt is resent; one always goes when
	// nothing is in the network.
	if holes != nil && w.conn(r.Side).Vars() == *a {
		p := ghostPipe(holes, a.HighRxt)
		if s, ok := ghostNextLost(holes, a.HighRxt); ok && (p == 0 || p+uint32(a.MSS) <= a.Cwnd) {
			w.fail(35, "%v holds back lost sequence space from %d after %v: cwnd %d, pipe %d, HighRxt %d, holes %v",
				r.Side, s, describe(r), a.Cwnd, p, a.HighRxt, holes)
			return
		}
	}
	// The operator's counter counts every segment sent again.
	if d := r.Counters.Retransmits - r.CountersBefore.Retransmits; d != repeated {
		w.fail(35, "%v resent %d segments on %v, but its Retransmits counter rose by %d", r.Side, repeated, describe(r), d)
	}
}

// checkRecoveryCounters is invariant 35 for the operator's counters of
// recoveries: congestion control entering FAST-RECOVERY counts one fast
// recovery, a retransmission timeout with text outstanding in an open
// window (a loss, not a zero-window probe) one timeout; nothing else
// moves them.
func (w *World) checkRecoveryCounters(r *simnet.Record) {
	b, a := &r.Before, &r.After
	var fast, timeouts uint64
	if b.CCState != cc.StateFastRecovery && a.CCState == cc.StateFastRecovery {
		fast = 1
	}
	if r.Kind == simnet.Tick && b.SynAcked && b.SndUna != b.SndNxt && b.SndWnd > 0 {
		for i := range r.Steps {
			if r.Steps[i].Rule == machine.RuleAnyRexmt {
				timeouts++
			}
		}
	}
	k0, k := &r.CountersBefore, &r.Counters
	if d := k.FastRecovery - k0.FastRecovery; d != fast {
		w.fail(35, "%v's FastRecovery counter rose by %d on %v (%v to %v), want %d", r.Side, d, describe(r), b.CCState, a.CCState, fast)
		return
	}
	if d := k.Timeouts - k0.Timeouts; d != timeouts {
		w.fail(35, "%v's Timeouts counter rose by %d on %v, want %d", r.Side, d, describe(r), timeouts)
	}
}

// checkHighRxt is invariant 35 for HighRxt, the end of what a recovery
// resent. While the scoreboard drives recovery it never lags SND.UNA:
// ACKs carry it along (else, 2^31 bytes later, it would compare as ahead
// of every hole). And it only ever moves up to the end of what this event
// resent (a FIN counting one) or to SND.UNA, never beyond: a HighRxt ahead
// of what was resent would skip the lost sequence space between.
func (w *World) checkHighRxt(r *simnet.Record) {
	b, a := &r.Before, &r.After
	if holeRecovery(a) && machine.SeqLT(a.HighRxt, a.SndUna) {
		w.fail(35, "%v's HighRxt %d lags SND.UNA %d after %v", r.Side, a.HighRxt, a.SndUna, describe(r))
		return
	}
	if !a.SynAcked || !b.SynAcked || a.HighRxt == b.HighRxt {
		return
	}
	bound := max32seq(b.HighRxt, a.SndUna)
	for i := range r.Out {
		o := &r.Out[i]
		if !o.Flags.Has(machine.RST) && o.Len() > 0 && machine.SeqLT(o.Seq, b.SndNxt) {
			bound = max32seq(bound, o.Seq+o.Len())
		}
	}
	if machine.SeqGT(a.HighRxt, bound) {
		w.fail(35, "%v's HighRxt moved from %d to %d on %v, beyond what it resent and SND.UNA (%d)", r.Side, b.HighRxt, a.HighRxt, describe(r), bound)
	}
}

// checkSynResent is invariant 35 in the handshake: a retransmission
// timeout in SYN-SENT or SYN-RECEIVED sends the SYN (SYN+ACK) again,
// <SEQ=ISS>.
func (w *World) checkSynResent(r *simnet.Record) {
	if r.Kind != simnet.Tick || (r.From != machine.StateSynSent && r.From != machine.StateSynReceived) || r.To != r.From {
		return
	}
	for i := range r.Steps {
		if r.Steps[i].Rule != machine.RuleAnyRexmt {
			continue
		}
		for j := range r.Out {
			if o := &r.Out[j]; o.Flags.Has(machine.SYN) && o.Seq == r.Before.ISS {
				return
			}
		}
		w.fail(35, "%v's retransmission timeout in %v sent %v, not its SYN <SEQ=ISS %d>", r.Side, r.From, formatSegs(r.Out), r.Before.ISS)
		return
	}
}

// describe names what a record handled.
func describe(r *simnet.Record) string {
	if r.Kind == simnet.Input {
		return simnet.FormatSegment(&r.In)
	}
	return r.Kind.String()
}
