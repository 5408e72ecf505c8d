package proptest

import (
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the sender's side against the flow ghost: the send
// window it takes from the segments (invariant 23), what it sends into it
// (24), and sender silly-window avoidance and the FIN (29).

// checkWindowUpdate is invariant 23: SND.WND is taken only from a segment
// not older than the last update (SND.WL1, SND.WL2, kept here from the
// segments) whose ACK is in [SND.UNA, SND.NXT], and every such segment
// sets it: to SEG.WND, or to SND.NXT - SEG.ACK where SEG.WND would leave
// text already sent beyond the window.
func (w *World) checkWindowUpdate(r *simnet.Record, g *flowGhost) {
	if w.err != nil || !acksData(r.From) || !g.wlValid {
		return
	}
	// RFC 9293 3.10.7.4's fifth check processes the ACK of every segment
	// that passed the sequence test, with ACK set and in range (judged
	// here from the RFC, not from the spec's rows, so that a row that
	// loses process_ack is caught).
	b, a, in := &r.Before, &r.After, &r.In
	processed := r.Kind == simnet.Input && len(r.Steps) > 0 && r.Steps[0].Rule != machine.RuleNone &&
		in.Flags.Has(machine.ACK) && !in.Flags.Has(machine.RST) && !in.Flags.Has(machine.SYN) &&
		!droppedUnread(r) && ackInRange(b, in.Ack)
	if !processed {
		if a.SndWnd != b.SndWnd && hasSendSeq(r.To) {
			w.fail(23, "%v changed SND.WND %d -> %d on a segment it did not process (%s)", r.Side, b.SndWnd, a.SndWnd, simnet.FormatSegment(in))
		}
		return
	}
	inRange := machine.SeqLEQ(b.SndUna, in.Ack) && machine.SeqLEQ(in.Ack, b.SndNxt)
	newer := machine.SeqLT(g.wl1, in.Seq) || g.wl1 == in.Seq && machine.SeqLEQ(g.wl2, in.Ack)
	if !inRange || !newer {
		if a.SndWnd != b.SndWnd {
			w.fail(23, "%v took SND.WND %d -> %d from %s, older than the last update (WL1 %d, WL2 %d) or with SEG.ACK outside [SND.UNA %d, SND.NXT %d]",
				r.Side, b.SndWnd, a.SndWnd, simnet.FormatSegment(in), g.wl1, g.wl2, b.SndUna, b.SndNxt)
		}
		return
	}
	want := g.opt.inWindow(in)
	if machine.SeqLT(in.Ack+max(want, 1), b.SndNxt) {
		want = b.SndNxt - in.Ack
	}
	if a.SndWnd != want && hasSendSeq(r.To) {
		w.fail(23, "%v set SND.WND to %d on %s, the newest update: want %d", r.Side, a.SndWnd, simnet.FormatSegment(in), want)
		return
	}
	if hasSendSeq(r.To) && (a.SndWl1 != in.Seq || a.SndWl2 != in.Ack) {
		w.fail(23, "%v took the window of %s, the newest update, but left SND.WL1 %d, SND.WL2 %d (want %d, %d)",
			r.Side, simnet.FormatSegment(in), a.SndWl1, a.SndWl2, in.Seq, in.Ack)
		return
	}
	// The ghost keeps SND.WND as this invariant defines it, clamped where
	// the peer shrank it below what was sent, so that invariant 24 judges
	// against the same window the TCB must hold.
	g.wl1, g.wl2, g.wnd = in.Seq, in.Ack, want
}

// checkSentWindow is invariant 24: new text never goes beyond SND.UNA +
// SND.WND, SND.WND as RFC 9293 3.10.7.4 takes it from the segments (the
// ghost's, not the TCB's), but for the one byte of a zero-window probe;
// retransmissions only repeat what was sent.
func (w *World) checkSentWindow(r *simnet.Record, g *flowGhost) {
	if !g.wlValid || !hasSendSeq(r.To) {
		return
	}
	end := g.sentEnd // what this record's segments find already sent
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags.Has(machine.RST) || o.Len() == 0 {
			continue
		}
		rex := g.sentValid && machine.SeqLT(o.Seq, end)
		// Invariant 29: sender SWS avoidance (RFC 9293 3.8.6.2.1): a new
		// segment shorter than the MSS goes out only with the last byte
		// queued (PSH), when it is at least half the largest window the
		// peer offered, or when the override timer fired. Where the send
		// buffer's storage wraps, one segment goes as two pieces: they
		// count together.
		mss := uint32(r.After.MSS)
		k, psh := wrapPartner(r.Out, i, mss)
		n := uint32(len(o.Payload)) + k
		psh = psh || o.Flags.Has(machine.PSH)
		if len(o.Payload) > 0 && !rex && n < mss && !psh && n < r.After.MaxSndWnd/2 && r.Kind != simnet.Tick {
			w.fail(29, "%v sent %d new bytes, less than its MSS %d and half the peer's largest window %d, with more queued: a silly window (%s)",
				r.Side, n, r.After.MSS, r.After.MaxSndWnd, simnet.FormatSegment(o))
			return
		}
		// Invariant 29, the FIN: new text that ends where a FIN sent in
		// the same call sits carries it (no bare FIN follows the last
		// text), and so does every retransmission of it once the FIN has
		// gone.
		if a := &r.After; len(o.Payload) > 0 && a.FinSent && (!rex || r.Before.FinSent) &&
			o.Seq+uint32(len(o.Payload)) == a.FinSeq && !o.Flags.Has(machine.FIN) {
			w.fail(29, "%v sent text ending at its FIN's sequence number %d without the FIN (%s)", r.Side, a.FinSeq, simnet.FormatSegment(o))
			return
		}
		if text := o.Seq + uint32(len(o.Payload)); len(o.Payload) > 0 && !rex {
			edge := r.After.SndUna + g.wnd
			if machine.SeqGT(text, edge) && !(len(o.Payload) == 1 && text == edge+1) {
				w.fail(24, "%v sent new text up to %d, beyond SND.UNA %d + SND.WND %d the peer offered (%s)",
					r.Side, text, r.After.SndUna, g.wnd, simnet.FormatSegment(o))
				return
			}
		}
		if e := o.Seq + o.Len(); machine.SeqGT(e, end) {
			end = e
		}
	}
}

