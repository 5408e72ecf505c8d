package machine

import "encoding/binary"

// CopyTo makes dst a deep copy of c: same Config and tuple, same state,
// TCB, buffer contents, timers and outbox (whose payloads then alias dst's
// send buffer). It reuses dst's storage and does not allocate once dst's
// buffers are as large as c's. The event context (a segment or user buffer
// in use) is not copied: call CopyTo between calls.
func (c *Conn) CopyTo(dst *Conn) {
	snd, rcv, out := dst.snd, dst.rcv, dst.outbox
	ooo, sacked := dst.t.ooo, dst.t.sacked
	*dst = *c
	dst.t.ooo, dst.t.sacked = ooo, sacked
	c.t.ooo.copyTo(&dst.t.ooo)
	c.t.sacked.copyTo(&dst.t.sacked)
	dst.seg, dst.in, dst.ubuf, dst.view = nil, Segment{}, nil, segView{}
	dst.snd, dst.rcv = snd, rcv
	c.snd.copyTo(&dst.snd, c.snd.n)
	c.rcv.copyTo(&dst.rcv, c.rcv.n+c.oooExtent())
	dst.outbox = append(out[:0], c.outbox...)
	for i := range dst.outbox {
		if p := dst.outbox[i].Payload; len(p) > 0 {
			if off, ok := c.sndOffset(p); ok {
				dst.outbox[i].Payload = dst.snd.buf[off : off+len(p)]
			}
		}
	}
}

// CopyStateTo is CopyTo, except that dst keeps its own Config: it takes
// c's state into a Conn with another owner (an Observer of its own), as a
// checker with a world per worker does. The two Configs must agree on
// everything but their hooks.
func (c *Conn) CopyStateTo(dst *Conn) {
	cfg := dst.cfg
	c.CopyTo(dst)
	dst.cfg = cfg
}

// sndOffset is the position of p in the send buffer's storage, when p
// aliases it (every payload a Conn emits does).
func (c *Conn) sndOffset(p []byte) (int, bool) {
	b := c.snd.buf
	if cap(b) == 0 || cap(p) > cap(b) {
		return 0, false
	}
	off := cap(b) - cap(p)
	if off+len(p) > len(b) || &b[:off+1][off] != &p[0] {
		return 0, false
	}
	return off, true
}

// AppendKey appends a canonical encoding of everything that decides c's
// future behaviour, given the same future inputs, to b: the state; the
// TCB's sequence variables and flags; the send buffer's bytes, the readable
// bytes and the held out-of-order ranges with their bytes; which timers are
// armed and the retransmission backoff; the challenge-ACK count; the error;
// and the outbox. Two Conns with equal keys behave alike.
//
// Time is left out: timer deadlines, RTT estimates, the RTO, the RTT
// sample's start, the challenge-ACK window's start and timestamps (TS.Recent
// and its age, Last.ACK.sent that decides its updates, the values on
// segments in the outbox) are time the
// exhaustive checker treats abstractly (any armed timer may fire next).
// Storage layout (where a ring's head is) is left out too: only contents
// count. The Config is not encoded: compare keys of Conns sharing one.
func (c *Conn) AppendKey(b []byte) []byte {
	t := &c.t
	b = append(b, byte(c.state), errCode(c.err))
	var flags uint32
	for i, f := range [...]bool{
		t.synSent, t.synAcked, t.irsValid, t.passive, t.finQueued, t.finSent, t.finAcked,
		t.finRcvd, t.finPending, t.synRexmitted, t.prevValid, t.timing,
		c.acceptIncarnation, t.rto.hasSample, t.dsackValid,
	} {
		if f {
			flags |= 1 << i
		}
	}
	b = binary.BigEndian.AppendUint32(b, flags)
	for _, v := range [...]uint32{
		t.iss, t.sndUna, t.sndNxt, t.sndWnd, t.sndWl1, t.sndWl2, t.maxSndWnd, t.sndBufSeq, t.finSeq,
		t.irs, t.rcvNxt, t.rcvAdv, t.finPendSeq, t.prevSndNxt, t.rttSeq,
		uint32(t.peerMSS)<<16 | uint32(t.sndMSS),
		uint32(t.rto.backoff)<<16 | uint32(t.armed)<<8,
		uint32(t.challengeCount),
		uint32(t.opts)<<16 | uint32(t.sndShift)<<8 | uint32(t.rcvShift),
	} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(c.snd.n))
	b = c.snd.appendTo(b, 0, c.snd.n)
	b = binary.BigEndian.AppendUint32(b, uint32(c.rcv.n))
	b = c.rcv.appendTo(b, 0, c.rcv.n)
	b = binary.BigEndian.AppendUint32(b, uint32(t.ooo.n))
	for i := 0; i < t.ooo.n; i++ {
		r := t.ooo.r[i]
		b = binary.BigEndian.AppendUint32(b, r.start)
		b = binary.BigEndian.AppendUint32(b, r.end)
		b = c.rcv.appendTo(b, c.rcv.n+int(r.start-t.rcvNxt), int(r.end-r.start))
	}
	b = t.cc.AppendKey(b)
	b = binary.BigEndian.AppendUint32(b, uint32(t.sacked.n))
	for _, r := range t.sacked.r[:t.sacked.n] {
		b = binary.BigEndian.AppendUint32(b, r.start)
		b = binary.BigEndian.AppendUint32(b, r.end)
	}
	// Of the recently received segments, only which held range each
	// falls in decides the SACK blocks' order.
	for _, seq := range t.recent[:t.nRecent] {
		b = append(b, byte(c.heldAt(seq)+1))
	}
	if t.dsackValid {
		b = binary.BigEndian.AppendUint32(b, t.dsack.start)
		b = binary.BigEndian.AppendUint32(b, t.dsack.end)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.outbox)))
	for i := range c.outbox {
		s := &c.outbox[i]
		b = binary.BigEndian.AppendUint32(b, s.Seq)
		b = binary.BigEndian.AppendUint32(b, s.Ack)
		b = binary.BigEndian.AppendUint16(b, s.Window)
		b = append(b, byte(s.Flags), byte(s.MSS>>8), byte(s.MSS), byte(s.Opts), s.WScale, s.NumSACK)
		for _, k := range s.SACK[:s.NumSACK] {
			b = binary.BigEndian.AppendUint32(b, k.Left)
			b = binary.BigEndian.AppendUint32(b, k.Right)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(s.Payload)))
		b = append(b, s.Payload...)
	}
	return b
}

// errCode numbers the errors a Conn reports, for AppendKey.
func errCode(err error) byte {
	for i, e := range [...]error{nil, ErrReset, ErrRefused, ErrTimeout, ErrAborted} {
		if err == e {
			return byte(i)
		}
	}
	return 0xff
}
