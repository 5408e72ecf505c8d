package proptest

import (
	"fmt"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Hostile is a kind of segment no endpoint sent: an old duplicate or an
// attacker's guess, built from the victim's current variables.
type Hostile uint8

// Hostile segments.
const (
	OldSYN        Hostile = iota // SYN, no ACK, with an old sequence number
	OldSYNACK                    // SYN+ACK with old sequence and acknowledgment numbers
	WindowSYN                    // SYN (SYN+ACK when k is odd) inside the receive window; without an MSS option when k%4 == 2
	ExactRST                     // RST with SEQ == RCV.NXT (RST+ACK with ACK == SND.NXT when k is odd)
	WindowRST                    // RST inside the receive window, not at RCV.NXT
	OldRST                       // RST outside the receive window
	FutureACK                    // ACK beyond SND.NXT
	WindowShrink                 // ACK == SND.UNA offering a window of 1..4 bytes
	BareFIN                      // FIN without ACK (no SYN, RST or ACK bit)
	StaleACK                     // ACK below SND.UNA (an old duplicate)
	SynFIN                       // SYN+FIN without ACK (a scanner's probe)
	OldACKData                   // text at RCV.NXT whose ACK is below SND.UNA - MAX.SND.WND (blind injection, RFC 5961 5.2); when k%4 == 0, the peer's own text with the ACK exactly at that bound (acceptable)
	AfterFIN                     // with the peer's FIN held out of order: text beyond it (k even) or a second FIN at RCV.NXT (k odd)
	EdgeData                     // text at an edge of the receive window: k%5 selects beyond the right edge, ending at it, before the left edge, straddling the left edge, straddling the right edge, text from RCV.NXT past the right edge with a FIN
	Reassemble                   // the peer's own text shaped around the ranges held out of order (see reassemblySegment)
	OldTimestamp                 // an ACK at RCV.NXT (with the peer's text when k is odd) whose timestamp is older than TS.Recent: PAWS drops it (RFC 7323 5.3)
	ForgedSACK                   // a duplicate ACK whose SACK blocks lie beyond SND.NXT, below SND.UNA, are inverted, or (k%4 == 3) are valid
	ForgedCookie                 // an ACK with a guessed cookie (k%5 == 0), or a cookie the side sent altered: its MSS bits (1), the peer's ISN (2), its counter a period back (3): a blind attempt to open a connection; or its own ACK (4), as if the SYN it answered had been the peer's
	ForgedEcho                   // the peer's ACK of what it received, with a valid timestamp but a forged echo: from the future (k even) or older than the flight (k odd)
	HandshakeText                // the peer's own text (k%8+1 bytes; all it wrote, with its FIN if it closed, when k is odd) on the segment that completes the handshake: its SYN+ACK in flight, or its ACK of the side's SYN+ACK (see handshakeText)
	numHostile
)

var hostileNames = [numHostile]string{"old-syn", "old-synack", "window-syn", "exact-rst", "window-rst", "old-rst", "future-ack", "window-shrink", "bare-fin", "stale-ack", "syn-fin", "old-ack-data", "after-fin", "edge-data", "reassemble", "old-timestamp", "forged-sack", "forged-cookie", "forged-echo", "handshake-text"}

func (h Hostile) String() string {
	if h < numHostile {
		return hostileNames[h]
	}
	return fmt.Sprintf("Hostile(%d)", uint8(h))
}

// HostileSegment builds a segment of kind h aimed at a Conn with variables
// v; k in [0, 1000) varies it.
func HostileSegment(h Hostile, v *machine.Vars, k uint32) machine.Segment {
	x := varsOf(v)
	switch h {
	case OldSYN:
		return machine.Segment{Flags: machine.SYN, Seq: x.rcvNxt - 2 - k, Window: 64, MSS: 536}
	case OldSYNACK:
		return machine.Segment{Flags: machine.SYN | machine.ACK, Seq: x.rcvNxt - 2 - k, Ack: x.una - k, Window: 64, MSS: 536}
	case WindowSYN:
		seg := machine.Segment{Flags: machine.SYN, Seq: x.rcvNxt + k%max(x.rcvWnd, 1), Window: 64, MSS: 536}
		if k%4 == 2 {
			seg.MSS = 0 // no MSS option: 536 (RFC 9293 3.7.1)
		}
		if k%2 == 1 {
			seg.Flags |= machine.ACK
			seg.Ack = x.nxt
		}
		return seg
	case ExactRST:
		if k%2 == 1 {
			return machine.Segment{Flags: machine.RST | machine.ACK, Seq: x.rcvNxt, Ack: x.nxt}
		}
		return machine.Segment{Flags: machine.RST, Seq: x.rcvNxt}
	case WindowRST:
		off := uint32(1)
		if x.rcvWnd > 1 {
			off += k % (x.rcvWnd - 1)
		}
		return machine.Segment{Flags: machine.RST, Seq: x.rcvNxt + off}
	case OldRST:
		if k%2 == 0 {
			return machine.Segment{Flags: machine.RST, Seq: x.rcvNxt - 1 - k}
		}
		return machine.Segment{Flags: machine.RST | machine.ACK, Seq: x.rcvNxt + x.rcvWnd + k, Ack: x.nxt}
	case FutureACK:
		return machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.nxt + 1 + k, Window: 64}
	case WindowShrink:
		return machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.una, Window: uint16(1 + k%4)}
	case BareFIN:
		return machine.Segment{Flags: machine.FIN, Seq: x.rcvNxt, Window: 64}
	case StaleACK:
		return machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.una - 1 - k, Window: 64}
	case SynFIN:
		return machine.Segment{Flags: machine.SYN | machine.FIN, Seq: x.rcvNxt + k, Window: 64, MSS: 536}
	case OldACKData:
		return machine.Segment{Flags: machine.ACK | machine.PSH, Seq: x.rcvNxt, Ack: x.una - v.MaxSndWnd - 1 - k, Window: x.wndField, Payload: filler(1 + int(k%3))}
	case AfterFIN:
		if !v.PeerFinHeld {
			return HostileSegment(EdgeData, v, 0)
		}
		seg := machine.Segment{Flags: machine.ACK | machine.PSH, Seq: v.PeerFinSeq + 1 + k%3, Ack: x.una, Window: x.wndField, Payload: filler(1 + int(k%4))}
		if k%2 == 1 { // a bare FIN in order, before the one held
			seg.Seq, seg.Flags, seg.Payload = x.rcvNxt, machine.ACK|machine.FIN, nil
		}
		return seg
	case EdgeData:
		n := 1 + k%3
		seg := machine.Segment{Flags: machine.ACK | machine.PSH, Ack: x.una, Window: x.wndField}
		switch k % 6 {
		case 0: // the first byte just beyond the right edge
			seg.Seq, n = x.rcvNxt+x.rcvWnd, 1
		case 1: // the last byte at the right edge
			seg.Seq = x.rcvNxt + x.rcvWnd - n
		case 2: // the last byte just before the left edge
			seg.Seq = x.rcvNxt - n
		case 3: // straddling the left edge
			seg.Seq, n = x.rcvNxt-1, 2
		case 4: // straddling the right edge: the part beyond is trimmed
			seg.Seq, n = x.rcvNxt+x.rcvWnd-1, 3
		case 5: // from RCV.NXT to the right edge or past it, with a FIN
			// at or beyond it: the text is trimmed and the FIN not taken
			seg.Seq, n = x.rcvNxt, x.rcvWnd+(k/6)%3
			seg.Flags |= machine.FIN
		}
		seg.Payload = filler(int(n))
		return seg
	case OldTimestamp:
		seg := machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.una, Window: x.wndField,
			Opts: machine.OptTimestamps, TSVal: v.TSRecent - 1 - k%3, TSEcr: 0}
		if k%2 == 1 {
			seg.Flags |= machine.PSH
			seg.Payload = filler(1 + int(k%3))
		}
		return seg
	case ForgedEcho: // Inject acknowledges what the peer holds and forges the echo
		return machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.una, Window: x.wndField,
			Opts: machine.OptTimestamps, TSVal: v.TSRecent}
	case ForgedSACK:
		seg := machine.Segment{Flags: machine.ACK, Seq: x.rcvNxt, Ack: x.una, Window: x.wndField, NumSACK: 1}
		switch k % 4 {
		case 0: // beyond SND.NXT
			seg.SACK[0] = machine.SACKBlock{Left: x.nxt, Right: x.nxt + 1 + k}
		case 1: // below SND.UNA
			seg.SACK[0] = machine.SACKBlock{Left: x.una - 2 - k, Right: x.una - 1}
		case 2: // inverted
			seg.SACK[0] = machine.SACKBlock{Left: x.nxt, Right: x.una + 1}
		case 3: // valid, when something is outstanding
			seg.SACK[0] = machine.SACKBlock{Left: x.una + 1, Right: x.nxt}
		}
		return seg
	case ForgedCookie:
		return machine.Segment{Flags: machine.ACK, Seq: 7919 * k, Ack: 104729*k + 1, Window: 64}
	}
	return machine.Segment{}
}

