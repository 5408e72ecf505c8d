package machine

import "github.com/tcpfsm/tcpfsm/cc"

// This file is loss recovery's sender when the scoreboard decides what to
// resend: in fast recovery with SACK, RFC 6675's pipe and NextSeg; after a
// retransmission timeout, the same loop with every byte sent before the
// timeout taken as lost, so that slow start resends the holes as fast as
// cwnd regrows (go-back-N, skipping what the peer SACKed). NewReno's fast
// recovery without SACK resends only the head (congestion.go).

// hole is sequence space in [SND.UNA, SND.NXT) the peer has not SACKed.
type hole struct {
	start, end uint32
	lostEnd    uint32 // [start, lostEnd) is taken as lost (RFC 6675 IsLost, or below the timeout's recovery point)
}

// holeRecovery reports whether the scoreboard drives resending: fast
// recovery with SACK, or recovery after a timeout.
func (c *Conn) holeRecovery() bool {
	t := &c.t
	switch t.cc.State() {
	case cc.StateFastRecovery:
		return t.opts.Has(OptSACKPermitted)
	case cc.StateLossRecovery:
		return true
	}
	return false
}

// holes calls fn for each hole in sequence order until it returns false.
// A hole is lost when DupThresh ranges or more than (DupThresh-1)*SMSS
// bytes are SACKed above it (RFC 6675 IsLost); in fast recovery, the
// segment at SND.UNA is lost if it was sent before the recovery began
// (entering recovery says so of the first, and a partial ACK of the next,
// as RFC 6582 3.2 infers); after a timeout, whatever lies below the
// recovery point is lost too.
func (c *Conn) holes(fn func(h hole) bool) {
	t := &c.t
	var sacked uint32
	for i := 0; i < t.sacked.n; i++ {
		sacked += t.sacked.r[i].end - t.sacked.r[i].start
	}
	recover, _ := t.cc.Recover()
	afterRTO := t.cc.State() == cc.StateLossRecovery
	start := t.sndUna
	for i := 0; i <= t.sacked.n; i++ {
		end := t.sndNxt
		if i < t.sacked.n {
			end = t.sacked.r[i].start
		}
		if SeqLT(start, end) {
			h := hole{start: start, end: end, lostEnd: start}
			if c.isLost(t.sacked.n-i, sacked) {
				h.lostEnd = end
			}
			if start == t.sndUna && t.cc.State() == cc.StateFastRecovery && SeqLEQ(start, recover) {
				h.lostEnd = seqMax(h.lostEnd, seqMin(seqMin(end, start+c.effMSS()), recover+1))
			}
			if afterRTO && SeqLEQ(start, recover) {
				h.lostEnd = seqMax(h.lostEnd, seqMin(end, recover+1))
			}
			if !fn(h) {
				return
			}
		}
		if i < t.sacked.n {
			sacked -= t.sacked.r[i].end - t.sacked.r[i].start
			start = t.sacked.r[i].end
		}
	}
}

// pipe is RFC 6675's estimate of the bytes in the network: every byte not
// SACKed and not lost, plus every byte resent in this recovery (HighRxt).
func (c *Conn) pipe() uint32 {
	t := &c.t
	var p uint32
	c.holes(func(h hole) bool {
		p += h.end - h.lostEnd
		if SeqGT(t.highRxt, h.start) {
			p += seqMin(h.end, t.highRxt) - h.start
		}
		return true
	})
	return p
}

// nextLost is RFC 6675 NextSeg's first rule: the first lost byte beyond
// HighRxt, and the end of the lost run it starts.
func (c *Conn) nextLost() (start, end uint32, ok bool) {
	t := &c.t
	c.holes(func(h hole) bool {
		s := seqMax(h.start, t.highRxt)
		if SeqLT(s, h.lostEnd) {
			start, end, ok = s, h.lostEnd, true
			return false
		}
		return true
	})
	return start, end, ok
}

// lostAgain starts a new pass of resends when text sent after the pass's
// latest resend has been SACKed: every hole the pass resent that is still a
// hole then lost its retransmission too, since the path delivered what was
// sent after it (RFC 8985 6.2's rule, applied to the pass's latest resend
// rather than to each segment's time). HighRxt goes back to SND.UNA so
// NextSeg finds those holes again; their first copies no longer count in
// pipe.
func (c *Conn) lostAgain() {
	t := &c.t
	if !c.holeRecovery() || t.sacked.n == 0 || t.highRxt == t.sndUna {
		return
	}
	if top := t.sacked.r[t.sacked.n-1].end; SeqGT(top, t.passNxt) {
		t.highRxt, t.passNxt = t.sndUna, t.sndNxt
	}
}

// repairHoles resends lost sequence space while cwnd - pipe leaves room
// for a segment (RFC 6675 5 step C; one segment always, when nothing is in
// the network): NextSeg's first rule. New data (its second rule) follows
// in output, within the same room. Its third rule, resending what is not
// known lost, is left out: it resends segments still in flight.
func (c *Conn) repairHoles() {
	t := &c.t
	for {
		p := c.pipe()
		if cwnd := t.cc.Cwnd(); p > 0 && (p >= cwnd || cwnd-p < c.effMSS()) {
			return
		}
		start, end, ok := c.nextLost()
		if !ok {
			return
		}
		sent := c.resendRange(start, end)
		if sent == 0 {
			return
		}
		t.highRxt, t.passNxt = start+sent, t.sndNxt
	}
}

// resendRange sends again up to one MSS of [start, end), or the FIN when
// that is all the range holds; it returns the sequence space resent.
func (c *Conn) resendRange(start, end uint32) uint32 {
	t := &c.t
	t.timing = false // Karn
	before := len(c.outbox)
	defer func() { c.count.Retransmits += uint64(len(c.outbox) - before) }()
	dataEnd := t.sndNxt
	if e := c.dataEnd(); SeqLT(e, dataEnd) {
		dataEnd = e
	}
	if SeqLT(start, dataEnd) {
		n := min(seqMin(end, dataEnd)-start, c.effMSS())
		c.sendData(start, n, false)
		if t.finSent && start+n == t.finSeq {
			n++ // the FIN rode along
		}
		return n
	}
	if t.finSent && !t.finAcked && start == t.finSeq {
		c.sendFin()
		return 1
	}
	return 0
}

func seqMax(a, b uint32) uint32 {
	if SeqGT(a, b) {
		return a
	}
	return b
}

func seqMin(a, b uint32) uint32 {
	if SeqLT(a, b) {
		return a
	}
	return b
}
