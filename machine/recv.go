package machine

import "io"

// The receive side: the window, in-order text, reassembly of out-of-order
// text, and delivery to the application.
//
// The receive ring holds the readable bytes (RCV.USER of RFC 9293 3.8.6.2.2)
// from its head; the byte with sequence number RCV.NXT+k is stored k bytes
// after them, so out-of-order text sits at its final place and becomes
// readable by advancing RCV.NXT over it, without copying.

// rcvFree is the receive buffer's free space.
func (c *Conn) rcvFree() uint32 { return uint32(max(c.cfg.rcvBuf()-c.rcv.n, 0)) }

// rcvFreeWindow is the free space as the window field can carry it with
// our window scale.
func (c *Conn) rcvFreeWindow() uint32 { return min(c.rcvFree(), c.maxRcvWindow()) }

// rcvSynWindow is the window of our SYN or SYN+ACK: never scaled (RFC 7323
// 2.2), so at most MaxWindow.
func (c *Conn) rcvSynWindow() uint32 { return min(c.rcvFree(), MaxWindow) }

// MaxWindow is the largest value of the 16-bit window field: the largest
// window without window scaling (RFC 7323 2).
const MaxWindow = 65535

// rcvWindow is RCV.WND: the free space (at most what the window field
// carries with our scale), except that the right edge
// RCV.NXT+RCV.WND only moves right, and only by at least
// min(RcvBuf/2, MSS) at a time (receiver SWS avoidance, RFC 9293
// 3.8.6.2.2). It is the window advertised, and the one the acceptability
// test and trimming use.
func (c *Conn) rcvWindow() uint32 {
	t := &c.t
	free := c.rcvFreeWindow()
	var old uint32 // what is left of the window last advertised
	if SeqGT(t.rcvAdv, t.rcvNxt) {
		old = t.rcvAdv - t.rcvNxt
	}
	if old >= free {
		return free
	}
	if free-old >= min(uint32(c.cfg.rcvBuf()/2), uint32(c.cfg.mss())) {
		return free
	}
	return old
}

// oooExtent is how far past RCV.NXT held out-of-order text reaches.
func (c *Conn) oooExtent() int {
	t := &c.t
	if t.ooo.n == 0 {
		return 0
	}
	return int(t.ooo.r[t.ooo.n-1].end - t.rcvNxt)
}

// acceptText implements accept_text on the current segment's trimmed view.
func (c *Conn) acceptText() {
	t, v := &c.t, &c.view
	if v.fin && !v.finInOrder {
		// An out-of-order FIN: it becomes in order once the text
		// before it arrives (Classify looks for that).
		if !t.finPending {
			t.finPending, t.finPendSeq = true, v.seq+uint32(len(v.payload))
		}
		c.ackPending = true
	}
	if v.zeroWnd {
		c.ackPending = true // text refused by a zero window: say so
	}
	if SeqLT(v.dup.start, v.dup.end) {
		c.noteDuplicate(v.dup.start, v.dup.end)
		c.ackPending = true // RFC 2883 4.1: report the duplicate at once
	}
	n := len(v.payload)
	if n == 0 {
		return
	}
	// The view starts at or after RCV.NXT and ends within the window,
	// which never exceeds the buffer's free space; the check keeps memory
	// bounded by RcvBuf whatever sequence numbers a segment carries.
	off := uint32(v.seq - t.rcvNxt)
	limit := c.cfg.rcvBuf()
	if uint64(off)+uint64(n) > uint64(limit-c.rcv.n) {
		c.ackPending = true
		if off > 0 && c.Holds(v.seq, v.seq+uint32(n)) {
			c.noteReceived(v.seq) // held before: its block still comes first
		}
		return
	}
	keep := c.rcv.n + c.oooExtent()
	want := max(c.rcv.n+int(off)+n, keep)
	c.rcv.reserve(want, keep, limit)
	c.rcv.write(c.rcv.n+int(off), v.payload)
	if off == 0 {
		c.rcv.n += n
		t.rcvNxt += uint32(n)
		gap := t.ooo.n > 0
		c.joinOOO()
		// In order: the ACK may wait for more text or a reply to ride on
		// (delack.go), unless the text fills a gap (RFC 5681 4.2).
		if gap || !c.delayACK() {
			c.ackPending = true
		}
		return
	}
	c.ackPending = true // out of order: ACK at once (RFC 5681 4.2)
	c.holdOOO(v.seq, v.seq+uint32(n))
	c.noteReceived(v.seq)
}

// joinOOO advances RCV.NXT over held text that is now in order.
func (c *Conn) joinOOO() {
	t := &c.t
	drop := 0
	for drop < t.ooo.n && SeqLEQ(t.ooo.r[drop].start, t.rcvNxt) {
		if r := t.ooo.r[drop]; SeqGT(r.end, t.rcvNxt) {
			c.rcv.n += int(r.end - t.rcvNxt)
			t.rcvNxt = r.end
		}
		drop++
	}
	if drop > 0 {
		t.ooo.dropFirst(drop)
	}
}

// holdOOO records [s, e) as held, merging it with ranges it overlaps or
// touches. With every range in use, text needing a new one is dropped.
func (c *Conn) holdOOO(s, e uint32) { c.t.ooo.add(seqRange{s, e}, c.maxOOO()) }

// deliver implements the deliver action.
func (c *Conn) deliver() {
	t, p := &c.t, c.ubuf
	k := min(len(p), c.rcv.n)
	if k == 0 {
		if len(p) > 0 && t.finRcvd {
			c.callErr = io.EOF
		}
		return
	}
	c.rcv.read(0, p[:k])
	c.rcv.consume(k)
	if c.rcv.n == 0 && t.ooo.n == 0 {
		c.rcv.head = 0
	}
	c.un = k
	if t.irsValid && !t.finRcvd && c.windowUpdateDue() {
		c.ackPending = true // a window update (RFC 9293 3.8.6.2.2)
	}
}

// windowUpdateDue reports whether a read owes the peer a window update: it
// moved the window's right edge, and the window is now at least twice what
// the peer may still send of the one it was given (Linux's rule,
// tcp_cleanup_rbuf). RFC 9293 leaves when to send the update open; a peer
// with half the window or more still open keeps sending, and the ACKs of
// that text carry the new edge, so an update per read would only cost a
// segment each (a bulk receiver reading 32 KiB at a time sent one per
// read).
func (c *Conn) windowUpdateDue() bool {
	t := &c.t
	wnd := c.rcvWindow()
	if t.rcvNxt+wnd == t.rcvAdv {
		return false
	}
	var left uint32
	if SeqGT(t.rcvAdv, t.rcvNxt) {
		left = t.rcvAdv - t.rcvNxt
	}
	return uint64(wnd) >= 2*uint64(left)
}
