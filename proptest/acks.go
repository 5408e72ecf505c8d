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
}

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
	d := w.net.Config(s).DelayedACK
	switch {
	case d < 0:
		return 0
	case d == 0:
		return machine.DefaultDelayedACK
	}
	return min(d, machine.MaxDelayedACK)
}

// checkDelayedACK is invariant 41 (RFC 9293 3.8.6.3, RFC 5681 4.2): after
// every call, the text a side took in order but has not acknowledged is
// less than two full-sized segments, and none of it has waited longer than
// DelayedACK (at most 500 ms; with abstract time, where the clock follows
// the other side's timers too, only the first bound is checked).
func (w *World) checkDelayedACK(r *simnet.Record, g *flowGhost) {
	a := &r.After
	k := &g.acks
	if !isSync(r.To) || !g.opt.lastValid || !machine.SeqGT(a.RcvNxt, g.opt.lastAck) {
		*k = ackGhost{}
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
	if d := w.delayedACK(r.Side); !w.abstractTime && r.Now > k.owedSince+d {
		w.fail(41, "%v has left %d bytes of in-order text unacknowledged since %v, longer than its delayed-ACK bound %v (RFC 9293 3.8.6.3)",
			r.Side, owed, k.owedSince, d)
	}
}