// peerText fills seg's payload with the bytes the peer of side `to` wrote
// at those sequence numbers, reporting false when it has not written them
// (or the peer is on another incarnation).
func (w *World) peerText(to simnet.Side, v *machine.Vars, seg *machine.Segment) bool {
	if !isSync(w.State(to)) {
		return false
	}
	// Only the bytes inside the window need be the peer's: a receiver
	// trims the rest, and takes it at its peril (invariants 17, 21).
	n := uint32(len(seg.Payload))
	if in := v.RcvNxt + v.RcvWnd - seg.Seq; machine.SeqLT(in, n) {
		n = in
	}
	stream, off, ok := w.peerSpan(to, v, seg.Seq, n)
	if !ok {
		return false
	}
	for i := uint32(0); i < n; i++ {
		seg.Payload[i] = streamByte(to.Peer(), stream, off+i)
	}
	return true
}

// cookieExchange, for a listener, injects a SYN from the peer's address
// (without an MSS option when k is even; with timestamps, SACK-permitted
// and window scale 14 or 15 when k%3 == 0, timestamps alone when k%3 ==
// 1) and, if a cookie SYN+ACK answers
// it, that cookie's ACK, after the same ACK with one field altered
// (alteredCookieACK, with k/5): a connection no real peer opened, with
// the MSS and options the cookie must restore, and a forgery the cookie's
// hash must refuse (invariant 43). It reports whether it answered with a
// cookie.
func (w *World) cookieExchange(to simnet.Side, k uint32) bool {
	syn := machine.Segment{Flags: machine.SYN, Seq: 7919 * k, Window: 64, MSS: 1200}
	if k%2 == 0 {
		syn.MSS = 0
	}
	switch k % 3 {
	case 0:
		// With timestamps, SACK-permitted and the largest window scale,
		// or one above it (taken as 14, RFC 7323 2.3): the options the
		// cookie must carry in its timestamp.
		syn.Opts = machine.OptTimestamps | machine.OptWScale | machine.OptSACKPermitted
		syn.WScale, syn.TSVal = uint8(14+k%2), 1000+k
	case 1:
		// With timestamps alone: the cookie says neither window scale
		// nor SACK.
		syn.Opts, syn.TSVal = machine.OptTimestamps, 2000+k
	}
	w.net.Inject(to, syn)
	recs := w.net.Records()
	if len(recs) == 0 {
		return false
	}
	r := &recs[len(recs)-1]
	if len(r.Steps) == 0 || r.Steps[0].Rule != machine.RuleListenRcvSynCookie || len(r.Out) != 1 {
		w.moved()
		return true // a SYN for a connection: that is the move
	}
	synack := r.Out[0]
	ack := machine.Segment{Flags: machine.ACK, Seq: syn.Seq + 1, Ack: synack.Seq + 1, Window: 64}
	if synack.Opts.Has(machine.OptTimestamps) {
		ack.Opts, ack.TSVal, ack.TSEcr = machine.OptTimestamps, syn.TSVal+1, synack.TSVal
	}
	// First the cookie's ACK with one field the hash covers altered,
	// which the listener must refuse (invariant 43), then the real one.
	if alt, what := alteredCookieACK(ack, k/5); what != "" {
		w.net.Inject(to, alt)
		if !w.quiet {
			w.note("inject %v into %v: a cookie's ACK with %s altered: %s", ForgedCookie, to, what, simnet.FormatSegment(&alt))
		}
	}
	w.net.Inject(to, ack)
	if !w.quiet {
		w.note("inject %v into %v: a SYN (MSS option %d) and its cookie's ACK", ForgedCookie, to, syn.MSS)
	}
	w.moved()
	return true
}

