package machine

import (
	"encoding/binary"
	"time"
)

// SYN cookies (RFC 4987 3.6): a listener that cannot keep a half-open
// connection answers a SYN with a SYN+ACK whose ISS encodes what it needs
// and keeps no TCB (rule listen_rcv_syn_cookie); the ACK that returns the
// cookie creates the connection, in ESTABLISHED (listen_rcv_cookie_ack).
//
// The cookie, as RFC 4987 3.6 lays it out: the top 5 bits are a counter
// of 64-second periods, the next 3 an index into cookieMSS, the low 24 a
// keyed hash (SipHash-2-4 under a key derived from Config.ISNKey) of the
// 4-tuple, the peer's ISN, the full counter, the index and the option
// bits (below). A cookie is
// valid for two periods (64 to 128 s). Window scale and SACK-permitted
// ride in the low 6 bits of the SYN+ACK's timestamp, which the ACK echoes
// (as Linux does); without timestamps the connection has neither.

// cookiePeriod is the cookie counter's tick.
const cookiePeriod = 64 * time.Second

// cookieMSS are the MSS values a cookie can carry (3 bits), ascending: the
// largest not above the peer's MSS (and ours) is encoded.
var cookieMSS = [8]uint16{216, 536, 1200, 1300, 1360, 1400, 1440, 1460}

// cookieTSBits are the timestamp bits that carry the options: bits 0-3
// the peer's window scale (15: none), bit 4 SACK-permitted. The hash
// covers them (cookieNoTS standing for no timestamps), so an ACK whose
// echo is not the cookie SYN+ACK's timestamp (a later segment's, after
// the connection the cookie made was gone) is no valid cookie, rather
// than a connection with options read from the wrong bits.
const (
	cookieTSBits = 0x3f
	cookieNoWS   = 0xf
	cookieSACK   = 0x10
	cookieNoTS   = 0x40
)

// SetSynCookies says whether this listener answers SYNs with cookies (and
// takes ACKs carrying them): a runtime sets it before handing a listener
// a SYN when its half-open queue is full, and before an ACK when it was
// full within the cookies' lifetime. Config.SYNCookies makes it always so.
func (c *Conn) SetSynCookies(on bool) { c.synCookies = on }

// cookiesOn reports whether cookies are in use.
func (c *Conn) cookiesOn() bool { return c.synCookies || c.cfg.SYNCookies }

// SynCookies is guard syn_cookies.
func (c *Conn) SynCookies() bool { return c.cookiesOn() }

// CookieValid is guard cookie_valid: cookies are in use and SEG.ACK-1 is
// a cookie this listener issued to SEG.SEQ-1 within two periods.
func (c *Conn) CookieValid() bool { return c.seg != nil && c.ValidCookie(c.now, c.seg) }

// ValidCookie reports whether seg, arriving at now, returns a valid cookie
// for this listener's 4-tuple: the guard, without a step, so that a
// runtime can decide to create a connection for it. It changes nothing.
func (c *Conn) ValidCookie(now time.Duration, seg *Segment) bool {
	return c.cookiesOn() && seg.Flags&(ACK|SYN|RST) == ACK && c.cookieMSSIndex(now, seg) >= 0
}

// cookieMSSIndex checks the cookie SEG.ACK-1 against SEG.SEQ-1 at now and
// returns its MSS index, or -1 if it is not valid then.
func (c *Conn) cookieMSSIndex(now time.Duration, s *Segment) int {
	cookie := s.Ack - 1
	idx := uint8(cookie >> 24 & 7)
	bits := uint8(c.echoedCookieBits(s))
	period := uint32(int64(now / cookiePeriod))
	for _, count := range [...]uint32{period, period - 1} {
		if count&31 == cookie>>27 && c.cookieHash(s.Seq-1, count, idx, bits)&0xffffff == cookie&0xffffff {
			return int(idx)
		}
	}
	return -1
}

// echoedCookieBits is the option bits a cookie's ACK returns in the low
// bits of its TSecr, or cookieNoTS when timestamps are not on both sides.
func (c *Conn) echoedCookieBits(s *Segment) uint32 {
	if c.cfg.offered().Has(OptTimestamps) && s.Opts.Has(OptTimestamps) {
		return s.TSEcr & cookieTSBits
	}
	return cookieNoTS
}

