package machine

import "github.com/tcpfsm/tcpfsm/cc"

// This file connects the TCP machine's ACK and timer rows to the congestion
// control machine of spec/cc.yaml (package cc): process_ack feeds it every
// new and duplicate ACK, retransmit every timeout with data outstanding,
// output an idle restart; the sender sends only what cc.Controller.Quota
// allows, and resends the head when the machine says so.

// ccStart begins congestion control at the end of the event that
// acknowledged our SYN, once the options (and so the MSS) are settled: the
// initial window of RFC 6928, or one segment if the SYN or SYN+ACK had to
// be sent again (RFC 6298 5.7, RFC 5681 3.1).
func (c *Conn) ccStart() {
	t := &c.t
	t.cc.Init(c.cfg.Congestion, c.effMSS(), t.opts.Has(OptSACKPermitted))
	if t.synRexmitted {
		t.cc.LossWindow()
	}
	t.sentAt = c.now
}

// ccAck is an ACK's input to congestion control, before SND.UNA moves.
func (c *Conn) ccAck(ack uint32, dup bool) cc.Ack {
	t := &c.t
	return cc.Ack{
		Now: c.now, SndUna: t.sndUna, SndNxt: t.sndNxt, SegAck: ack,
		Duplicate: dup, SACKLoss: dup && c.headLost(), SRTT: t.rto.srtt,
	}
}

// ccNewAck feeds an ACK of new data; it reports whether the head must be
// sent again: NewReno's partial ACK in fast recovery (RFC 6582 3.2). With
// SACK, and after a timeout, output's repairHoles resends instead.
func (c *Conn) ccNewAck(ack uint32) (resend bool) {
	t := &c.t
	t.cc.OnAck(c.ccAck(ack, false))
	resend = t.cc.Retransmit
	t.cc.Retransmit = false
	return resend
}

// ccDupAck feeds an ACK of SND.UNA, a duplicate (RFC 5681 2) or not (a
// window update, text: it ends a run of duplicates); it reports whether the
// head must be sent again: fast retransmit.
func (c *Conn) ccDupAck(ack uint32, dup bool) (resend bool) {
	t := &c.t
	if t.cc.OnAck(c.ccAck(ack, dup)); t.cc.Retransmit {
		c.count.FastRecovery++
		t.highRxt, t.passNxt = t.sndUna, t.sndNxt // a new recovery: nothing resent yet
	}
	resend = t.cc.Retransmit
	t.cc.Retransmit = false
	return resend
}

// ccTimeout tells congestion control that the retransmission timer expired
// with data outstanding.
func (c *Conn) ccTimeout() {
	t := &c.t
	t.cc.OnRTO(cc.Ack{Now: c.now, SndUna: t.sndUna, SndNxt: t.sndNxt, SegAck: t.sndUna})
	c.count.Timeouts++
	t.highRxt, t.passNxt = t.sndUna, t.sndNxt
	t.cc.Retransmit = false // the timer resends the head itself
}

// ccIdle restarts the window before new data goes out after the sender
// sent nothing for longer than the RTO (RFC 5681 4.1).
func (c *Conn) ccIdle() {
	t := &c.t
	if t.sndUna == t.sndNxt && c.now-t.sentAt > t.rto.current(c.cfg) {
		t.cc.OnIdle(c.now)
		t.sentAt = c.now
	}
}

// quota is how much more text may go out: the peer's window and cwnd
// (cc.Controller.Quota), against what is in flight: FlightSize, or RFC
// 6675's pipe while the scoreboard drives recovery.
func (c *Conn) quota() uint32 {
	t := &c.t
	inFlight := t.sndNxt - t.sndUna
	if c.holeRecovery() {
		inFlight = c.pipe()
	}
	return t.cc.Quota(inFlight, t.sndWnd)
}

// headLost is RFC 6675's IsLost(SND.UNA): every range of the scoreboard
// lies above it.
func (c *Conn) headLost() bool {
	t := &c.t
	if !t.opts.Has(OptSACKPermitted) {
		return false
	}
	var bytes uint32
	for i := 0; i < t.sacked.n; i++ {
		bytes += t.sacked.r[i].end - t.sacked.r[i].start
	}
	return c.isLost(t.sacked.n, bytes)
}

// isLost is RFC 6675's IsLost for a sequence number with ranges SACKed
// ranges and bytes SACKed bytes above it: DupThresh discontiguous ranges,
// or more than (DupThresh-1)*SMSS bytes.
func (c *Conn) isLost(ranges int, bytes uint32) bool {
	return ranges >= cc.DupThresh || bytes > (cc.DupThresh-1)*c.effMSS()
}
