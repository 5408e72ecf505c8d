package proptest

import (
	"errors"
	"io"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the receiver's side: text in the window is kept and held
// text stays held (26), RFC 5961's ACK range (27), the acceptability test
// (28), the form of what reassembly holds (31), what RECEIVE hands the
// application and tells the peer (32), and prompt ACKs (33).

// checkHeldForm is invariant 31: the out-of-order text a receiver holds is
// kept in canonical form: at most heldLimit ranges, each non-empty,
// beyond RCV.NXT, in sequence order, separated by gaps (ranges that
// overlap or touch are merged), the last one ending at the held extent,
// and nothing held beyond the buffer's room past the readable bytes.
func (w *World) checkHeldForm(s simnet.Side, c *machine.Conn) {
	v := c.Vars()
	n := v.RcvHeldRanges
	if n == 0 {
		if v.RcvHeldEnd != v.RcvNxt {
			w.fail(31, "%v holds no range but reports held text up to %d (RCV.NXT %d)", s, v.RcvHeldEnd, v.RcvNxt)
		}
		return
	}
	if limit := heldLimit(w.net.Config(s)); n > limit {
		w.fail(31, "%v holds %d out-of-order ranges; at most %d", s, n, limit)
		return
	}
	prev := v.RcvNxt
	for i := range n {
		start, end := c.HeldRange(i)
		if !machine.SeqGT(start, prev) || !machine.SeqLT(start, end) {
			w.fail(31, "%v's held range %d is [%d, %d) after %d (RCV.NXT %d, %d ranges): ranges must be non-empty, ordered, beyond RCV.NXT and apart",
				s, i, start, end, prev, v.RcvNxt, n)
			return
		}
		prev = end
	}
	if prev != v.RcvHeldEnd {
		w.fail(31, "%v's last held range ends at %d, but it reports held text up to %d", s, prev, v.RcvHeldEnd)
		return
	}
	if room := uint32(max(w.cfg.RcvBuf-v.RcvQueued, 0)); prev-v.RcvNxt > room {
		w.fail(31, "%v holds text up to %d, %d bytes past RCV.NXT %d, with room for %d", s, prev, prev-v.RcvNxt, v.RcvNxt, room)
	}
}

// reassemblySegment builds a Reassemble segment for a Conn with variables
// v: text (to be filled with the peer's own bytes) placed where the
// reassembly code has the most to do. With ranges held, k%5 selects
// filling the gap before range i, bridging ranges i and i+1 (the merge of
// several ranges into one), touching range i's right or left end, or a new
// small hole; with none held, a small piece a little past RCV.NXT (which
// opens a range). Range i is (k/5) modulo the ranges held.
func reassemblySegment(c *machine.Conn, v *machine.Vars, k uint32) machine.Segment {
	x := varsOf(v)
	seg := machine.Segment{Flags: machine.ACK | machine.PSH, Ack: x.una, Window: x.wndField}
	start, end := x.rcvNxt+2+k%7, x.rcvNxt+3+k%7+k%3 // a small piece past RCV.NXT
	if n := v.RcvHeldRanges; n > 0 && k%5 != 4 {
		i := int(k/5) % n
		s, e := c.HeldRange(i)
		prevEnd := x.rcvNxt
		if i > 0 {
			_, prevEnd = c.HeldRange(i - 1)
		}
		switch k % 5 {
		case 0: // fill the gap before range i, leaving one byte when it starts at RCV.NXT
			start, end = prevEnd, s
			if i == 0 && machine.SeqLT(start+1, end) {
				start++
			}
		case 1: // bridge ranges i and i+1 (or cover range i and a byte either side)
			start, end = s, e+1
			if i+1 < n {
				_, end = c.HeldRange(i + 1)
			} else if machine.SeqGT(s-1, x.rcvNxt) {
				start = s - 1
			}
		case 2: // touch range i's right end
			start, end = e, e+1+k%3
		case 3: // touch range i's left end
			start, end = s-1-k%2, s
			if !machine.SeqGT(start, x.rcvNxt) {
				start = s - 1
			}
		}
	}
	seg.Seq = start
	if machine.SeqLT(start, end) {
		seg.Payload = make([]byte, end-start)
	}
	return seg
}

// isPeerText reports whether the text of segment in at sequence numbers
// [start, end) is what the peer of side s wrote there on the connection
// whose variables (before the segment) are v: an injected segment made of
// the peer's own text is judged like one the peer sent.
func (w *World) isPeerText(s simnet.Side, v *machine.Vars, in *machine.Segment, start, end uint32) bool {
	stream, off, ok := w.peerSpan(s, v, start, end-start)
	if !ok {
		return false
	}
	for i := range end - start {
		if in.Payload[start-in.Seq+i] != streamByte(s.Peer(), stream, off+i) {
			return false
		}
	}
	return true
}

// checkReceive is invariant 32: RECEIVE hands the application
// min(len(buffer), readable) bytes; it reports end of data (io.EOF) exactly
// when it was asked for bytes, none is readable and the peer's FIN has been
// taken; and when reading moves the right edge of the window it would
// advertise to at least twice what the peer may still send, the call
// itself sends the window update (RFC 9293 3.8.6.2.2; the doubling is
// Linux's rule), and when it leaves the edge where it was, it sends
// nothing.
func (w *World) checkReceive(r *simnet.Record, g *flowGhost) {
	if r.Kind != simnet.Call || r.Call != "read" || len(r.Steps) != 1 || r.Steps[0].Rule != machine.RuleAnyReceive {
		return
	}
	b, a := &r.Before, &r.After
	if want := min(r.Asked, b.RcvQueued); r.N != want {
		w.fail(32, "%v in %v: RECEIVE of %d bytes with %d readable returned %d, want %d", r.Side, r.From, r.Asked, b.RcvQueued, r.N, want)
		return
	}
	wantEOF := r.Asked > 0 && b.RcvQueued == 0 && b.FinRcvd
	if gotEOF := errors.Is(r.Err, io.EOF); gotEOF != wantEOF || (!gotEOF && r.Err != nil) {
		w.fail(32, "%v in %v: RECEIVE of %d bytes with %d readable (peer's FIN taken: %v) returned error %v; want EOF: %v",
			r.Side, r.From, r.Asked, b.RcvQueued, b.FinRcvd, r.Err, wantEOF)
		return
	}
	if b.FinRcvd && len(r.Out) > 0 {
		w.fail(32, "%v in %v read after the peer's FIN, when no text can come, and sent %v", r.Side, r.From, formatSegs(r.Out))
		return
	}
	switch r.To {
	case machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2:
	default:
		return // no more text can come: no window to update
	}
	if !g.advValid {
		return
	}
	// The peer saw the edge rounded down to the window scale's
	// granularity (RFC 7323 2.3): within that, it has not moved.
	gran := uint32(1)<<g.opt.sendShift() - 1
	moved := a.RcvNxt+a.RcvWnd-g.advEdge > gran
	// What the peer may still send of the window it saw (with a scale,
	// up to gran more than the edge it saw).
	var left uint32
	if machine.SeqGT(g.advEdge, a.RcvNxt) {
		left = g.advEdge - a.RcvNxt
	}
	doubled := uint64(a.RcvWnd) >= 2*(uint64(left)+uint64(gran))
	if moved && doubled && r.N > 0 && len(r.Out) == 0 {
		w.fail(32, "%v in %v read %d bytes, which moves the window's right edge from %d to %d and opens a window of %d with %d left of the last, but sent no window update",
			r.Side, r.To, r.N, g.advEdge, a.RcvNxt+a.RcvWnd, a.RcvWnd, left)
		return
	}
	if moved && !doubled && gran == 0 && len(r.Out) > 0 {
		w.fail(32, "%v in %v read %d bytes, which opens a window of %d with %d of the last still open (less than twice), but sent %v",
			r.Side, r.To, r.N, a.RcvWnd, left, formatSegs(r.Out))
		return
	}
	// (With a window scale, an edge that moved by less than the scale's
	// granularity may or may not show: an update then is no fault.)
	if !moved && len(r.Out) > 0 && gran == 0 {
		w.fail(32, "%v in %v read %d bytes, which leaves the window's right edge at %d, but sent %v",
			r.Side, r.To, r.N, g.advEdge, formatSegs(r.Out))
	}
}

// checkPromptACK is invariant 33: in ESTABLISHED, FIN-WAIT-1 and
// FIN-WAIT-2, text or a FIN that arrives out of order (beyond RCV.NXT), or
// text a zero window refuses, is acknowledged at once (RFC 5681 4.2: an
// immediate duplicate ACK; RFC 9293 3.8.6.2.1: the zero-window ACK), as
// long as the segment's ACK is in range (invariant 27). And a FIN so
// received inside the window is held: taken as soon as the text before it
// is, at the sequence number it arrived with.
func (w *World) checkPromptACK(r *simnet.Record) {
	in := &r.In
	if r.Kind != simnet.Input || len(r.Steps) == 0 || droppedUnread(r) ||
		in.Flags.Has(machine.RST) || in.Flags.Has(machine.SYN) || !in.Flags.Has(machine.ACK) {
		return
	}
	switch r.From {
	case machine.StateSynReceived, machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2:
	default:
		return
	}
	b, a := &r.Before, &r.After
	if !ackInRange(b, in.Ack) || b.FinRcvd {
		return
	}
	fin := in.Flags.Has(machine.FIN)
	if len(in.Payload) == 0 && !fin {
		return
	}
	if b.PeerFinHeld && machine.SeqGT(in.Seq, b.PeerFinSeq) {
		return // beyond the peer's FIN: nothing to take (invariant 26)
	}
	ooo := machine.SeqGT(in.Seq, b.RcvNxt)
	refused := b.RcvWnd == 0 && len(in.Payload) > 0
	if (ooo || refused) && !hasAnyAck(r.Out) {
		w.fail(33, "%v in %v got %s (RCV.NXT %d, RCV.WND %d): out of order or refused, it must be ACKed at once; sent %v",
			r.Side, r.From, simnet.FormatSegment(in), b.RcvNxt, b.RcvWnd, formatSegs(r.Out))
		return
	}
	finSeq := in.Seq + uint32(len(in.Payload))
	if !fin || b.PeerFinHeld || !machine.SeqLEQ(b.RcvNxt, finSeq) || !machine.SeqLT(finSeq, b.RcvNxt+b.RcvWnd) || !isSync(r.To) {
		return
	}
	if !a.FinRcvd && (!a.PeerFinHeld || a.PeerFinSeq != finSeq) {
		w.fail(33, "%v in %v got a FIN at %d inside its window (RCV.NXT %d, RCV.WND %d) and neither took nor held it (%s)",
			r.Side, r.From, finSeq, b.RcvNxt, b.RcvWnd, simnet.FormatSegment(in))
	}
}

// hasAnyAck reports whether out holds a segment with the ACK bit.
func hasAnyAck(out []machine.Segment) bool {
	for i := range out {
		if out[i].Flags.Has(machine.ACK) {
			return true
		}
	}
	return false
}

// checkHeld is invariant 26 (its receiver half): text the peer sent that
// falls in the receive window is kept, in order or held out of order, as
// long as fewer than heldLimit ranges are in use.
func (w *World) checkHeld(r *simnet.Record, live bool) {
	if w.err != nil || len(r.In.Payload) == 0 || droppedUnread(r) && r.Steps[0].Rule == machine.RuleSyncRcvPaws {
		return // PAWS drops an old duplicate whatever its place (invariant 39)
	}
	switch r.From {
	case machine.StateSynReceived, machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2:
	default:
		return
	}
	b, a, in := &r.Before, &r.After, &r.In
	if b.FinRcvd || b.PeerFinHeld || b.RcvHeldRanges >= heldLimit(w.net.Config(r.Side)) || in.Flags.Has(machine.SYN) || in.Flags.Has(machine.RST) {
		return
	}
	if !in.Flags.Has(machine.ACK) || !ackInRange(b, in.Ack) {
		return // dropped for its ACK (invariant 27)
	}
	start, end := in.Seq, in.Seq+uint32(len(in.Payload))
	if machine.SeqLT(start, b.RcvNxt) {
		start = b.RcvNxt
	}
	if edge := b.RcvNxt + b.RcvWnd; machine.SeqGT(end, edge) {
		end = edge
	}
	if !machine.SeqLT(start, end) {
		return
	}
	if r.Injected && !w.isPeerText(r.Side, b, in, start, end) {
		return // a forgery, which the receiver need not keep
	}
	if !live {
		return // the connection ended since
	}
	c := w.conn(r.Side)
	if !c.Holds(start, end) {
		w.fail(26, "%v dropped text [%d, %d) that lay in its window (RCV.NXT %d, RCV.WND %d, %d ranges held): %s",
			r.Side, start, end, b.RcvNxt, b.RcvWnd, b.RcvHeldRanges, simnet.FormatSegment(in))
		return
	}
	if g := &w.side[r.Side].flow; machine.SeqGT(end, a.RcvNxt) && g.nHeld < ghostHeld {
		g.held[g.nHeld] = seqSpan{max32seq(start, a.RcvNxt), end}
		g.nHeld++
	}
}

// max32seq is the later of two sequence numbers.
func max32seq(a, b uint32) uint32 {
	if machine.SeqGT(a, b) {
		return a
	}
	return b
}

// checkStillHeld is invariant 26's memory: text once held beyond RCV.NXT
// stays held (or becomes in order) while the connection lasts.
func (w *World) checkStillHeld(r *simnet.Record, g *flowGhost, live bool) {
	if !live {
		g.nHeld = 0
		return
	}
	c := w.conn(r.Side)
	k := 0
	for _, h := range g.held[:g.nHeld] {
		if !c.Holds(h.start, h.end) {
			w.fail(26, "%v held text [%d, %d) beyond RCV.NXT before, and has lost it now (RCV.NXT %d, %d ranges held)",
				r.Side, h.start, h.end, r.After.RcvNxt, r.After.RcvHeldRanges)
			return
		}
		if machine.SeqGT(h.end, r.After.RcvNxt) {
			g.held[k] = h
			k++
		}
	}
	g.nHeld = k
}

// checkAckRange is invariant 27 (RFC 5961 5.2): in ESTABLISHED .. LAST-ACK
// a segment whose ACK lies outside [SND.UNA - MAX.SND.WND, SND.NXT] is
// dropped: its text is not taken and nothing changes.
func (w *World) checkAckRange(r *simnet.Record) {
	in := &r.In
	if w.err != nil || !acksData(r.From) || !in.Flags.Has(machine.ACK) || in.Flags.Has(machine.RST) || in.Flags.Has(machine.SYN) {
		return
	}
	b, a := &r.Before, &r.After
	if ackInRange(b, in.Ack) {
		return
	}
	if r.To != r.From || a.RcvNxt != b.RcvNxt || a.RcvHeldEnd != b.RcvHeldEnd || a.RcvQueued != b.RcvQueued ||
		a.SndUna != b.SndUna || a.SndWnd != b.SndWnd || a.FinRcvd != b.FinRcvd {
		w.fail(27, "%v in %v acted on %s whose ACK is outside [SND.UNA %d - MAX.SND.WND %d, SND.NXT %d]: state %v, RCV.NXT %d -> %d, readable %d -> %d, SND.WND %d -> %d",
			r.Side, r.From, simnet.FormatSegment(in), b.SndUna, b.MaxSndWnd, b.SndNxt, r.To, b.RcvNxt, a.RcvNxt, b.RcvQueued, a.RcvQueued, b.SndWnd, a.SndWnd)
	}
}

// checkMaxWindow keeps invariant 27's MAX.SND.WND honest (RFC 5961 5.2:
// the largest window the peer has offered on this connection, SEG.WND as
// scaled, before any clamp): it never falls, rises only to the window of
// the segment just received, and does rise to it when the TCB takes its
// send window from that segment (SND.WL1, SND.WL2 now the segment's: a
// SYN, the segment that completes the handshake, a window update).
func (w *World) checkMaxWindow(r *simnet.Record, g *flowGhost, fresh bool) {
	b, a, in := &r.Before, &r.After, &r.In
	if w.err != nil || !hasSendSeq(r.To) {
		return
	}
	prev := b.MaxSndWnd
	if fresh || !hasSendSeq(r.From) {
		prev = 0
	}
	offered := prev
	if r.Kind == simnet.Input && !in.Flags.Has(machine.RST) {
		offered = max(prev, g.opt.inWindow(in))
	}
	taken := r.Kind == simnet.Input && isSync(r.To) && a.SndWl1 == in.Seq && (a.SndWl2 == in.Ack || in.Flags.Has(machine.SYN)) &&
		(fresh || !isSync(r.From) || a.SndWl1 != b.SndWl1 || a.SndWl2 != b.SndWl2 || a.SndWnd != b.SndWnd)
	switch {
	case a.MaxSndWnd != prev && a.MaxSndWnd != offered:
		w.fail(27, "%v: MAX.SND.WND %d -> %d on %s, which offers %d: it may only rise to a window offered",
			r.Side, prev, a.MaxSndWnd, simnet.FormatSegment(in), offered)
	case taken && a.MaxSndWnd != offered:
		w.fail(27, "%v took its send window from %s (offering %d) but left MAX.SND.WND at %d, want %d (RFC 5961 5.2: the largest window ever offered)",
			r.Side, simnet.FormatSegment(in), g.opt.inWindow(in), a.MaxSndWnd, offered)
	}
}

// checkAcceptability is invariant 28: in SYN-RECEIVED .. LAST-ACK a
// segment (not RST or SYN) is dropped as unacceptable exactly when the
// four cases of RFC 9293 3.10.7.4 say so, at both edges of the window.
func (w *World) checkAcceptability(r *simnet.Record) {
	in := &r.In
	if w.err != nil || !isSync(r.From) || r.From == machine.StateTimeWait || in.Flags.Has(machine.RST) || in.Flags.Has(machine.SYN) || len(r.Steps) == 0 {
		return
	}
	b := &r.Before
	nxt, wnd, n := b.RcvNxt, b.RcvWnd, in.Len()
	var ok bool
	switch {
	case n == 0 && wnd == 0:
		ok = in.Seq == nxt
	case n == 0:
		ok = seqInWindow(in.Seq, nxt, wnd)
	case wnd == 0:
		// The zero-window exception: its ACK is processed.
		ok = in.Flags.Has(machine.ACK) && len(in.Payload) > 0 && in.Seq == nxt && !b.FinRcvd
	default:
		ok = seqInWindow(in.Seq, nxt, wnd) || seqInWindow(in.Seq+n-1, nxt, wnd)
	}
	if r.Steps[0].Rule == machine.RuleSyncRcvPaws {
		return // an old duplicate by its timestamp: invariant 39 judges it
	}
	dropped := r.Steps[0].Rule == machine.RuleSyncRcvUnacceptable
	if ok == dropped {
		verdict := map[bool]string{true: "acceptable", false: "unacceptable"}[ok]
		w.fail(28, "%v in %v took [%v] on %s, which RFC 9293 3.10.7.4 calls %s (RCV.NXT %d, RCV.WND %d, SEG.LEN %d)",
			r.Side, r.From, r.Steps[0].Rule, simnet.FormatSegment(in), verdict, nxt, wnd, n)
	}
}

// checkHandshakeText is invariant 26 for the segment that completes a
// handshake (RFC 9293 3.10.7.3, 3.10.7.4; a cookie's ACK, RFC 4987 3.6,
// is checkCookies' to judge): its text, as far as the window reaches, is
// taken in order, then its FIN when all the text was (not on a SYN+ACK,
// whose FIN the peer sends again); the FIN, or a SYN+ACK, is ACKed at
// once.
func (w *World) checkHandshakeText(r *simnet.Record) {
	in, b, a := &r.In, &r.Before, &r.After
	if r.Kind != simnet.Input || len(r.Steps) == 0 || len(in.Payload) == 0 && !in.Flags.Has(machine.FIN) {
		return
	}
	var start, wnd uint32
	switch rule := r.Steps[0].Rule; {
	case rule == machine.RuleSynSentRcvSynack:
		start, wnd = in.Seq+1, w.side[r.Side].flow.opt.synWnd // our SYN's window
	case rule == machine.RuleSynRcvdRcvAck || rule == machine.RuleSynRcvdRcvFin:
		if in.Seq != b.RcvNxt {
			return // not at RCV.NXT: the acceptability test trims it
		}
		start, wnd = b.RcvNxt, b.RcvWnd
	default:
		return // a cookie's ACK: checkCookies judges it with its SYN+ACK's window
	}
	n := min(uint32(len(in.Payload)), wnd)
	want := start + n
	// A FIN on a SYN+ACK is left for the peer to send again (tcb.go's
	// CompleteOpen: it is not acknowledged); elsewhere it is taken.
	if in.Flags.Has(machine.FIN) && n == uint32(len(in.Payload)) && r.Steps[0].Rule != machine.RuleSynSentRcvSynack {
		want++
	}
	if a.RcvNxt != want {
		w.fail(26, "%v took %s by [%v]: RCV.NXT is %d, want %d (its %d bytes of text, in a window of %d, then its FIN)",
			r.Side, simnet.FormatSegment(in), r.Steps[0].Rule, a.RcvNxt, want, len(in.Payload), wnd)
		return
	}
	// The ACK of text alone may wait (invariant 41); a FIN's may not.
	acked := does(r.Steps[0].Rule, "send_ack") || want != start+n
	if acked && !hasAck(r.Out, want) {
		w.fail(26, "%v took %s by [%v] but sent no ACK of %d: %v", r.Side, simnet.FormatSegment(in), r.Steps[0].Rule, want, formatSegs(r.Out))
	}
}
