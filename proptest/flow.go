package proptest

import (
	"encoding/binary"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges what invariants 1-20 leave alone: resources, windows and
// timing (invariants 21-28 of docs/checking.md). It keeps a ghost of each
// side's flow control, built from the segments alone (what was advertised,
// offered, sent and when), so that a bug in the TCB's own bookkeeping cannot
// hide itself.

// maxHeldRanges is the number of out-of-order ranges a receiver must be
// able to hold (docs/runtime.md's limit; machine's maxOOO).
const maxHeldRanges = 16

// flowGhost is one side's flow-control ghost for its current TCB.
type flowGhost struct {
	advValid bool
	advEdge  uint32 // the right edge RCV.NXT + RCV.WND this side advertised last

	wlValid  bool
	wl1, wl2 uint32 // SND.WL1, SND.WL2 as RFC 9293 3.10.7.4 keeps them
	wnd      uint32 // SND.WND as the segments set it (not clamped)

	// Text the receiver was seen to hold beyond RCV.NXT (invariant 26):
	// it must stay held until RCV.NXT passes it.
	held  [maxHeldRanges]seqSpan
	nHeld int

	sentValid bool
	sentEnd   uint32 // the highest sequence number sent (end of the furthest segment)
	// Segments sent and not yet acknowledged, oldest first, for Karn's
	// rule. A fixed array, so that World snapshots copy it by value.
	sent     [maxEmissions]emission
	nSent    int
	overflow bool // an emission was forgotten: Karn's check is off for this TCB

	rec recoveryGhost // invariant 35

	progressValid bool
	progressAt    time.Duration // the last ACK of new data, or when data became outstanding (invariant 36)

	measuring bool // an RTT measurement runs (invariant 34)
	synRexmit bool // the SYN (or SYN+ACK) was sent again on a timeout (RFC 6298 5.7)
}

// seqSpan is the sequence space [start, end).
type seqSpan struct{ start, end uint32 }

// maxEmissions bounds the segments the ghost remembers per side.
const maxEmissions = 48

// emission is one segment that occupied sequence space.
type emission struct {
	start, end uint32
	at         time.Duration
	rexmit     bool // it repeated sequence space already sent
	timed      bool // sent once while no RTT measurement ran: its ACK must give a sample (invariant 34)
}

func (g *flowGhost) reset() { *g = flowGhost{} }

// sws is the receiver's silly-window threshold of RFC 9293 3.8.6.2.2 as
// the machine applies it: min(RcvBuf/2, MSS).
func (w *World) sws() uint32 {
	return uint32(min(w.cfg.RcvBuf/2, int(w.cfg.MSS)))
}

// handshakeDone reports the rules that complete a handshake and take the
// send window from the completing segment.
func handshakeDone(rule machine.Rule) bool {
	switch rule {
	case machine.RuleSynSentRcvSynack, machine.RuleSynRcvdRcvAck, machine.RuleSynRcvdRcvFin:
		return true
	}
	return false
}

// appendKey appends the ghost's sequence-space fields (not its times, which
// the exhaustive checker treats abstractly) to a World key.
func (g *flowGhost) appendKey(b []byte) []byte {
	var flags byte
	for i, f := range [...]bool{g.advValid, g.wlValid, g.sentValid, g.overflow} {
		if f {
			flags |= 1 << i
		}
	}
	b = append(b, flags)
	for _, v := range [...]uint32{g.advEdge, g.wl1, g.wl2, g.wnd, g.sentEnd} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, byte(g.nHeld))
	for _, h := range g.held[:g.nHeld] {
		b = binary.BigEndian.AppendUint32(b, h.start)
		b = binary.BigEndian.AppendUint32(b, h.end)
	}
	return b
}

