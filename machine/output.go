package machine

// The send side: forming segments, sending what the window allows,
// retransmission, and the effect of ACKs on the retransmission queue.
//
// Sequence space of our side: ISS is the SYN; the send buffer holds the
// data bytes from t.sndBufSeq (ISS+1 until acknowledged bytes are freed);
// the FIN, once queued, is t.finSeq, right after the last data byte. The
// retransmission queue is [SND.UNA, SND.NXT) of that space: nothing is
// copied to retransmit, segments are cut from the buffer again.

// emitRaw appends a segment with no window and no payload (RSTs).
func (c *Conn) emitRaw(seq, ack uint32, flags Flags) {
	c.outbox = append(c.outbox, Segment{Seq: seq, Ack: ack, Flags: flags})
}

// emit appends a segment of this connection carrying our receive window
// (scaled) and options. A segment with ACK satisfies a pending ACK.
func (c *Conn) emit(seq, ack uint32, flags Flags, payload []byte) {
	wnd := c.rcvWindow()
	if flags&ACK != 0 {
		c.ackSent(ack)
		c.t.rcvAdv = c.t.rcvNxt + wnd
	}
	c.outbox = append(c.outbox, Segment{Seq: seq, Ack: ack, Flags: flags, Window: c.windowField(wnd), Payload: payload})
	c.addOptions(&c.outbox[len(c.outbox)-1])
}

// emitSyn sends our SYN (or SYN+ACK) with the MSS option and the options
// Config offers (on a SYN+ACK: those negotiated).
func (c *Conn) emitSyn(ack bool) {
	t := &c.t
	wnd := c.rcvSynWindow() // a SYN's window is never scaled (RFC 7323 2.2)
	if ack {
		// A SYN+ACK (or its retransmission) advertises the window like any
		// ACK, so its right edge obeys receiver SWS avoidance too.
		wnd = min(c.rcvWindow(), MaxWindow)
	}
	seg := Segment{Seq: t.iss, Flags: SYN, Window: uint16(wnd), MSS: c.cfg.mss()}
	c.synOptions(&seg, ack)
	if ack {
		seg.Flags |= ACK
		seg.Ack = t.rcvNxt
		c.ackSent(t.rcvNxt)
		t.rcvAdv = t.rcvNxt + wnd
	}
	c.outbox = append(c.outbox, seg)
}

// output runs when an event ends: it sends the data and FIN the windows
// allow, keeps the retransmission timer in step with what is outstanding,
// and sends a pending ACK if nothing else carried it.
func (c *Conn) output() {
	t := &c.t
	switch c.state {
	case StateEstablished, StateFinWait1, StateCloseWait, StateClosing, StateLastAck:
		if t.synAcked {
			if t.cc.SMSS() == 0 {
				c.ccStart() // the first event after the handshake: the options, and so the MSS, are known
			}
			if c.unsent() {
				c.ccIdle()
			}
			if c.holeRecovery() {
				c.repairHoles()
			}
			for c.sendOne() {
			}
			if t.sndUna == t.sndNxt && c.unsent() && !t.isArmed(timerRexmt) {
				// Held back by a zero window or by SWS avoidance: the
				// retransmission timer doubles as the persist and
				// override timer (RFC 9293 3.8.6.1, 3.8.6.2.1).
				t.arm(timerRexmt, c.now+t.rto.current(c.cfg))
			}
		}
	}
	if c.ackPending || c.sackOwed {
		c.ackPending = false
		switch c.state {
		case StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2,
			StateCloseWait, StateClosing, StateLastAck, StateTimeWait:
			c.emit(t.sndNxt, t.rcvNxt, ACK, nil)
		}
		c.sackOwed = false
	}
	c.armKeepalive()
}

// dataEnd is the sequence number after the last queued data byte.
func (c *Conn) dataEnd() uint32 { return c.t.sndBufSeq + uint32(c.snd.n) }

// unsent reports whether data or a FIN waits to be sent for the first time.
func (c *Conn) unsent() bool {
	t := &c.t
	return SeqLT(t.sndNxt, c.dataEnd()) || (t.finQueued && !t.finSent)
}

