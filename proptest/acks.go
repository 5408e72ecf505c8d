package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the ACK policy (invariant 41): how long the ACK of
// in-order text may wait, and how much text it may leave unacknowledged.

// ackGhost is one side's unacknowledged in-order text, from the segments.
type ackGhost struct {
	owed      bool          // RCV.NXT is beyond the last ACK this side sent
	owedSince time.Duration // since when

	// The ACK field of the last ACK this side sent before the record
	// judged (Last.ACK.sent as it was).
	before      uint32
	beforeValid bool
	// In-order segments with text taken while nothing was held: the
	// first quickACKs of them are ACKed at once.
	dataSegs uint32
}

// The ACK policy's documented figures, kept here rather than read from
// machine so that a change there shows.
const (
	// rfcMaxDelayedACK is RFC 9293 3.8.6.3's bound on an ACK's delay
	// (MUST-40).
	rfcMaxDelayedACK = 500 * time.Millisecond
	// defaultDelayedACK is Config.DelayedACK's default, Linux's
	// TCP_DELACK_MIN.
	defaultDelayedACK = 40 * time.Millisecond
	// defaultQuickACKs is Config.QuickACKs's default, Linux's
	// TCP_MAX_QUICKACKS.
	defaultQuickACKs = 16
)

// rcvEffMSS is the most text a full-sized segment to side s carries: its
// MSS, less the timestamps option when that is on.
func (w *World) rcvEffMSS(s simnet.Side, g *flowGhost) uint32 {
	mss := uint32(w.net.Config(s).MSS)
	if mss == 0 {
		mss = machine.DefaultMSS
	}
	return withTimestamps(mss, g.opt.on(machine.OptTimestamps))
}

// delayedACK is the longest side s may hold an ACK back.
func (w *World) delayedACK(s simnet.Side) time.Duration {
	return min(offOrDefault(w.net.Config(s).DelayedACK, defaultDelayedACK), rfcMaxDelayedACK)
}

// quickACKs is how many in-order segments at the start of side s's
// connection are ACKed at once.
func (w *World) quickACKs(s simnet.Side) uint32 {
	return uint32(offOrDefault(w.net.Config(s).QuickACKs, defaultQuickACKs))
}