// alteredCookieACK is ack, the ACK of a cookie, with the field i%5
// selects altered: none, the cookie's MSS bits, the peer's ISN, its
// counter (a period back), or the option bits its timestamp echoes (the
// hash's low bit without timestamps). It names what it altered.
func alteredCookieACK(ack machine.Segment, i uint32) (machine.Segment, string) {
	cookie := ack.Ack - 1
	switch i % 5 {
	case 1:
		ack.Ack = cookie ^ 1<<24 + 1
		return ack, "its MSS bits"
	case 2:
		ack.Seq++
		return ack, "the ISN it answers"
	case 3:
		ack.Ack = cookie - 1<<27 + 1
		return ack, "its counter"
	case 4:
		if ack.Opts.Has(machine.OptTimestamps) {
			ack.TSEcr ^= 1
			return ack, "the option bits it echoes"
		}
		ack.Ack ^= 1
		return ack, "its hash"
	}
	return ack, ""
}

// forgeEcho makes seg, a ForgedEcho aimed at side to (variables v), the
// ACK its peer would send for what it has received, when that is new
// data, with an echo no segment of to's carried: ahead of to's clock (k
// even) or far older than anything in flight (k odd). An ACK of new data
// with such an echo must give no RTT sample (invariant 25).
func (w *World) forgeEcho(to simnet.Side, v *machine.Vars, seg *machine.Segment, k uint32) {
	peer := w.conn(to.Peer()).Vars()
	if isSync(w.State(to.Peer())) && peer.IRS == v.ISS && machine.SeqLT(v.SndUna, peer.RcvNxt) && machine.SeqLEQ(peer.RcvNxt, v.SndNxt) {
		seg.Ack = peer.RcvNxt
	}
	seg.TSEcr = peer.TSRecent + 100000 + k // to's clock is not 100 s ahead of what peer last heard
	if k%2 == 1 {
		seg.TSEcr = peer.TSRecent - 100000 - k
	}
}