// checkFlow judges one record against invariants 21-28 and keeps the ghost.
func (w *World) checkFlow(r *simnet.Record, fresh bool) {
	s := r.Side
	g := &w.side[s].flow
	in := &r.In
	a := &r.After
	same := !fresh && hasSendSeq(r.From) && hasSendSeq(r.To)
	edgeBefore, edgeValid := g.advEdge, g.advValid && same

	if r.Kind == simnet.Input && same {
		w.checkAckRange(r)
		w.checkAcceptability(r)
		w.checkPromptACK(r)
		w.checkWindowUpdate(r, g)
		// Whether the connection this record judged is still the one
		// open now (later records of the move may have ended it).
		c := w.conn(s)
		live := isSync(c.State()) && c.Vars().IRS == a.IRS
		w.checkHeld(r, live)
		if w.err == nil {
			w.checkStillHeld(r, g, live)
		}
		// Invariant 21: nothing is taken beyond the right edge advertised.
		if w.err == nil && edgeValid && isSync(r.To) &&
			(machine.SeqGT(a.RcvNxt, edgeBefore) || machine.SeqGT(a.RcvHeldEnd, edgeBefore)) {
			w.fail(21, "%v took text up to RCV.NXT %d (held to %d) beyond the right edge %d it advertised (%s)",
				s, a.RcvNxt, a.RcvHeldEnd, edgeBefore, simnet.FormatSegment(in))
		}
	}
	if w.err != nil {
		return
	}
	for i := range r.Steps {
		if handshakeDone(r.Steps[i].Rule) && r.Kind == simnet.Input {
			g.wlValid, g.wl1, g.wl2, g.wnd = true, in.Seq, in.Ack, in.Window
		}
	}

	// Invariant 26: a FIN held out of order is taken as soon as the text
	// before it is in.
	if isSync(r.To) && a.PeerFinHeld && !a.FinRcvd && a.RcvNxt == a.PeerFinSeq && r.Kind == simnet.Input {
		w.fail(26, "%v holds the peer's FIN at %d out of order, but RCV.NXT has reached it: the FIN must be taken (%s)",
			s, a.PeerFinSeq, simnet.FormatSegment(&r.In))
		return
	}

	// Invariant 21: each buffer's storage stays within its configured
	// size, whatever the peer sends.
	if snd, rcv := w.conn(s).Footprint(); snd > w.cfg.SndBuf || rcv > w.cfg.RcvBuf {
		w.fail(21, "%v's buffers hold %d and %d bytes of storage, more than SndBuf %d and RcvBuf %d", s, snd, rcv, w.cfg.SndBuf, w.cfg.RcvBuf)
		return
	}
	// Invariant 26: while the peer's FIN is held out of order, no FIN
	// elsewhere is taken (the first one stands).
	if b := &r.Before; same && b.PeerFinHeld && a.PeerFinHeld && a.PeerFinSeq != b.PeerFinSeq {
		w.fail(26, "%v held the peer's FIN at %d, and now at %d (%s): the first FIN stands", s, b.PeerFinSeq, a.PeerFinSeq, simnet.FormatSegment(in))
		return
	}
	if b := &r.Before; b.PeerFinHeld && !b.FinRcvd && a.FinRcvd && a.RcvNxt != b.PeerFinSeq+1 {
		w.fail(26, "%v held the peer's FIN at %d but took a FIN at %d (%s)", s, b.PeerFinSeq, a.RcvNxt-1, simnet.FormatSegment(in))
		return
	}
	// Invariant 21: nothing is held beyond a FIN held out of order.
	if isSync(r.To) && a.PeerFinHeld && machine.SeqGT(a.RcvHeldEnd, a.PeerFinSeq) {
		w.fail(21, "%v holds text up to %d, beyond the peer's FIN at %d", s, a.RcvHeldEnd, a.PeerFinSeq)
		return
	}
	// Invariant 21: the receive queue and reassembly stay within the buffer.
	if isSync(r.To) {
		if held := a.RcvQueued + int(a.RcvHeldEnd-a.RcvNxt); held > w.cfg.RcvBuf {
			w.fail(21, "%v holds %d readable bytes and out-of-order text to %d past RCV.NXT: %d bytes, more than RcvBuf %d",
				s, a.RcvQueued, a.RcvHeldEnd-a.RcvNxt, held, w.cfg.RcvBuf)
			return
		}
	}

	// Invariant 25: the RTO stays within its bounds, doubles on a
	// retransmission timeout, and a valid RTT sample clears the backoff;
	// Karn: every sample times a segment sent exactly once.
	w.checkSentWindow(r, g)
	if w.err != nil {
		return
	}
	w.checkRTO(r, g, same)
	if w.err != nil {
		return
	}
	if w.checkSampled(r, g, same); w.err != nil {
		return
	}
	if w.checkRecovery(r, &g.rec, same); w.err != nil {
		return
	}
	if w.checkSynResent(r); w.err != nil {
		return
	}
	if w.checkFinSent(r); w.err != nil {
		return
	}
	if w.checkSendsWhenAllowed(r); w.err != nil {
		return
	}
	if w.checkUserTimeout(r, g, !fresh); w.err != nil {
		return
	}
	g.recordSent(r)
	if w.checkReceive(r, g); w.err != nil {
		return
	}
	w.checkAdvertised(r, g)
	if same && hasSendSeq(r.To) {
		// Forget what the peer has acknowledged.
		k := 0
		for _, e := range g.sent[:g.nSent] {
			if machine.SeqGT(e.end, a.SndUna) {
				g.sent[k] = e
				k++
			}
		}
		g.nSent = k
	}
}