// offOrDefault reads a Config field where a negative value turns the
// feature off (0) and zero takes the default.
func offOrDefault[T int | time.Duration](v, def T) T {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// checkDelayedACK is invariant 41 (RFC 9293 3.8.6.3, RFC 5681 4.2): after
// every call, the text a side took in order but has not acknowledged is
// less than two full-sized segments, none of it has waited longer than
// DelayedACK (at most 500 ms), and a timer is armed for its ACK by then
// (with abstract time, where the clock follows the other side's timers
// too, only the first bound is checked).
func (w *World) checkDelayedACK(r *simnet.Record, g *flowGhost) {
	a := &r.After
	k := &g.acks
	if w.checkACKPolicy(r, g); w.err != nil {
		return
	}
	if !isSync(r.To) || !g.opt.lastValid || !machine.SeqGT(a.RcvNxt, g.opt.lastAck) {
		k.owed, k.owedSince = false, 0
		return
	}
	owed := a.RcvNxt - g.opt.lastAck
	if limit := 2 * w.rcvEffMSS(r.Side, g); owed >= limit {
		w.fail(41, "%v leaves %d bytes of in-order text unacknowledged (RCV.NXT %d, last ACK %d): at least every second full-sized segment (%d bytes) is ACKed (RFC 5681 4.2)",
			r.Side, owed, a.RcvNxt, g.opt.lastAck, limit)
		return
	}
	acked := false
	for i := range r.Out {
		acked = acked || r.Out[i].Flags.Has(machine.ACK) && !r.Out[i].Flags.Has(machine.RST)
	}
	if !k.owed || acked {
		k.owed, k.owedSince = true, r.Now
	}
	d := w.delayedACK(r.Side)
	if !w.abstractTime && r.Now > k.owedSince+d {
		w.fail(41, "%v has left %d bytes of in-order text unacknowledged since %v, longer than its delayed-ACK bound %v (RFC 9293 3.8.6.3)",
			r.Side, owed, k.owedSince, d)
		return
	}
	// And a timer runs for the ACK by then.
	if !w.abstractTime && (!r.HasTimer || r.Deadline > k.owedSince+d) {
		w.fail(41, "%v owes the ACK of %d bytes since %v, due by %v, but its next timer is %v (armed %v)",
			r.Side, owed, k.owedSince, k.owedSince+d, r.Deadline, r.HasTimer)
	}
}

// inOrderText is how much text r's segment added in order (RCV.NXT's
// advance less a FIN), and whether it arrived with nothing held (only
// then may its ACK wait: text filling a gap is ACKed at once).
func inOrderText(r *simnet.Record) (n uint32, noGap bool) {
	in, b, a := &r.In, &r.Before, &r.After
	if r.Kind != simnet.Input || len(in.Payload) == 0 || in.Flags.Has(machine.RST) {
		return 0, false
	}
	took := false
	for i := range r.Steps {
		took = took || does(r.Steps[i].Rule, "accept_text")
	}
	if !took {
		return 0, false
	}
	start := b.RcvNxt // where in-order text starts
	switch r.From {
	case machine.StateSynSent:
		start = in.Seq + 1 // text on a SYN+ACK
	case machine.StateListen:
		start = in.Seq // text on a cookie's ACK
	}
	n = a.RcvNxt - start
	if a.FinRcvd && (r.From == machine.StateSynSent || r.From == machine.StateListen || !b.FinRcvd) {
		n--
	}
	if r.From == machine.StateSynSent || r.From == machine.StateListen {
		return n, true
	}
	return n, b.RcvHeldRanges == 0
}

// checkACKPolicy is invariant 41's exact ACK policy (delack.go): text
// that fills a gap or repeats bytes received before is ACKed at once; the
// first QuickACKs in-order segments with text are ACKed at once, as is
// every one with delayed ACKs off; after them, in-order text that fills no
// gap and leaves less than two full-sized segments unacknowledged, on a
// segment that asks for nothing else (no FIN, no duplicate, nothing
// trimmed), sends no pure ACK: it waits for more text, data to ride on or
// the delayed-ACK timer; and that timer sends an ACK only when text is
// owed, and not before DelayedACK has passed since it became owed. And a
// call sends at most one pure ACK.
func (w *World) checkACKPolicy(r *simnet.Record, g *flowGhost) {
	k := &g.acks
	s := r.Side
	a, b, in := &r.After, &r.Before, &r.In
	defer func() { k.before, k.beforeValid = g.opt.lastAck, g.opt.lastValid }()
	// One pure ACK per call says all there is to say: a second one
	// (keepalive probes, at SND.NXT-1, apart) repeats it.
	pure := 0
	for i := range r.Out {
		if o := &r.Out[i]; o.Flags == machine.ACK && len(o.Payload) == 0 && o.Seq == a.SndNxt {
			if pure++; pure > 1 {
				w.fail(41, "%v sent a second pure ACK in one call: %v", s, formatSegs(r.Out))
				return
			}
		}
	}
	for i := range r.Steps {
		if r.Steps[i].Rule == machine.RuleAnyDelack && (!k.beforeValid || !machine.SeqGT(b.RcvNxt, k.before)) {
			w.fail(41, "%v's delayed-ACK timer fired with nothing owed: RCV.NXT %d, last ACK sent %d (valid %v): an ACK sent since must disarm it",
				s, b.RcvNxt, k.before, k.beforeValid)
			return
		}
		if d := w.delayedACK(s); r.Steps[i].Rule == machine.RuleAnyDelack && !w.abstractTime && k.owed && r.Now < k.owedSince+d {
			w.fail(41, "%v's delayed-ACK timer fired %v after text became owed at %v, before DelayedACK %v", s, r.Now-k.owedSince, k.owedSince, d)
			return
		}
	}
	n, noGap := inOrderText(r)
	if n == 0 {
		return
	}
	// Text that fills a gap, or whose segment began with bytes received
	// before, is ACKed at once (RFC 5681 4.2; RFC 2883 4: the D-SACK
	// block goes out now).
	dup := r.From != machine.StateSynSent && r.From != machine.StateListen && machine.SeqLT(in.Seq, b.RcvNxt)
	if (!noGap || dup) && !hasAck(r.Out, a.RcvNxt) {
		w.fail(41, "%v took %s, which fills a gap (%v) or repeats text received before (%v), and did not ACK it at once: %v",
			s, simnet.FormatSegment(in), !noGap, dup, formatSegs(r.Out))
		return
	}
	if !noGap {
		return
	}
	k.dataSegs++
	d := w.delayedACK(s)
	if d <= 0 || k.dataSegs <= w.quickACKs(s) {
		if !hasAck(r.Out, a.RcvNxt) {
			w.fail(41, "%v took in-order segment %d with text (%s) and did not ACK it at once: the first %d are (quick ACKs; delayed ACKs %v)",
				s, k.dataSegs, simnet.FormatSegment(in), w.quickACKs(s), d)
		}
		return
	}
	plain := in.Seq == b.RcvNxt && !in.Flags.Has(machine.FIN) && !in.Flags.Has(machine.SYN) &&
		in.Seq+uint32(len(in.Payload))-b.RcvNxt <= b.RcvWnd && a.RcvHeldRanges == 0 && !a.PeerFinHeld &&
		(r.From == machine.StateEstablished || r.From == machine.StateFinWait1 || r.From == machine.StateFinWait2) && r.To == r.From
	if !plain || !k.beforeValid || a.RcvNxt-k.before >= 2*w.rcvEffMSS(s, g) {
		return
	}
	for i := range r.Out {
		if o := &r.Out[i]; o.Flags == machine.ACK && len(o.Payload) == 0 {
			w.fail(41, "%v sent a pure ACK %s for in-order segment %d (%s), with %d bytes owed (less than two full-sized segments) and delayed ACKs on: it must wait",
				s, simnet.FormatSegment(o), k.dataSegs, simnet.FormatSegment(in), a.RcvNxt-k.before)
			return
		}
	}
}
