package machine

import "time"

// TCP options: window scaling and timestamps (RFC 7323), SACK (RFC 2018,
// D-SACK RFC 2883). Each is on for a connection exactly when both SYNs
// carry it: ours offers what Config allows, and a SYN+ACK repeats only what
// the peer's SYN offered (take_options). Windows, timestamps and SACK
// blocks are then arithmetic on the TCB, here; the control (PAWS, the
// incarnation test of RFC 6191) is in the spec's guards.

// offered is what our SYN carries, by Config.
func (c *Config) offered() Opts {
	var o Opts
	if !c.NoWindowScale {
		o |= OptWScale
	}
	if !c.NoSACK {
		o |= OptSACKPermitted
	}
	if !c.NoTimestamps {
		o |= OptTimestamps
	}
	return o
}

// rcvShift is the window scale we offer: the smallest shift that lets the
// 16-bit window field cover the whole receive buffer (RFC 7323 2.3), or
// Config.WindowShift if larger.
func (c *Config) rcvShift() uint8 {
	s := min(c.WindowShift, MaxShift)
	for s < MaxShift && uint64(c.rcvBuf()) > uint64(MaxWindow)<<s {
		s++
	}
	return s
}

// TakeOptions is action take_options: on the peer's SYN (or SYN+ACK), the
// options both SYNs carry are on; the peer's window scale is capped at 14
// (RFC 7323 2.3) and its timestamp becomes TS.Recent.
func (c *Conn) TakeOptions() {
	t, s := &c.t, c.seg
	if s == nil {
		return
	}
	t.opts = c.cfg.offered() & s.Opts
	t.sndShift, t.rcvShift = 0, 0
	if t.opts.Has(OptWScale) {
		t.sndShift, t.rcvShift = min(s.WScale, MaxShift), c.cfg.rcvShift()
	}
	if t.opts.Has(OptTimestamps) {
		t.tsRecent, t.tsRecentAt = s.TSVal, c.now
	}
}

// segWindow is SEG.WND in bytes: the field scaled by the peer's shift,
// except on a SYN (RFC 7323 2.2: a SYN's window is never scaled).
func (c *Conn) segWindow(s *Segment) uint32 {
	if s.Flags&SYN != 0 {
		return uint32(s.Window)
	}
	return uint32(s.Window) << c.t.sndShift
}

// maxRcvWindow is the largest receive window the window field can carry
// with our shift.
func (c *Conn) maxRcvWindow() uint32 { return MaxWindow << c.t.rcvShift }

// windowField is the window field for a window of wnd bytes: scaled by our
// shift, rounded down (RFC 7323 2.3), so the peer never sees more than
// the buffer holds.
func (c *Conn) windowField(wnd uint32) uint16 {
	return uint16(min(wnd>>c.t.rcvShift, MaxWindow))
}

// tsOptionLen is the space a timestamps option takes on a segment, with
// its two NOPs.
const tsOptionLen = 12

// effMSS is the text one segment we send carries at most: the send MSS
// (0 until the peer's SYN is in) less the options.
func (c *Conn) effMSS() uint32 { return c.lessOptions(uint32(c.t.sndMSS)) }

// lessOptions is the text a segment of MSS mss carries: less the
// timestamps option when it is on (RFC 6691: the MSS counts no options),
// but never under half the MSS, so a tiny MSS still carries text (with
// MinPeerMSS at its default, 216, the floor is never reached).
func (c *Conn) lessOptions(mss uint32) uint32 {
	if c.t.opts.Has(OptTimestamps) {
		return max(mss-min(mss, tsOptionLen), (mss+1)/2)
	}
	return mss
}

// tsClock is our timestamp clock now.
func (c *Conn) tsClock() uint32 { return tsClockAt(c.now, c.t.tsOffset) }

// tsClockAt is the timestamp clock at now for a connection whose offset
// is offset: milliseconds (RFC 7323 5.4 allows 1 ms to 1 s per tick) plus
// the offset.
func tsClockAt(now time.Duration, offset uint32) uint32 {
	return uint32(int64(now/time.Millisecond)) + offset
}

// tsOffset is the connection's timestamp clock offset (RFC 7323 7.1): a
// keyed hash of the 4-tuple, so timestamps reveal no uptime and stay
// monotonic across incarnations of one 4-tuple (RFC 6191 relies on it).
func tsOffset(key *[16]byte, t Tuple) uint32 { return uint32(tupleHash(key, t) >> 32) }

