package machine

// segView is the part of the current segment the receive side processes:
// in synchronized states the segment trimmed to the receive window (RFC
// 9293 3.10.7.4: "only the new parts are processed").
type segView struct {
	seq        uint32 // sequence number of the first byte (or of the FIN)
	payload    []byte // text within the window
	fin        bool   // the FIN survived trimming
	finInOrder bool   // with this segment, the peer's FIN is next in order
	// zeroWnd: the segment's text was cut to nothing by a zero receive
	// window; accept_text still ACKs it so the peer learns the window.
	zeroWnd bool
	dup     seqRange // text before RCV.NXT: received before (a D-SACK block)
}

// Classify returns the event seg is for this connection in its current
// state, in the order of RFC 9293 3.10.7:
//
// CLOSED, LISTEN and SYN-SENT look at the flags only: RST is rcv_rst,
// SYN+ACK rcv_synack, SYN rcv_syn, no ACK rcv_noack, FIN+ACK rcv_fin, ACK
// with text rcv_data, else rcv_ack.
//
// Synchronized states: RST is rcv_rst (the guards rst_exact and
// rst_in_window tell its sequence number apart). In TIME-WAIT a SYN without
// ACK is rcv_syn before the sequence test (RFC 6191), and a retransmitted
// FIN (ACK+FIN with SEG.SEQ+SEG.LEN == RCV.NXT) is rcv_fin. Then a segment
// failing PAWS (RFC 7323 5.3: the guard paws_reject tells it apart) or the
// four-case acceptability test is rcv_unacceptable; a SYN is
// rcv_syn or rcv_synack; no ACK is rcv_noack; a FIN that is in order once
// this segment is taken (itself, or one already held out of order whose gap
// this segment fills) is rcv_fin; text is rcv_data; the rest is rcv_ack.
// The exception of 3.10.7.4 for a zero window ("special allowance should
// be made to accept valid ACKs"): an ACK carrying text at exactly RCV.NXT
// (a zero-window probe, say), before the peer's FIN, is rcv_ack with its
// text trimmed away, so its ACK is processed, and it is answered with an
// ACK that shows the window still closed.
//
// Classify changes nothing.
func (c *Conn) Classify(seg *Segment) Event {
	var v segView
	return c.classify(seg, &v)
}

// classify is Classify, also filling in v (in synchronized states).
func (c *Conn) classify(seg *Segment, v *segView) Event {
	f := seg.Flags
	*v = segView{seq: seg.Seq, payload: seg.Payload, fin: f&FIN != 0}
	switch c.state {
	case StateClosed, StateListen, StateSynSent:
		switch {
		case f&RST != 0:
			return EventRcvRst
		case f&(SYN|ACK) == SYN|ACK:
			return EventRcvSynack
		case f&SYN != 0:
			return EventRcvSyn
		case f&ACK == 0:
			return EventRcvNoack
		case f&FIN != 0:
			return EventRcvFin
		case len(seg.Payload) > 0:
			return EventRcvData
		}
		return EventRcvAck
	}
	t := &c.t
	if f&RST != 0 {
		return EventRcvRst
	}
	if c.state == StateTimeWait {
		if f&(SYN|ACK) == SYN {
			return EventRcvSyn
		}
		if f&(SYN|ACK|FIN) == ACK|FIN && seg.Seq+seg.Len() == t.rcvNxt {
			return EventRcvFin // the peer's FIN again: our ACK was lost
		}
	}
	if c.pawsReject(seg) {
		return EventRcvUnacceptable // an old duplicate (RFC 7323 5.3 R1)
	}
	if !c.acceptable(seg) {
		if !c.zeroWindowAck(seg) {
			return EventRcvUnacceptable
		}
		// Only its ACK is processed: the text and any FIN lie beyond
		// the (empty) window.
		v.payload, v.fin, v.zeroWnd = v.payload[:0], false, true
		return EventRcvAck
	}
	switch {
	case f&(SYN|ACK) == SYN|ACK:
		return EventRcvSynack
	case f&SYN != 0:
		return EventRcvSyn
	case f&ACK == 0:
		return EventRcvNoack
	}
	c.trim(v)
	if v.finInOrder {
		return EventRcvFin
	}
	if len(v.payload) > 0 {
		return EventRcvData
	}
	return EventRcvAck
}

// acceptable is the four-case acceptability test of RFC 9293 3.10.7.4.
func (c *Conn) acceptable(seg *Segment) bool {
	nxt, wnd, n := c.t.rcvNxt, c.rcvWindow(), seg.Len()
	switch {
	case n == 0 && wnd == 0:
		return seg.Seq == nxt
	case n == 0:
		return SeqInWindow(seg.Seq, nxt, wnd)
	case wnd == 0:
		return false
	}
	return SeqInWindow(seg.Seq, nxt, wnd) || SeqInWindow(seg.Seq+n-1, nxt, wnd)
}

// zeroWindowAck reports whether seg, unacceptable by the four-case test,
// falls under the zero-window exception: RCV.WND is zero, seg carries text
// starting at RCV.NXT, has ACK and not SYN (RST is handled before), and the
// peer's FIN has not been accepted (text after it is bogus).
func (c *Conn) zeroWindowAck(seg *Segment) bool {
	t := &c.t
	return seg.Flags&(SYN|ACK) == ACK && len(seg.Payload) > 0 &&
		seg.Seq == t.rcvNxt && !t.finRcvd && c.rcvWindow() == 0
}

// trim cuts an acceptable segment without SYN to the receive window: text
// before RCV.NXT (already received), text and FIN beyond the window, and
// text beyond a FIN already held out of order. Then it decides whether the
// peer's FIN is in order with this segment.
func (c *Conn) trim(v *segView) {
	t := &c.t
	nxt := t.rcvNxt
	if SeqLT(v.seq, nxt) {
		d := nxt - v.seq
		v.dup = seqRange{v.seq, v.seq + min(d, uint32(len(v.payload)))}
		if d >= uint32(len(v.payload)) {
			// Only the FIN (if any) is new; acceptability guarantees
			// d <= len(payload).
			v.payload = v.payload[len(v.payload):]
		} else {
			v.payload = v.payload[d:]
		}
		v.seq = nxt
	}
	limit := nxt + c.rcvWindow() // first sequence number beyond the window
	if t.finPending && SeqLT(t.finPendSeq, limit) {
		limit = t.finPendSeq // nothing follows the peer's FIN
		if v.fin && v.seq+uint32(len(v.payload)) != t.finPendSeq {
			v.fin = false // a second FIN elsewhere: the first one stands
		}
	}
	if end := v.seq + uint32(len(v.payload)); SeqGT(end, limit) {
		if SeqLT(v.seq, limit) {
			v.payload = v.payload[:limit-v.seq]
		} else {
			v.payload = v.payload[:0]
		}
		v.fin = false
	} else if v.fin && !SeqLT(end, nxt+c.rcvWindow()) {
		v.fin = false // the FIN itself lies beyond the window
	}
	if v.seq != nxt {
		return // a gap remains before this segment
	}
	if v.fin {
		v.finInOrder = true
		return
	}
	if t.finPending {
		end := nxt + uint32(len(v.payload))
		for i := 0; i < t.ooo.n && SeqLEQ(t.ooo.r[i].start, end); i++ {
			if SeqGT(t.ooo.r[i].end, end) {
				end = t.ooo.r[i].end
			}
		}
		v.finInOrder = SeqGEQ(end, t.finPendSeq)
	}
}
