package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges RTT measurement beyond invariant 25's estimator checks:
// that samples are taken at all (34) and the RTO a handshake that needed
// a retransmitted SYN leaves behind (25, RFC 6298 5.7).

// checkSampled is invariant 34 (RFC 6298 3: at least one RTT measurement
// per round trip, unless Karn's algorithm forbids it): the first segment
// sent once while no measurement runs starts one, and the ACK that covers
// it, with no retransmission or timeout since it was sent, yields a sample.
// It also holds the handshake to RFC 6298 5.7: when the SYN went out more
// than once and no sample exists, data transmission starts with an RTO of
// 3 s (within MinRTO and MaxRTO) and no backoff.
func (w *World) checkSampled(r *simnet.Record, g *flowGhost, same bool) {
	b, a := &r.Before, &r.After
	sampled := a.RTTSamples != b.RTTSamples
	if same && r.Kind == simnet.Input && g.synRexmit && a.RTTSamples == 0 {
		for i := range r.Steps {
			if !handshakeDone(r.Steps[i].Rule) || !hasSendSeq(r.To) {
				continue
			}
			want := min(max(w.cfg.InitialRTO, 3*time.Second), w.cfg.MaxRTO)
			if a.RTO != want || a.Backoff != 0 {
				w.fail(25, "%v completed a handshake whose SYN was retransmitted, with no RTT sample, and left the RTO at %v (backoff %d); RFC 6298 5.7 wants %v",
					r.Side, a.RTO, a.Backoff, want)
				return
			}
		}
	}
	if sampled {
		g.stopMeasuring()
		return
	}
	if !same || g.overflow || r.Kind != simnet.Input || !machine.SeqGT(a.SndUna, b.SndUna) {
		return
	}
	for _, e := range g.sent[:g.nSent] {
		if e.timed && machine.SeqLEQ(e.end, a.SndUna) {
			w.fail(34, "%v: %s acknowledges [%d, %d), sent once at %v while no RTT measurement ran, with no retransmission since, but took no RTT sample (RFC 6298 3: one per round trip)",
				r.Side, simnet.FormatSegment(&r.In), e.start, e.end, e.at)
			return
		}
	}
}

// checkUserTimeout is invariant 36: a connection is given up for a user
// timeout (RFC 9293 3.8.4's USER TIMEOUT) only after UserTimeout has
// passed with data outstanding and no ACK of new data (HandshakeTimeout,
// if smaller, while the SYN is unacknowledged), and in FIN-WAIT-2 only
// FinWait2 after our FIN was acknowledged. g.progressAt, kept here, is the
// last time an ACK took new data or outstanding data began.
func (w *World) checkUserTimeout(r *simnet.Record, g *flowGhost, sameTCB bool) {
	b, a := &r.Before, &r.After
	if !sameTCB {
		g.progressValid = false
	}
	if w.abstractTime {
		return
	}
	for i := range r.Steps {
		if r.Steps[i].Rule != machine.RuleAnyUserTimeout || !g.progressValid {
			continue
		}
		limit, what := w.cfg.UserTimeout, "UserTimeout"
		switch {
		case r.Steps[i].From == machine.StateFinWait2:
			limit, what = w.cfg.FinWait2, "FinWait2"
		case !b.SynAcked:
			hs := w.cfg.HandshakeTimeout
			if hs == 0 {
				hs = machine.DefaultHandshakeTimeout
			}
			limit, what = min(limit, hs), "the handshake's user timeout"
		}
		if idle := r.Now - g.progressAt; idle < limit {
			w.fail(36, "%v gave up in %v for a user timeout %v after the last progress (an ACK of new data, or data outstanding); %s is %v",
				r.Side, r.Steps[i].From, idle, what, limit)
			return
		}
	}
	if !hasSendSeq(r.To) {
		return
	}
	if a.SndUna != b.SndUna || (b.SndUna == b.SndNxt && a.SndUna != a.SndNxt) || !g.progressValid {
		g.progressValid, g.progressAt = true, r.Now
	}
}
