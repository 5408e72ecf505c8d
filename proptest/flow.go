package proptest

import (
	"encoding/binary"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file keeps, for what invariants 1-20 leave alone (21-36 of
// docs/checking.md), a ghost of each side's flow control built from the
// segments alone (what was advertised, offered, sent and when), so that a
// bug in the TCB's own bookkeeping cannot hide itself; checkFlow runs the
// checks against it. Here: resources (21) and the advertised window (22);
// in sender.go the send window and what is sent (23, 24, 29); in
// receive.go the receiver (26-28, 31-33); in timing.go the RTO, RTT samples
// and timeouts (25, 34, 36); in recovery.go loss recovery (35).

// heldLimit is the number of out-of-order ranges a receiver must be able
// to hold, and may hold at most (docs/runtime.md; machine's maxOOO): as
// many as MSS-sized segments of its receive buffer, at least 16.
func heldLimit(cfg *machine.Config) int {
	rcvBuf, mss := cfg.RcvBuf, int(cfg.MSS)
	if rcvBuf <= 0 {
		rcvBuf = machine.DefaultRcvBuf
	}
	if mss <= 0 {
		mss = machine.DefaultMSS
	}
	return max(16, rcvBuf/mss)
}

// ghostHeld is how many of the spans a receiver was seen to hold the
// ghost remembers (invariant 26): the first so many, a sample that keeps
// the ghost a fixed size for the checker's snapshots.
const ghostHeld = 16

// flowGhost is one side's flow-control ghost for its current TCB.
type flowGhost struct {
	advValid bool
	advEdge  uint32 // the right edge RCV.NXT + RCV.WND this side advertised last

	wlValid  bool
	wl1, wl2 uint32 // SND.WL1, SND.WL2 as RFC 9293 3.10.7.4 keeps them
	wnd      uint32 // SND.WND as the segments set it (not clamped)

	// Text the receiver was seen to hold beyond RCV.NXT (invariant 26):
	// it must stay held until RCV.NXT passes it.
	held  [ghostHeld]seqSpan
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
	sentAt        time.Duration // the last segment with text or a FIN this side sent (invariant 48's idle restart)
	sentAtValid   bool

	opt  optGhost       // the options both SYNs carried, TS.Recent (options.go)
	acks ackGhost       // in-order text not yet acknowledged (acks.go)
	ka   keepaliveGhost // when the peer was last heard, probes since (keepalive.go)
	sack sackGhost      // the recently received out-of-order segments (sack.go)

	measuring bool // an RTT measurement runs (invariant 34)
	// With timestamps (RTTM, invariants 25 and 34): when the flight
	// outstanding began (a new segment sent with nothing outstanding),
	// and the side's timestamp clock offset, learnt from its segments.
	flightAt   time.Duration
	tsOff      uint32
	tsOffValid bool
	synRexmit  bool // the SYN (or SYN+ACK) was sent again on a timeout (RFC 6298 5.7)
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
	case machine.RuleSynSentRcvSynack, machine.RuleSynRcvdRcvAck, machine.RuleSynRcvdRcvFin,
		machine.RuleListenRcvCookieAck, machine.RuleListenRcvCookieFin:
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
	if w.checkCookies(r, g); w.err != nil {
		return
	}
	if w.checkOptions(r, g); w.err != nil {
		return
	}
	// The peer sees our window rounded down to the scale's granularity
	// (RFC 7323 2.3): the edge it saw may lie that much short of ours.
	gran := uint32(1)<<g.opt.sendShift() - 1

	if w.checkMaxWindow(r, g, fresh); w.err != nil {
		return
	}
	if w.checkHandshakeText(r); w.err != nil {
		return
	}
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
			(machine.SeqGT(a.RcvNxt, edgeBefore+gran) || machine.SeqGT(a.RcvHeldEnd, edgeBefore+gran)) {
			w.fail(21, "%v took text up to RCV.NXT %d (held to %d) beyond the right edge %d it advertised (%s)",
				s, a.RcvNxt, a.RcvHeldEnd, edgeBefore, simnet.FormatSegment(in))
		}
	}
	if w.err != nil {
		return
	}
	for i := range r.Steps {
		if handshakeDone(r.Steps[i].Rule) && r.Kind == simnet.Input {
			g.wlValid, g.wl1, g.wl2, g.wnd = true, in.Seq, in.Ack, g.opt.inWindow(in)
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
	snd, rcv := w.conn(s).Footprint()
	if snd > w.cfg.SndBuf || rcv > w.cfg.RcvBuf {
		w.fail(21, "%v's buffers hold %d and %d bytes of storage, more than SndBuf %d and RcvBuf %d", s, snd, rcv, w.cfg.SndBuf, w.cfg.RcvBuf)
		return
	}
	// And TIME-WAIT, which carries no more text, holds no buffer storage:
	// entering it gives the send ring back (our FIN is acknowledged) and
	// the receive ring once the application has read everything (a
	// server's thousands of TIME-WAITs then hold a TCB each).
	if r.From != machine.StateTimeWait && r.To == machine.StateTimeWait && (snd > 0 || rcv > 0 && a.RcvQueued == 0) {
		w.fail(21, "%v entered TIME-WAIT holding %d bytes of send storage and %d of receive storage (%d bytes readable)", s, snd, rcv, a.RcvQueued)
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
	if w.checkRecovery(r, &g.rec, g.opt.inWindow(in), same); w.err != nil {
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
	if w.checkCongestionWindow(r); w.err != nil {
		return
	}
	if w.checkHighRxt(r); w.err != nil {
		return
	}
	if w.checkRecoveryCounters(r); w.err != nil {
		return
	}
	if w.checkInitialWindow(r, g); w.err != nil {
		return
	}
	if w.checkIdleRestart(r, g); w.err != nil {
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
	if w.err != nil {
		return
	}
	if w.checkDelayedACK(r, g); w.err != nil {
		return
	}
	if w.checkKeepalive(r, g); w.err != nil {
		return
	}
	if w.checkReplies(r, g); w.err != nil {
		return
	}
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

// checkAdvertised is invariants 22 and 38: every window advertised, read
// with the scale this side's SYN announced (RFC 7323 2.3; a SYN's window
// unscaled), is the free space of the receive buffer (at most what the
// field can carry), never more (38 when scaled), and less only by receiver
// SWS avoidance and the scale's rounding; its right edge never moves left
// and moves right only by at least min(RcvBuf/2, MSS), both up to that
// rounding (2^shift - 1 bytes).
func (w *World) checkAdvertised(r *simnet.Record, g *flowGhost) {
	s := r.Side
	b, a := &r.Before, &r.After
	// The window of our SYN starts at the peer's ISN+1: once the SYN+ACK
	// tells it, that is the right edge advertised so far.
	if r.Kind == simnet.Input && len(r.Steps) > 0 && r.Steps[0].Rule == machine.RuleSynSentRcvSynack && g.opt.synOut && !g.advValid {
		g.advValid, g.advEdge = true, r.In.Seq+1+g.opt.synWnd
	}
	qmin, qmax := min(b.RcvQueued, a.RcvQueued), max(b.RcvQueued, a.RcvQueued)
	thr := w.sws()
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags.Has(machine.RST) || !hasSendSeq(r.To) && !o.Flags.Has(machine.SYN) {
			continue
		}
		shift := g.opt.sendShift()
		if o.Flags.Has(machine.SYN) {
			shift = 0
		}
		fieldMax := uint32(machine.MaxWindow) << shift
		freeMax := min(uint32(w.cfg.RcvBuf-qmin), fieldMax)
		freeMin := min(uint32(max(w.cfg.RcvBuf-qmax, 0)), fieldMax)
		gran := uint32(1)<<shift - 1
		wnd := g.opt.outWindow(o)
		if wnd > freeMax {
			inv := 22
			if shift > 0 {
				inv = 38
			}
			w.fail(inv, "%v advertised a window of %d (field %d, shift %d) with %d bytes of its %d-byte buffer in use: more than it can hold (%s)",
				s, wnd, o.Window, shift, qmin, w.cfg.RcvBuf, simnet.FormatSegment(o))
			return
		}
		if wnd < freeMin && freeMin-wnd >= thr+gran {
			w.fail(22, "%v advertised a window of %d with %d bytes free: less than the free space by %d or more (SWS allows less than %d, the scale rounds by %d)",
				s, wnd, freeMin, thr+gran, thr, gran)
			return
		}
		if !o.Flags.Has(machine.ACK) || cookieSYN(r) {
			continue // a cookie SYN+ACK belongs to no connection yet
		}
		edge := o.Ack + wnd
		// A SYN+ACK sent again after a scaled window went out cannot
		// carry that window: its field is never scaled (RFC 7323 2.2),
		// so at 65,535 it offers all it can.
		capped := o.Flags.Has(machine.SYN) && o.Window == machine.MaxWindow
		if capped && g.advValid && machine.SeqLT(edge, g.advEdge) {
			// Its edge is where the receiver now stands: later
			// segments move right from it (receiver SWS).
			g.advEdge = edge
			continue
		}
		if g.advValid {
			if machine.SeqLT(edge+gran, g.advEdge) {
				w.fail(22, "%v moved its window's right edge left, from %d to %d (%s)", s, g.advEdge, edge, simnet.FormatSegment(o))
				return
			}
			if d := edge - g.advEdge; machine.SeqGT(edge, g.advEdge) && d > gran && d+gran < thr {
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

// recordSent remembers every segment of r that occupies sequence space,
// for Karn's rule.
func (g *flowGhost) recordSent(r *simnet.Record) {
	for i := range r.Out {
		o := &r.Out[i]
		if o.Opts.Has(machine.OptTimestamps) && !o.Flags.Has(machine.RST) {
			g.tsOff, g.tsOffValid = o.TSVal-tsTicks(r.Now), true
		}
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
		if !rex && o.Seq == r.After.SndUna {
			g.flightAt = r.Now
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