// checkAdvertised is invariant 22: every window advertised is the free
// space of the receive buffer (at most the 16-bit field), held back only by
// receiver SWS avoidance; its right edge never moves left, and moves right
// only by at least min(RcvBuf/2, MSS).
func (w *World) checkAdvertised(r *simnet.Record, g *flowGhost) {
	s := r.Side
	b, a := &r.Before, &r.After
	qmin, qmax := min(b.RcvQueued, a.RcvQueued), max(b.RcvQueued, a.RcvQueued)
	freeMax := min(uint32(w.cfg.RcvBuf-qmin), machine.MaxWindow)
	freeMin := min(uint32(max(w.cfg.RcvBuf-qmax, 0)), machine.MaxWindow)
	thr := w.sws()
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags.Has(machine.RST) || !hasSendSeq(r.To) && !o.Flags.Has(machine.SYN) {
			continue
		}
		if o.Window > freeMax {
			w.fail(22, "%v advertised a window of %d with %d bytes of its %d-byte buffer in use: more than it can hold (%s)",
				s, o.Window, qmin, w.cfg.RcvBuf, simnet.FormatSegment(o))
			return
		}
		if o.Window < freeMin && freeMin-o.Window >= thr {
			w.fail(22, "%v advertised a window of %d with %d bytes free: less than the free space by %d or more (SWS allows less than %d)",
				s, o.Window, freeMin, thr, thr)
			return
		}
		if !o.Flags.Has(machine.ACK) {
			continue
		}
		edge := o.Ack + o.Window
		if g.advValid {
			if machine.SeqLT(edge, g.advEdge) {
				w.fail(22, "%v moved its window's right edge left, from %d to %d (%s)", s, g.advEdge, edge, simnet.FormatSegment(o))
				return
			}
			if d := edge - g.advEdge; machine.SeqGT(edge, g.advEdge) && d < thr {
				w.fail(22, "%v moved its window's right edge right by %d bytes, less than min(RcvBuf/2, MSS) = %d: silly window (%s)",
					s, d, thr, simnet.FormatSegment(o))
				return
			}
		}
		if !g.advValid || machine.SeqGT(edge, g.advEdge) {
			g.advValid, g.advEdge = true, edge
		}
	}
}