// addOptions puts the options every segment of a synchronized connection
// carries on seg: timestamps, and SACK blocks on an ACK while text is held
// out of order or a duplicate was just received.
func (c *Conn) addOptions(seg *Segment) {
	t := &c.t
	room := MaxSACKBlocks
	if t.opts.Has(OptTimestamps) {
		seg.Opts |= OptTimestamps
		seg.TSVal, seg.TSEcr = c.tsClock(), t.tsRecent
		room = MaxSACKBlocks - 1 // 12 bytes of timestamps leave room for three
	}
	// SACK blocks ride on pure ACKs only, so a data segment's size does
	// not depend on them; new SACK information makes output send one.
	if t.opts.Has(OptSACKPermitted) && seg.Flags&ACK != 0 && len(seg.Payload) == 0 && seg.Flags&(SYN|FIN|RST) == 0 {
		seg.NumSACK = uint8(c.sackBlocks(&seg.SACK, room))
		c.sackOwed = false
	}
}

// synOptions puts our SYN's options on seg: what Config offers on a SYN,
// what was negotiated on a SYN+ACK (RFC 7323 2.2, 3.2; RFC 2018 2: an
// option the peer's SYN lacked is never sent back).
func (c *Conn) synOptions(seg *Segment, synack bool) {
	t := &c.t
	o := c.cfg.offered()
	if synack {
		o = t.opts
	}
	seg.Opts = o
	if o.Has(OptWScale) {
		seg.WScale = c.cfg.rcvShift()
	}
	if o.Has(OptTimestamps) {
		seg.TSVal = c.tsClock()
		if synack {
			seg.TSEcr = t.tsRecent
		}
	}
}

// pawsIdle is how long TS.Recent stays valid without an update (RFC 7323
// 5.5: 24 days, less than half the timestamp clock's 2^31 ms range).
const pawsIdle = 24 * 24 * time.Hour

// pawsReject is the test of RFC 7323 5.3 R1: with timestamps on, a segment
// other than an RST whose timestamp is older than TS.Recent (while
// TS.Recent is valid) is an old duplicate.
func (c *Conn) pawsReject(s *Segment) bool {
	t := &c.t
	return t.opts.Has(OptTimestamps) && s.Opts.Has(OptTimestamps) && s.Flags&RST == 0 &&
		SeqLT(s.TSVal, t.tsRecent) && c.tsRecentValid()
}

// tsRecentValid reports whether TS.Recent is still valid: updated within
// pawsIdle (RFC 7323 5.5).
func (c *Conn) tsRecentValid() bool { return c.now-c.t.tsRecentAt < pawsIdle }

// PawsReject is guard paws_reject (RFC 7323 5.3 R1).
func (c *Conn) PawsReject() bool { return c.seg != nil && c.pawsReject(c.seg) }

// timestampRTT is RTTM (RFC 7323 4.1) for an ACK of new data that left
// flight bytes outstanding before it: the sample is the timestamp clock
// less the TSecr echoed, so segments sent more than once are timed too
// (no Karn ambiguity). An echo from the future, or older than the flight
// the ACK covers began (stale, or forged to inflate the RTO), gives no
// sample. The gains are divided by the samples expected per round trip,
// one per two full segments (RFC 7323 Appendix G).
func (c *Conn) timestampRTT(flight uint32) {
	t, s := &c.t, c.seg
	if s == nil || !s.Opts.Has(OptTimestamps) {
		return
	}
	now := c.tsClock()
	if SeqGT(s.TSEcr, now) || SeqLT(s.TSEcr, tsClockAt(t.flightAt, t.tsOffset)) {
		return
	}
	smss := uint32(max(c.effMSS(), 1))
	t.rto.sample(time.Duration(now-s.TSEcr)*time.Millisecond, (flight+2*smss-1)/(2*smss), c.cfg)
}

// noteTimestamp is RFC 7323 4.3 (and 5.3 R3): an acceptable segment whose
// timestamp is not older than TS.Recent (or any, once TS.Recent has gone
// invalid after pawsIdle, RFC 7323 5.5) and that starts at or before the
// ACK we last sent updates TS.Recent.
func (c *Conn) noteTimestamp(s *Segment) {
	t := &c.t
	if t.opts.Has(OptTimestamps) && s.Opts.Has(OptTimestamps) &&
		(SeqGEQ(s.TSVal, t.tsRecent) || !c.tsRecentValid()) && SeqLEQ(s.Seq, t.lastAckSent) {
		t.tsRecent, t.tsRecentAt = s.TSVal, c.now
	}
}
