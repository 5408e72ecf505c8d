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