// checkSentWindow is invariant 24: new text never goes beyond SND.UNA +
// SND.WND, SND.WND as RFC 9293 3.10.7.4 takes it from the segments (the
// ghost's, not the TCB's), but for the one byte of a zero-window probe;
// retransmissions only repeat what was sent.
func (w *World) checkSentWindow(r *simnet.Record, g *flowGhost) {
	if !g.wlValid || !hasSendSeq(r.To) {
		return
	}
	end := g.sentEnd // what this record's segments find already sent
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags.Has(machine.RST) || o.Len() == 0 {
			continue
		}
		rex := g.sentValid && machine.SeqLT(o.Seq, end)
		// Invariant 29: sender SWS avoidance (RFC 9293 3.8.6.2.1): a new
		// segment shorter than the MSS goes out only with the last byte
		// queued (PSH), when it is at least half the largest window the
		// peer offered, or when the override timer fired. Where the send
		// buffer's storage wraps, one segment goes as two pieces: they
		// count together.
		mss := uint32(r.After.MSS)
		k, psh := wrapPartner(r.Out, i, mss)
		n := uint32(len(o.Payload)) + k
		psh = psh || o.Flags.Has(machine.PSH)
		if len(o.Payload) > 0 && !rex && n < mss && !psh && n < r.After.MaxSndWnd/2 && r.Kind != simnet.Tick {
			w.fail(29, "%v sent %d new bytes, less than its MSS %d and half the peer's largest window %d, with more queued: a silly window (%s)",
				r.Side, n, r.After.MSS, r.After.MaxSndWnd, simnet.FormatSegment(o))
			return
		}
		// Invariant 29, the FIN: new text that ends where a FIN sent in
		// the same call sits carries it (no bare FIN follows the last
		// text), and so does every retransmission of it once the FIN has
		// gone.
		if a := &r.After; len(o.Payload) > 0 && a.FinSent && (!rex || r.Before.FinSent) &&
			o.Seq+uint32(len(o.Payload)) == a.FinSeq && !o.Flags.Has(machine.FIN) {
			w.fail(29, "%v sent text ending at its FIN's sequence number %d without the FIN (%s)", r.Side, a.FinSeq, simnet.FormatSegment(o))
			return
		}
		if text := o.Seq + uint32(len(o.Payload)); len(o.Payload) > 0 && !rex {
			edge := r.After.SndUna + g.wnd
			if machine.SeqGT(text, edge) && !(len(o.Payload) == 1 && text == edge+1) {
				w.fail(24, "%v sent new text up to %d, beyond SND.UNA %d + SND.WND %d the peer offered (%s)",
					r.Side, text, r.After.SndUna, g.wnd, simnet.FormatSegment(o))
				return
			}
		}
		if e := o.Seq + o.Len(); machine.SeqGT(e, end) {
			end = e
		}
	}
}

// checkFinSent is invariant 29's last part: once the application has
// closed and every byte is sent, a FIN that fits the peer's window
// (SND.UNA + max(SND.WND, 1)) goes out in the same call.
func (w *World) checkFinSent(r *simnet.Record) {
	a := &r.After
	switch r.To {
	case machine.StateFinWait1, machine.StateLastAck:
	default:
		return
	}
	if a.SynAcked && !a.FinSent && a.SndNxt == a.FinSeq && machine.SeqLEQ(a.FinSeq+1, a.SndUna+max(a.SndWnd, 1)) {
		w.fail(29, "%v in %v has sent every byte and its FIN at %d fits the window (SND.UNA %d, SND.WND %d), but did not send it",
			r.Side, r.To, a.FinSeq, a.SndUna, a.SndWnd)
	}
}

// checkSendsWhenAllowed is invariant 29's converse: after every call the
// sender has sent what RFC 9293 3.8.6.2.1 lets it: with D bytes queued and
// unsent and a usable window U > 0, it holds text back only while
// min(D, U) is less than the MSS, D exceeds U, and min(D, U) is less than
// half the largest window the peer offered.
func (w *World) checkSendsWhenAllowed(r *simnet.Record) {
	a := &r.After
	switch r.To {
	case machine.StateEstablished, machine.StateCloseWait, machine.StateFinWait1, machine.StateLastAck:
	default:
		return
	}
	if !a.SynAcked || a.FinSent {
		return
	}
	d := uint32(a.SndQueued) - (a.SndNxt - a.SndUna)
	u := a.SndUna + a.SndWnd - a.SndNxt
	if int32(d) <= 0 || int32(u) <= 0 {
		return
	}
	if n := min(d, u); n >= uint32(a.MSS) || d <= u || n >= a.MaxSndWnd/2 {
		w.fail(29, "%v holds back %d queued bytes with a usable window of %d (MSS %d, largest window offered %d): RFC 9293 3.8.6.2.1 lets it send %d now",
			r.Side, d, u, a.MSS, a.MaxSndWnd, min(d, u, uint32(a.MSS)))
	}
}