// sendOne sends the next new segment if the peer's window and sender SWS
// avoidance (RFC 9293 3.8.6.2.1, without Nagle) allow. It reports whether
// it sent one.
func (c *Conn) sendOne() bool {
	t := &c.t
	end := c.dataEnd()
	if SeqLT(t.sndNxt, end) {
		if int32(t.sndUna+t.sndWnd-t.sndNxt) <= 0 {
			return false // no usable window: the persist timer probes
		}
		d := end - t.sndNxt                                  // D: queued, unsent
		usable := min(t.sndUna+t.sndWnd-t.sndNxt, c.quota()) // U: usable window, within cwnd
		if usable == 0 {
			return false // cwnd is full: the next ACK opens it
		}
		mss := c.effMSS()
		n := min(d, usable, mss)
		if n < mss && d > usable && n < t.maxSndWnd/2 {
			return false // SWS: wait for a bigger window (or the override timer)
		}
		if n < mss && c.nagle() && t.sndUna != t.sndNxt && !(n == d && t.finQueued) {
			// Nagle (RFC 9293 3.7.4): a small segment waits while text is
			// unacknowledged, unless it ends the data before our FIN.
			return false
		}
		c.sendData(t.sndNxt, n, true)
		return true
	}
	if t.finQueued && !t.finSent && t.sndNxt == end && c.finFits(end) {
		c.sendFin()
		return true
	}
	return false
}

// finFits reports whether a FIN at seq stays within SND.UNA + max(SND.WND, 1)
// (invariant 3).
func (c *Conn) finFits(seq uint32) bool {
	t := &c.t
	return SeqLEQ(seq+1, t.sndUna+max(t.sndWnd, 1))
}

// sendData sends n bytes from seq, with the FIN when they end the data and
// it fits: one segment, or two where the buffer's storage wraps (a payload
// aliases the buffer, so it cannot span the wrap). fresh marks new data:
// SND.NXT advances and the segment may be timed.
func (c *Conn) sendData(seq, n uint32, fresh bool) {
	t := &c.t
	for n > 0 {
		p := c.snd.slice(int(seq-t.sndBufSeq), int(n))
		k := uint32(len(p))
		if k == 0 {
			break // nothing queued there (not reached: callers send what is queued)
		}
		flags := ACK
		end := seq + k
		if end == c.dataEnd() {
			flags |= PSH
			if t.finQueued && (t.finSent && t.finSeq == end || !t.finSent && fresh && c.finFits(end)) {
				flags |= FIN
			}
		}
		c.emit(seq, t.rcvNxt, flags, p)
		t.sentAt = c.now
		if flags&FIN != 0 {
			end++
			t.finSent = true
		}
		if fresh {
			if SeqGT(end, t.sndNxt) {
				c.advanceSndNxt(end)
			}
			c.startTiming(end)
		}
		seq, n = seq+k, n-k
	}
	c.armSent()
}

// sendFin sends a bare FIN at SND.NXT.
func (c *Conn) sendFin() {
	t := &c.t
	c.emit(t.finSeq, t.rcvNxt, FIN|ACK, nil)
	t.sentAt = c.now
	if !t.finSent {
		t.finSent = true
		c.advanceSndNxt(t.finSeq + 1)
		c.startTiming(t.sndNxt)
	}
	c.armSent()
}

// advanceSndNxt moves SND.NXT to end after new sequence space was sent;
// sent with nothing outstanding, it begins a flight (flightAt).
func (c *Conn) advanceSndNxt(end uint32) {
	t := &c.t
	if t.sndUna == t.sndNxt {
		t.flightAt = c.now
	}
	t.sndNxt = end
}

// startTiming times the segment ending at end, unless one is being timed.
func (c *Conn) startTiming(end uint32) {
	t := &c.t
	if !t.timing {
		t.timing, t.rttSeq, t.rttStart = true, end, c.now
	}
}

// armSent starts the retransmission timer (RFC 6298 5.1) and the user
// timeout when something is outstanding and they are not running.
func (c *Conn) armSent() {
	t := &c.t
	if t.sndUna == t.sndNxt {
		return
	}
	if !t.isArmed(timerRexmt) {
		t.arm(timerRexmt, c.now+t.rto.current(c.cfg))
	}
	if !t.isArmed(timerUser) {
		t.arm(timerUser, c.now+c.userTimeout())
	}
}

// retransmit is the retransmission timer's work.
func (c *Conn) retransmit() {
	t := &c.t
	// A timeout with text outstanding in an open window is a loss; one
	// that probes a zero window is not (RFC 9293 3.8.6.1).
	if t.synAcked && t.cc.SMSS() != 0 && t.sndUna != t.sndNxt && t.sndWnd > 0 {
		c.ccTimeout()
	}
	switch {
	case t.sndUna != t.sndNxt:
		c.resendHead()
	case t.synAcked && SeqLT(t.sndNxt, c.dataEnd()):
		// Nothing outstanding but data held back: probe a zero window
		// with one byte, or override SWS avoidance.
		n := min(c.dataEnd()-t.sndNxt, c.effMSS())
		if t.sndWnd == 0 {
			n = 1
		} else {
			n = min(n, t.sndWnd)
		}
		c.sendData(t.sndNxt, n, true)
	default:
		return // nothing to do: the timer was stale
	}
	t.timing = false // Karn: no sample across a retransmission
	t.rto.backOff()
	t.arm(timerRexmt, c.now+t.rto.current(c.cfg))
}