// handshakeText builds a HandshakeText segment for side to (variables
// v): what its peer may send (RFC 9293 3.10.7.3 and 3.10.7.4 process text
// and a FIN on the segment that completes the handshake), though a
// Conn waits for ESTABLISHED to send text. To a side in SYN-SENT, the
// peer's SYN+ACK in flight, options and all, with text; to a side in
// SYN-RECEIVED, the peer's ACK of its SYN+ACK with text. For a FIN on
// the SYN+ACK the peer's application closes first (its FIN waits for
// its SYN's ACK, RFC 9293 3.10.4). It reports false
// when the peer has written nothing or the handshake is not at that point.
func (w *World) handshakeText(to simnet.Side, v *machine.Vars, k uint32) (machine.Segment, bool) {
	peer := to.Peer()
	ps := &w.side[peer]
	stream := ps.streams - 1
	pv := w.conn(peer).Vars()
	if stream < 0 || ps.written[stream] == 0 || pv.IRS != v.ISS {
		return machine.Segment{}, false
	}
	var seg machine.Segment
	switch {
	case w.State(to) == machine.StateSynSent && w.State(peer) == machine.StateSynReceived:
		if k%2 == 1 && !ps.closed && w.Close(peer) != nil {
			return machine.Segment{}, false
		}
		// SYN-RECEIVED, or FIN-WAIT-1 with the FIN queued behind the
		// SYN+ACK.
		if pv = w.conn(peer).Vars(); pv.SynAcked || pv.IRS != v.ISS {
			return machine.Segment{}, false
		}
		found := false
		for _, p := range w.net.Link(peer) {
			if p.Seg.Flags == machine.SYN|machine.ACK && p.Seg.Seq == pv.ISS {
				seg, found = p.Seg, true
			}
		}
		if !found {
			return machine.Segment{}, false
		}
	case w.State(to) == machine.StateSynReceived && isSync(w.State(peer)) && pv.ISS == v.IRS:
		seg = machine.Segment{Flags: machine.ACK, Seq: v.RcvNxt, Ack: v.SndNxt, Window: uint16(min(pv.RcvWnd>>pv.RcvShift, machine.MaxWindow))}
		if v.Opts.Has(machine.OptTimestamps) {
			seg.Opts, seg.TSVal, seg.TSEcr = machine.OptTimestamps, v.TSRecent, pv.TSRecent
		}
	default:
		return machine.Segment{}, false
	}
	n := min(ps.written[stream], k%8+1)
	if k%2 == 1 {
		n = ps.written[stream]
		if ps.closed {
			seg.Flags |= machine.FIN
		}
	}
	seg.Payload = make([]byte, n)
	for i := range seg.Payload {
		seg.Payload[i] = streamByte(peer, stream, uint32(i))
	}
	return seg, true
}