// wrapPartner is the length of a segment sent in the same call right
// before or after out[i], contiguous with it, such that the two fit in one
// MSS (0 if none): one segment cut in two where the send buffer's storage
// wraps. psh says whether that piece carries the PSH of the end of data.
func wrapPartner(out []machine.Segment, i int, mss uint32) (k uint32, psh bool) {
	o := &out[i]
	n := uint32(len(o.Payload))
	if i > 0 {
		p := &out[i-1]
		if k := uint32(len(p.Payload)); p.Seq+k == o.Seq && n+k <= mss {
			return k, p.Flags.Has(machine.PSH)
		}
	}
	if i+1 < len(out) {
		p := &out[i+1]
		if k := uint32(len(p.Payload)); p.Seq == o.Seq+n && n+k <= mss {
			return k, p.Flags.Has(machine.PSH)
		}
	}
	return 0, false
}

// recordSent remembers every segment of r that occupies sequence space,
// for Karn's rule.
func (g *flowGhost) recordSent(r *simnet.Record) {
	for i := range r.Out {
		o := &r.Out[i]
		n := o.Len()
		if o.Flags.Has(machine.RST) || n == 0 {
			continue
		}
		end := o.Seq + n
		rex := g.sentValid && machine.SeqLT(o.Seq, g.sentEnd)
		if !g.sentValid || machine.SeqGT(end, g.sentEnd) {
			g.sentValid, g.sentEnd = true, end
		}
		if g.nSent == maxEmissions {
			copy(g.sent[:], g.sent[1:])
			g.nSent--
			g.overflow = true
		}
		e := emission{start: o.Seq, end: end, at: r.Now, rexmit: rex}
		switch {
		case rex: // Karn: a retransmission ends the measurement
			g.stopMeasuring()
		case !g.measuring:
			e.timed, g.measuring = true, true
		}
		g.sent[g.nSent] = e
		g.nSent++
	}
	for i := range r.Steps {
		if r.Steps[i].Rule == machine.RuleAnyRexmt {
			// A timeout ends the measurement, even when what it sends
			// (a window probe) is new.
			g.stopMeasuring()
			for i := range r.Out {
				g.synRexmit = g.synRexmit || r.Out[i].Flags.Has(machine.SYN)
			}
		}
	}
}

// stopMeasuring records that no RTT measurement runs.
func (g *flowGhost) stopMeasuring() {
	g.measuring = false
	for i := range g.sent[:g.nSent] {
		g.sent[i].timed = false
	}
}