// cookieHash is the keyed hash of a cookie's fields: the peer's ISN, the
// counter, the MSS index and the option bits its timestamp carries.
func (c *Conn) cookieHash(irs, count uint32, idx, bits uint8) uint32 {
	var msg [tupleLen + 10]byte
	putTuple(msg[:tupleLen], c.tuple)
	binary.BigEndian.PutUint32(msg[tupleLen:], irs)
	binary.BigEndian.PutUint32(msg[tupleLen+4:], count)
	msg[tupleLen+8] = idx
	msg[tupleLen+9] = bits
	key := c.cfg.ISNKey
	key[15] ^= 0xc0 // a key of its own: cookies are not ISNs
	return uint32(sipHash24(&key, msg[:]))
}

// SendCookieSynack is action send_cookie_synack: <SEQ=cookie>
// <ACK=SEG.SEQ+1><CTL=SYN,ACK> with our MSS and, if the SYN has timestamps,
// the options both sides allow, window scale and SACK-permitted encoded in
// the timestamp. Nothing is kept.
func (c *Conn) SendCookieSynack() {
	s := c.seg
	if s == nil {
		return
	}
	peer := s.MSS
	if peer == 0 {
		peer = DefaultPeerMSS
	}
	peer = min(max(peer, c.cfg.minPeerMSS()), c.cfg.mss())
	idx := 0
	for i, m := range cookieMSS {
		if m <= peer {
			idx = i
		}
	}
	seg := Segment{Ack: s.Seq + 1, Flags: SYN | ACK, Window: uint16(c.rcvSynWindow()), MSS: c.cfg.mss()}
	bits := uint32(cookieNoTS)
	if o := c.cfg.offered() & s.Opts; o.Has(OptTimestamps) {
		bits = cookieNoWS
		if o.Has(OptWScale) {
			bits = uint32(min(s.WScale, MaxShift))
			seg.WScale = c.cfg.rcvShift()
		}
		if o.Has(OptSACKPermitted) {
			bits |= cookieSACK
		}
		// The clock with its low bits replaced, never ahead of it, so
		// later timestamps do not look older to the peer's PAWS.
		clock := tsClockAt(c.now, tsOffset(&c.cfg.ISNKey, c.tuple))
		ts := clock&^cookieTSBits | bits
		if SeqGT(ts, clock) {
			ts -= cookieTSBits + 1
		}
		seg.Opts, seg.TSVal, seg.TSEcr = o, ts, s.TSVal
	}
	count := uint32(int64(c.now / cookiePeriod))
	seg.Seq = count<<27 | uint32(idx)<<24 | c.cookieHash(s.Seq, count, uint8(idx), uint8(bits))&0xffffff
	c.outbox = append(c.outbox, seg)
}

// AcceptCookie is action accept_cookie: the ACK returning a valid cookie
// rebuilds the TCB the SYN would have made: IRS=SEG.SEQ-1, RCV.NXT=SEG.SEQ,
// ISS=SEG.ACK-1, SND.UNA=SND.NXT=SEG.ACK, the cookie's MSS, the options
// from the echoed timestamp, the window from the segment; its text is then
// taken as on any ACK.
func (c *Conn) AcceptCookie() {
	t, s := &c.t, c.seg
	idx := c.cookieMSSIndex(c.now, s)
	if idx < 0 {
		return // not reached: the guard checked the cookie
	}
	t.iss, t.sndUna, t.sndNxt, t.sndBufSeq, t.sndWl2 = s.Ack-1, s.Ack, s.Ack, s.Ack, s.Ack
	t.synSent, t.synAcked, t.passive = true, true, true
	t.irs, t.rcvNxt, t.irsValid = s.Seq-1, s.Seq, true
	t.tsOffset = tsOffset(&c.cfg.ISNKey, c.tuple)
	c.learnMSS(cookieMSS[idx])
	t.opts, t.sndShift, t.rcvShift = 0, 0, 0
	if bits := c.echoedCookieBits(s); bits != cookieNoTS {
		t.opts = OptTimestamps
		t.tsRecent, t.tsRecentAt = s.TSVal, c.now
		if ws := bits & cookieNoWS; ws != cookieNoWS && !c.cfg.NoWindowScale {
			t.opts |= OptWScale
			t.sndShift, t.rcvShift = uint8(min(ws, MaxShift)), c.cfg.rcvShift()
		}
		if bits&cookieSACK != 0 && !c.cfg.NoSACK {
			t.opts |= OptSACKPermitted
		}
	}
	t.sndWnd, t.sndWl1 = c.segWindow(s), s.Seq
	t.maxSndWnd = t.sndWnd
	t.rcvAdv = t.rcvNxt + c.rcvSynWindow() // what the cookie SYN+ACK advertised
	t.lastAckSent = t.rcvNxt
	c.view = segView{seq: s.Seq, payload: s.Payload, fin: s.Flags&FIN != 0}
	c.trim(&c.view)
}