// checkFinSent is invariant 29's last part: once the application has
// closed and every byte is sent, a FIN that fits the peer's window
// (SND.UNA + max(SND.WND, 1)) goes out in the same call.
func (w *World) checkFinSent(r *simnet.Record) {
	a := &r.After
	switch r.To {
	case machine.StateFinWait1, machine.StateLastAck:
	default:
		return
	}
	if a.SynAcked && !a.FinSent && a.SndNxt == a.FinSeq && machine.SeqLEQ(a.FinSeq+1, a.SndUna+max(a.SndWnd, 1)) {
		w.fail(29, "%v in %v has sent every byte and its FIN at %d fits the window (SND.UNA %d, SND.WND %d), but did not send it",
			r.Side, r.To, a.FinSeq, a.SndUna, a.SndWnd)
	}
}

// checkSendsWhenAllowed is invariant 29's converse: after every call the
// sender has sent what RFC 9293 3.8.6.2.1 lets it: with D bytes queued and
// unsent and a usable window U > 0 (within the peer's window and the
// congestion window), it holds text back only while
// min(D, U) is less than the MSS, D exceeds U, and min(D, U) is less than
// half the largest window the peer offered.
func (w *World) checkSendsWhenAllowed(r *simnet.Record) {
	a := &r.After
	switch r.To {
	case machine.StateEstablished, machine.StateCloseWait, machine.StateFinWait1, machine.StateLastAck:
	default:
		return
	}
	if !a.SynAcked || a.FinSent {
		return
	}
	d := uint32(a.SndQueued) - (a.SndNxt - a.SndUna)
	u := a.SndUna + a.SndWnd - a.SndNxt
	if int32(d) <= 0 || int32(u) <= 0 {
		return
	}
	// Congestion control (invariant 48) bounds the usable window too.
	if room := cwndRoom(a); a.SndNxt-a.SndUna >= room {
		return
	} else {
		u = min(u, room-(a.SndNxt-a.SndUna))
	}
	// Nagle (RFC 9293 3.7.4): with text unacknowledged, a segment shorter
	// than the MSS waits, unless it ends the data before the FIN.
	if n := min(d, u); n < uint32(a.MSS) && !w.side[r.Side].noDelay && a.SndNxt != a.SndUna && !(d <= u && w.side[r.Side].closed) {
		return
	}
	if n := min(d, u); n >= uint32(a.MSS) || d <= u || n >= a.MaxSndWnd/2 {
		w.fail(29, "%v holds back %d queued bytes with a usable window of %d (MSS %d, largest window offered %d): RFC 9293 3.8.6.2.1 lets it send %d now",
			r.Side, d, u, a.MSS, a.MaxSndWnd, min(d, u, uint32(a.MSS)))
	}
}

// wrapPartner is the length of a segment sent in the same call right
// before or after out[i], contiguous with it, such that the two fit in one
// MSS (0 if none): one segment cut in two where the send buffer's storage
// wraps. psh says whether that piece carries the PSH of the end of data.
func wrapPartner(out []machine.Segment, i int, mss uint32) (k uint32, psh bool) {
	o := &out[i]
	n := uint32(len(o.Payload))
	if i > 0 {
		p := &out[i-1]
		if k := uint32(len(p.Payload)); p.Seq+k == o.Seq && n+k <= mss {
			return k, p.Flags.Has(machine.PSH)
		}
	}
	if i+1 < len(out) {
		p := &out[i+1]
		if k := uint32(len(p.Payload)); p.Seq == o.Seq+n && n+k <= mss {
			return k, p.Flags.Has(machine.PSH)
		}
	}
	return 0, false
}