// checkRTO is invariant 25.
func (w *World) checkRTO(r *simnet.Record, g *flowGhost, same bool) {
	s := r.Side
	b, a := &r.Before, &r.After
	if r.HasTimer && r.Deadline <= r.Now && !w.abstractTime {
		w.fail(25, "%v armed a timer for %v, not after now (%v): it would fire at once", s, r.Deadline, r.Now)
		return
	}
	if !hasSendSeq(r.To) {
		return
	}
	if a.RTO < w.cfg.MinRTO || a.RTO > w.cfg.MaxRTO {
		w.fail(25, "%v's RTO is %v, outside [MinRTO %v, MaxRTO %v]", s, a.RTO, w.cfg.MinRTO, w.cfg.MaxRTO)
		return
	}
	if !same {
		return
	}
	if r.Kind == simnet.Tick && len(r.Out) > 0 && r.To == r.From {
		for i := range r.Steps {
			if r.Steps[i].Rule == machine.RuleAnyRexmt {
				if want := min(2*b.RTO, w.cfg.MaxRTO); a.RTO != want || a.Backoff != b.Backoff+1 && b.Backoff < 30 {
					w.fail(25, "%v's retransmission timeout left the RTO at %v (backoff %d -> %d); RFC 6298 5.5 doubles it: want %v",
						s, a.RTO, b.Backoff, a.Backoff, want)
					return
				}
			}
		}
	}
	// RFC 6298 5.1-5.3: the retransmission timer runs while data is
	// outstanding, restarts at now + RTO when an ACK takes new data off
	// the queue with more outstanding, and stops once everything sent is
	// acknowledged and nothing waits to be sent (else it is the persist
	// timer). TIME-WAIT stops every timer but 2MSL.
	if r.To != machine.StateTimeWait {
		switch {
		case a.SndUna != a.SndNxt && !a.RexmtArmed:
			w.fail(25, "%v has %d bytes of sequence space outstanding and no retransmission timer (RFC 6298 5.1)", s, a.SndNxt-a.SndUna)
			return
		case r.Kind == simnet.Input && a.SndUna != b.SndUna && a.SndUna != a.SndNxt && a.RexmtAt != r.Now+a.RTO:
			w.fail(25, "%v: an ACK of new data left the retransmission timer at %v, want now + RTO = %v (RFC 6298 5.3)", s, a.RexmtAt, r.Now+a.RTO)
			return
		case r.Kind == simnet.Input && a.SndUna != b.SndUna && a.SndUna == a.SndNxt && a.SndQueued == 0 && a.RexmtArmed && !(a.FinSent && !a.FinAcked):
			w.fail(25, "%v: everything sent is acknowledged and nothing is queued, yet the retransmission timer runs (RFC 6298 5.2)", s)
			return
		}
	}
	if a.RTTSamples == b.RTTSamples {
		return
	}
	m := a.LastRTT
	if a.Backoff != 0 {
		w.fail(25, "%v took an RTT sample (%v) but kept backoff %d: a valid sample ends the backoff (RFC 6298 5.5, Karn)", s, m, a.Backoff)
		return
	}
	// RFC 6298 2.2 and 2.3, with the machine's integer rounding.
	wantVar, wantSRTT := m/2, m
	if b.RTTSamples > 0 {
		d := b.SRTT - m
		if d < 0 {
			d = -d
		}
		wantVar = b.RTTVar - b.RTTVar/4 + d/4
		wantSRTT = b.SRTT - b.SRTT/8 + m/8
	}
	if a.SRTT != wantSRTT || a.RTTVar != wantVar {
		w.fail(25, "%v: after the sample %v, SRTT %v and RTTVAR %v; RFC 6298 2.2/2.3 give %v and %v (from %v, %v)",
			s, m, a.SRTT, a.RTTVar, wantSRTT, wantVar, b.SRTT, b.RTTVar)
		return
	}
	gran := w.cfg.Granularity
	if gran == 0 {
		gran = machine.DefaultGranularity
	}
	if want := min(max(wantSRTT+max(gran, 4*wantVar), w.cfg.MinRTO), w.cfg.MaxRTO); a.RTO != want {
		w.fail(25, "%v: RTO %v after the sample; RFC 6298 2.3 gives SRTT + max(G, 4*RTTVAR) = %v within [MinRTO, MaxRTO]", s, a.RTO, want)
		return
	}
	// Karn: the sample times a segment, acknowledged now, that was sent
	// once and never repeated since.
	if g.overflow {
		return
	}
	ack := r.In.Ack
	if r.Kind != simnet.Input {
		ack = a.SndUna
	}
	sent := g.sent[:g.nSent]
	for i, e := range sent {
		if e.rexmit || e.at != r.Now-m || !machine.SeqGT(e.end, b.SndUna) || !machine.SeqLEQ(e.end, ack) {
			continue
		}
		repeated := false
		for _, f := range sent[i+1:] {
			if f.rexmit && machine.SeqLT(f.start, e.end) && machine.SeqGT(f.end, e.start) {
				repeated = true
			}
		}
		if !repeated {
			return
		}
	}
	w.fail(25, "%v took an RTT sample of %v on %s, but no segment it acknowledges was sent once %v ago: Karn's rule forbids timing a retransmitted segment",
		s, m, simnet.FormatSegment(&r.In), m)
}

