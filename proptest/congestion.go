package proptest

import (
	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the TCP machine's sender against its congestion window
// (invariant 48): package cc's own properties check cwnd's arithmetic; here
// the question is whether the TCB sends within it.

// cwndRoom is what congestion control lets the sender have in flight,
// recomputed from the variables (not from Vars.Quota, which is what is
// judged): cwnd, plus one SMSS per early duplicate ACK outside recovery
// (limited transmit, RFC 3042), never more than the peer's window.
func cwndRoom(v *machine.Vars) uint32 {
	w := v.Cwnd
	inRecovery := v.CCState == cc.StateFastRecovery || v.CCState == cc.StateLossRecovery
	if !inRecovery && v.DupAcks > 0 && v.DupAcks < cc.DupThresh {
		w += uint32(v.DupAcks) * uint32(v.MSS)
	}
	return min(w, v.SndWnd)
}

// checkCongestionWindow is invariant 48 for the TCB: a call that sends new
// text leaves at most cwndRoom of text in flight (the FIN's one
// sequence number aside, and a one-byte probe of a zero window); the
// retransmissions recovery sends repeat what is in flight and add nothing.
// Vars.Quota, what output used, must be that room less the flight.
func (w *World) checkCongestionWindow(r *simnet.Record) {
	b, a := &r.Before, &r.After
	if !a.SynAcked || !hasSendSeq(r.To) {
		return
	}
	room := cwndRoom(a)
	inFlight := a.SndNxt - a.SndUna
	if holeRecovery(a) {
		c := w.conn(r.Side)
		if c.Vars() != *a {
			return // later records of the move changed the scoreboard
		}
		inFlight = ghostPipe(ghostHoles(c, a), a.HighRxt)
	}
	if want := room - min(room, inFlight); a.Quota != want {
		w.fail(48, "%v reports a send quota of %d; cwnd %d, %d duplicate ACKs in %v, SND.WND %d and %d in flight give %d",
			r.Side, a.Quota, a.Cwnd, a.DupAcks, a.CCState, a.SndWnd, inFlight, want)
		return
	}
	if !b.SynAcked || !sentNew(r) {
		return // no new text went out (a FIN alone may follow text sent under a larger cwnd)
	}
	flight := inFlight // RFC 6675: in recovery, pipe, not FlightSize, is what cwnd bounds
	if a.FinSent && !a.FinAcked && flight > 0 {
		flight-- // the FIN: no text
	}
	if flight > room && !(flight == 1 && a.SndWnd == 0) {
		w.fail(48, "%v has %d bytes of text in flight (SND.UNA %d, SND.NXT %d, FIN sent %v at %d, %v) after %v, beyond min(cwnd %d (+%d duplicate ACKs), SND.WND %d) = %d",
			r.Side, flight, a.SndUna, a.SndNxt, a.FinSent, a.FinSeq, a.CCState, describe(r), a.Cwnd, a.DupAcks, a.SndWnd, room)
	}
}

// initialWindow is RFC 6928's IW for an SMSS of mss: min(10 SMSS, max(2
// SMSS, 14600)), the ghost's own (not package cc's) so that it judges it.
func initialWindow(mss uint32) uint32 { return min(10*mss, max(2*mss, 14600)) }

// checkInitialWindow is invariant 48 where congestion control starts (the
// event that acknowledges this side's SYN, once it leaves the connection
// open): cwnd starts at RFC 6928's initial window (initialWindow), or at
// one SMSS when the SYN or SYN+ACK had to be sent again on a timeout (RFC
// 6298 5.7, RFC 5681 3.1).
func (w *World) checkInitialWindow(r *simnet.Record, g *flowGhost) {
	b, a := &r.Before, &r.After
	if b.Cwnd != 0 || a.Cwnd == 0 || !a.SynAcked {
		return // not the event that started the Controller
	}
	mss := uint32(a.MSS)
	want, why := initialWindow(mss), "RFC 6928's initial window"
	if g.synRexmit {
		want, why = mss, "one SMSS, the SYN having been sent again (RFC 6298 5.7)"
	}
	if a.Cwnd != want || a.CCState != cc.StateSlowStart {
		w.fail(48, "%v starts congestion control in %v with cwnd %d after %v; want SLOW-START and %s, %d", r.Side, a.CCState, a.Cwnd, describe(r), why, want)
	}
}

// checkIdleRestart is invariant 48 after idle (RFC 5681 4.1): a call that
// sends new text with nothing outstanding, more than an RTO after the
// side last sent text or a FIN, sends at most the restart window,
// min(IW, cwnd), IW being RFC 6928's min(10 SMSS, max(2 SMSS, 14600)). It
// keeps the time of each side's latest send. Segment arrivals are left
// out: an ACK may take an RTT sample, and so change the RTO, before the
// call sends.
func (w *World) checkIdleRestart(r *simnet.Record, g *flowGhost) {
	b, a := &r.Before, &r.After
	defer func() {
		for i := range r.Out {
			if o := &r.Out[i]; len(o.Payload) > 0 || o.Flags.Has(machine.FIN) {
				g.sentAt, g.sentAtValid = r.Now, true
			}
		}
	}()
	if r.Kind == simnet.Input || !b.SynAcked || b.SndUna != b.SndNxt || !g.sentAtValid || r.Now-g.sentAt <= b.RTO || !sentNew(r) {
		return
	}
	mss := uint32(a.MSS)
	restart := min(initialWindow(mss), b.Cwnd)
	text := a.SndNxt - a.SndUna
	if a.FinSent && text > 0 {
		text-- // the FIN: no text
	}
	if text > restart {
		w.fail(48, "%v sent %d bytes after %v idle (RTO %v) with cwnd %d; RFC 5681 4.1's restart window is min(IW, cwnd) = %d",
			r.Side, text, r.Now-g.sentAt, b.RTO, b.Cwnd, restart)
	}
}

// holeRecovery is when the scoreboard drives resending: fast recovery with
// SACK, or recovery after a timeout (machine/recovery.go).
func holeRecovery(v *machine.Vars) bool {
	switch v.CCState {
	case cc.StateFastRecovery:
		return v.Opts.Has(machine.OptSACKPermitted)
	case cc.StateLossRecovery:
		return true
	}
	return false
}

// ghostHole is sequence space in [SND.UNA, SND.NXT) the scoreboard does not
// hold; [start, lost) of it is taken as lost.
type ghostHole struct{ start, end, lost uint32 }

// ghostHoles lists the holes of c's send side from its variables v and its
// scoreboard, each with its lost part: RFC 6675's IsLost (DupThresh ranges,
// or more than (DupThresh-1)*SMSS bytes, SACKed above it); in fast
// recovery, the segment at SND.UNA if sent before the recovery began
// (RFC 6582's inference from a partial ACK);
// after a timeout, everything up to the recovery point.
func ghostHoles(c *machine.Conn, v *machine.Vars) []ghostHole {
	type span struct{ s, e uint32 }
	sacked := make([]span, v.SACKedRanges)
	var total uint32
	for i := range sacked {
		s, e := c.SACKed(i)
		sacked[i] = span{s, e}
		total += e - s
	}
	var out []ghostHole
	start := v.SndUna
	for i := 0; i <= len(sacked); i++ {
		end := v.SndNxt
		if i < len(sacked) {
			end = sacked[i].s
		}
		if machine.SeqLT(start, end) {
			h := ghostHole{start, end, start}
			if len(sacked)-i >= cc.DupThresh || total > (cc.DupThresh-1)*uint32(v.MSS) {
				h.lost = end
			}
			if start == v.SndUna && v.CCState == cc.StateFastRecovery && machine.SeqLEQ(start, v.Recover) {
				head := start + uint32(v.MSS) // one segment, sent before the recovery began
				if machine.SeqLT(end, head) {
					head = end
				}
				if machine.SeqGT(head, v.Recover+1) {
					head = v.Recover + 1
				}
				if machine.SeqGT(head, h.lost) {
					h.lost = head
				}
			}
			if v.CCState == cc.StateLossRecovery && machine.SeqLEQ(start, v.Recover) {
				lostTo := v.Recover + 1
				if machine.SeqLT(end, lostTo) {
					lostTo = end
				}
				if machine.SeqGT(lostTo, h.lost) {
					h.lost = lostTo
				}
			}
			out = append(out, h)
		}
		if i < len(sacked) {
			total -= sacked[i].e - sacked[i].s
			start = sacked[i].e
		}
	}
	return out
}

// ghostPipe is RFC 6675 SetPipe: the bytes of the holes not taken as lost,
// plus those resent in this recovery (below HighRxt), counted again.
func ghostPipe(holes []ghostHole, highRxt uint32) uint32 {
	var p uint32
	for _, h := range holes {
		p += h.end - h.lost
		if machine.SeqGT(highRxt, h.start) {
			e := h.end
			if machine.SeqLT(highRxt, e) {
				e = highRxt
			}
			p += e - h.start
		}
	}
	return p
}

// ghostNextLost is the first lost byte at or beyond highRxt (RFC 6675
// NextSeg rule 1).
func ghostNextLost(holes []ghostHole, highRxt uint32) (uint32, bool) {
	for _, h := range holes {
		s := h.start
		if machine.SeqGT(highRxt, s) {
			s = highRxt
		}
		if machine.SeqLT(s, h.lost) {
			return s, true
		}
	}
	return 0, false
}

// sentNew reports whether the record's segments carried new text.
func sentNew(r *simnet.Record) bool {
	for i := range r.Out {
		o := &r.Out[i]
		if len(o.Payload) > 0 && machine.SeqGT(o.Seq+uint32(len(o.Payload)), r.Before.SndNxt) {
			return true
		}
	}
	return false
}

// inLostHole reports whether segment o repeats only lost sequence space:
// its text lies within the lost part of one hole (a FIN may ride on text
// that ends the data; a bare FIN must itself be lost).
func inLostHole(holes []ghostHole, o *machine.Segment) bool {
	s, e := o.Seq, o.Seq+o.Len()
	if len(o.Payload) > 0 && o.Flags.Has(machine.FIN) {
		e-- // the FIN rides along
	}
	for _, h := range holes {
		if machine.SeqLEQ(h.start, s) && machine.SeqLEQ(e, h.lost) && machine.SeqLEQ(o.Seq+o.Len(), h.end) {
			return true
		}
	}
	return false
}