// peerSpan locates the n bytes at sequence number seq, on the connection
// whose variables at side `to` are v, in the stream its peer is writing:
// the stream and the offset, or false when the peer is on another
// incarnation or has not written them all.
func (w *World) peerSpan(to simnet.Side, v *machine.Vars, seq, n uint32) (stream int, off uint32, ok bool) {
	ps := &w.side[to.Peer()]
	stream = ps.streams - 1
	if stream < 0 || w.conn(to.Peer()).Vars().ISS != v.IRS {
		return 0, 0, false
	}
	off = seq - (v.IRS + 1)
	if int32(off) < 0 || uint64(off)+uint64(n) > uint64(ps.written[stream]) {
		return 0, 0, false
	}
	return stream, off, true
}

// filler is n bytes of text no stream contains at any offset (streams are
// checked byte by byte, so accepting it is caught by invariant 17).
func filler(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 0xee
	}
	return p
}

// Inject hands side `to` a hostile segment of kind h. A hostile segment
// may legitimately break a connection (an exact RST resets it): the final
// byte-count check applies only to connections that ended normally.
func (w *World) Inject(to simnet.Side, h Hostile, k uint32) {
	c := w.conn(to)
	v := c.Vars()
	seg := HostileSegment(h, &v, k)
	if h == Reassemble {
		seg = reassemblySegment(c, &v, k)
		if !w.peerText(to, &v, &seg) {
			seg = HostileSegment(EdgeData, &v, 0)
		}
	}
	if h == OldACKData && k%4 == 0 {
		// The lowest acceptable ACK: the text must be the peer's.
		seg.Ack = v.SndUna - v.MaxSndWnd
		if !w.peerText(to, &v, &seg) {
			seg = HostileSegment(h, &v, k+1)
		}
	}
	if h == OldTimestamp && len(seg.Payload) > 0 && !w.peerText(to, &v, &seg) {
		// Without timestamps on, PAWS does not drop it: text that is not
		// the peer's would be taken.
		seg.Payload, seg.Flags = nil, machine.ACK
	}
	if h == ForgedEcho {
		w.forgeEcho(to, &v, &seg, k)
	}
	if h == HandshakeText {
		var ok bool
		if seg, ok = w.handshakeText(to, &v, k); !ok {
			seg = HostileSegment(OldSYNACK, &v, k)
		}
	}
	if h == ForgedCookie && k%5 == 4 && w.State(to) == machine.StateListen && w.cookieExchange(to, k) {
		return
	}
	if st := &w.side[to]; h == ForgedCookie && k%5 != 0 && st.nCookies > 0 {
		c := st.cookies[0]
		seg.Seq, seg.Ack = c.irs+1, c.iss+1
		switch k % 5 { // 4: the cookie's own ACK, which makes the connection (when not LISTEN)
		case 1: // another MSS: the index is in the hash
			seg.Ack = c.iss ^ 1<<24 + 1
		case 2: // another SYN: the peer's ISN is in the hash
			seg.Seq++
		case 3: // the previous period's counter: the full counter is in the hash
			seg.Ack = c.iss - 1<<27 + 1
		}
	}
	if h == EdgeData && k%6 != 0 && k%6 != 2 && !w.peerText(to, &v, &seg) {
		// The peer has not written the bytes this segment would carry, so
		// a segment (partly) inside the window cannot be made of them:
		// send the one beyond the right edge instead.
		seg = HostileSegment(h, &v, k-k%6)
	}
	from := c.State()
	w.net.Inject(to, seg)
	if recs := w.net.Records(); h == WindowShrink && len(recs) > 0 {
		if r := &recs[len(recs)-1]; r.Before.SndWnd != r.After.SndWnd {
			w.side[to].shrunk = true
		}
	}
	if !w.quiet {
		w.note("inject %v into %v (%v): %s", h, to, from, simnet.FormatSegment(&seg))
	}
	w.moved()
}