// checkWindowUpdate is invariant 23: SND.WND is taken only from a segment
// not older than the last update (SND.WL1, SND.WL2, kept here from the
// segments) whose ACK is in [SND.UNA, SND.NXT], and every such segment
// sets it: to SEG.WND, or to SND.NXT - SEG.ACK where SEG.WND would leave
// text already sent beyond the window.
func (w *World) checkWindowUpdate(r *simnet.Record, g *flowGhost) {
	if w.err != nil || !acksData(r.From) || !g.wlValid {
		return
	}
	processed := false
	for i := range r.Steps {
		processed = processed || does(r.Steps[i].Rule, "process_ack")
	}
	b, a, in := &r.Before, &r.After, &r.In
	if !processed {
		if a.SndWnd != b.SndWnd && hasSendSeq(r.To) {
			w.fail(23, "%v changed SND.WND %d -> %d on a segment it did not process (%s)", r.Side, b.SndWnd, a.SndWnd, simnet.FormatSegment(in))
		}
		return
	}
	inRange := machine.SeqLEQ(b.SndUna, in.Ack) && machine.SeqLEQ(in.Ack, b.SndNxt)
	newer := machine.SeqLT(g.wl1, in.Seq) || g.wl1 == in.Seq && machine.SeqLEQ(g.wl2, in.Ack)
	if !inRange || !newer {
		if a.SndWnd != b.SndWnd {
			w.fail(23, "%v took SND.WND %d -> %d from %s, older than the last update (WL1 %d, WL2 %d) or with SEG.ACK outside [SND.UNA %d, SND.NXT %d]",
				r.Side, b.SndWnd, a.SndWnd, simnet.FormatSegment(in), g.wl1, g.wl2, b.SndUna, b.SndNxt)
		}
		return
	}
	want := in.Window
	if machine.SeqLT(in.Ack+max(want, 1), b.SndNxt) {
		want = b.SndNxt - in.Ack
	}
	if a.SndWnd != want {
		w.fail(23, "%v set SND.WND to %d on %s, the newest update: want %d", r.Side, a.SndWnd, simnet.FormatSegment(in), want)
		return
	}
	g.wl1, g.wl2, g.wnd = in.Seq, in.Ack, in.Window
}

// checkHeld is invariant 26 (its receiver half): text the peer sent that
// falls in the receive window is kept, in order or held out of order, as
// long as fewer than maxHeldRanges ranges are in use.
func (w *World) checkHeld(r *simnet.Record, live bool) {
	if w.err != nil || len(r.In.Payload) == 0 {
		return
	}
	switch r.From {
	case machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2:
	default:
		return
	}
	b, a, in := &r.Before, &r.After, &r.In
	if b.FinRcvd || b.PeerFinHeld || b.RcvHeldRanges >= maxHeldRanges || in.Flags.Has(machine.SYN) || in.Flags.Has(machine.RST) {
		return
	}
	if !in.Flags.Has(machine.ACK) || !machine.SeqLEQ(b.SndUna-b.MaxSndWnd, in.Ack) || !machine.SeqLEQ(in.Ack, b.SndNxt) {
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
	if g := &w.side[r.Side].flow; machine.SeqGT(end, a.RcvNxt) && g.nHeld < maxHeldRanges {
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
	if machine.SeqLEQ(b.SndUna-b.MaxSndWnd, in.Ack) && machine.SeqLEQ(in.Ack, b.SndNxt) {
		return
	}
	if r.To != r.From || a.RcvNxt != b.RcvNxt || a.RcvHeldEnd != b.RcvHeldEnd || a.RcvQueued != b.RcvQueued ||
		a.SndUna != b.SndUna || a.SndWnd != b.SndWnd || a.FinRcvd != b.FinRcvd {
		w.fail(27, "%v in %v acted on %s whose ACK is outside [SND.UNA %d - MAX.SND.WND %d, SND.NXT %d]: state %v, RCV.NXT %d -> %d, readable %d -> %d, SND.WND %d -> %d",
			r.Side, r.From, simnet.FormatSegment(in), b.SndUna, b.MaxSndWnd, b.SndNxt, r.To, b.RcvNxt, a.RcvNxt, b.RcvQueued, a.RcvQueued, b.SndWnd, a.SndWnd)
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
	dropped := r.Steps[0].Rule == machine.RuleSyncRcvUnacceptable
	if ok == dropped {
		verdict := map[bool]string{true: "acceptable", false: "unacceptable"}[ok]
		w.fail(28, "%v in %v took [%v] on %s, which RFC 9293 3.10.7.4 calls %s (RCV.NXT %d, RCV.WND %d, SEG.LEN %d)",
			r.Side, r.From, r.Steps[0].Rule, simnet.FormatSegment(in), verdict, nxt, wnd, n)
	}
}