// resendHead sends the first unacknowledged segment again: SYN or SYN+ACK,
// up to one MSS of data (no more than the peer's window, at least one
// byte), or the FIN, with its original sequence number.
func (c *Conn) resendHead() {
	t := &c.t
	// Karn: the segment being timed may be among those sent again, so
	// its ACK would no longer tell which copy it answers (BSD likewise
	// stops timing on every retransmission).
	t.timing = false
	sent := len(c.outbox)
	defer func() { c.count.Retransmits += uint64(len(c.outbox) - sent) }()
	if t.synSent && !t.synAcked {
		t.synRexmitted = true
		c.emitSyn(t.irsValid)
		return
	}
	// Sent data ends at SND.NXT or, once the FIN is sent, one before it;
	// compared in sequence space, since either may have wrapped past 2^32.
	sentEnd := t.sndNxt
	if end := c.dataEnd(); SeqLT(end, sentEnd) {
		sentEnd = end
	}
	sentData := sentEnd - t.sndUna
	if int32(sentData) > 0 {
		n := min(sentData, c.effMSS(), max(t.sndWnd, 1))
		c.sendData(t.sndUna, n, false)
		end := t.sndUna + n
		if t.finSent && end == t.finSeq {
			end++ // the FIN rode along
		}
		t.highRxt, t.passNxt = seqMax(t.highRxt, end), t.sndNxt
		return
	}
	if t.finSent && !t.finAcked {
		c.sendFin()
		t.highRxt = seqMax(t.highRxt, t.finSeq+1)
	}
}

// ackNew handles an ACK of new sequence space (SND.UNA < ack =< SND.NXT):
// the SYN, data bytes and the FIN it covers leave the queue; an RTT sample
// is taken; the timers restart or stop (RFC 6298 5.2, 5.3).
func (c *Conn) ackNew(ack uint32) {
	t := &c.t
	acked := ack - t.sndUna
	synAck := t.synSent && !t.synAcked && acked > 0
	if synAck {
		t.synAcked = true
		acked--
	}
	// Congestion control sees the ACK before SND.UNA moves; the ACK of
	// our SYN starts it instead.
	resend := !synAck && t.cc.SMSS() != 0 && c.ccNewAck(ack)
	data := min(acked, uint32(c.snd.n))
	c.snd.consume(int(data))
	if c.snd.n == 0 {
		c.snd.head = 0
	}
	t.sndBufSeq += data
	if acked > data && t.finSent {
		t.finAcked = true
	}
	flight := t.sndNxt - t.sndUna
	t.sndUna = ack
	t.highRxt = seqMax(t.highRxt, ack)
	switch {
	case t.opts.Has(OptTimestamps):
		t.timing = false
		c.timestampRTT(flight)
	case t.timing && SeqGEQ(ack, t.rttSeq):
		t.timing = false
		t.rto.sample(c.now-t.rttStart, 1, c.cfg)
	}
	if t.sndUna == t.sndNxt {
		t.disarm(timerRexmt)
		t.disarm(timerUser)
	} else {
		t.arm(timerRexmt, c.now+t.rto.current(c.cfg))
		t.arm(timerUser, c.now+c.userTimeout())
	}
	if t.finAcked && c.state == StateFinWait1 {
		t.arm(timerFinWait2, c.now+c.cfg.finWait2())
	}
	if resend {
		c.resendHead() // a partial ACK: the next hole (RFC 6582 3.2, RFC 5681 3.1)
	}
}

// dupAck passes an ACK of SND.UNA to congestion control, a duplicate when
// RFC 5681 2 says so (data outstanding, no text, no SYN or FIN, the same
// window), and resends the head when it calls for a fast retransmit.
func (c *Conn) dupAck(s *Segment) {
	t := &c.t
	if !t.synAcked || t.cc.SMSS() == 0 {
		return
	}
	dup := t.sndUna != t.sndNxt && len(s.Payload) == 0 && s.Flags&(SYN|FIN) == 0 && c.segWindow(s) == t.sndWnd
	if c.ccDupAck(s.Ack, dup) {
		c.resendHead()
	}
}