// RawSegment describes a segment whose every header field an attacker
// chooses, relative to what the victim and its peer hold: Seq is
// RCV.NXT + SeqOff, Ack is at most what the peer really received (the
// peer's RCV.NXT - AckBack), so a forged ACK never acknowledges text the
// peer lacks, which no TCP could tell from a real one.
type RawSegment struct {
	Flags   machine.Flags // FIN is dropped: a forged in-window FIN ends a stream early, which TCP cannot prevent either
	SeqOff  uint32
	AckBack uint32
	Window  uint16
	MSS     uint16
	Len     int // payload bytes: the peer's own bytes at that place, or none when it has not written them
}

// InjectRaw hands side `to` the segment raw describes.
func (w *World) InjectRaw(to simnet.Side, raw RawSegment) {
	c := w.conn(to)
	v := c.Vars()
	pv := w.conn(to.Peer()).Vars()
	seg := machine.Segment{
		Flags:  raw.Flags &^ machine.FIN,
		Seq:    v.RcvNxt + raw.SeqOff,
		Ack:    pv.RcvNxt - raw.AckBack,
		Window: raw.Window,
		MSS:    raw.MSS,
	}
	if raw.Len > 0 {
		seg.Payload = make([]byte, raw.Len)
		if !w.peerText(to, &v, &seg) {
			seg.Payload = nil
		}
	}
	from := c.State()
	w.net.Inject(to, seg)
	if recs := w.net.Records(); len(recs) > 0 {
		if r := &recs[len(recs)-1]; r.Before.SndWnd != r.After.SndWnd {
			w.side[to].shrunk = true // a forged window may be any size
		}
	}
	if !w.quiet {
		w.note("inject raw into %v (%v): %s", to, from, simnet.FormatSegment(&seg))
	}
	w.moved()
}
