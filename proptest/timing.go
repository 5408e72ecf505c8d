package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the timers: the RTO, its backoff and Karn's rule (25,
// with RFC 6298 5.7 after a retransmitted SYN), that RTT samples are taken
// at all (34), and when a connection may be given up (36).

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
	if rttm(r, same) {
		w.checkRTTM(r, g, sampled)
		return
	}
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
// last time an ACK took new data, outstanding data began, or the peer
// answered while its window was shut.
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
	// A peer that answers zero-window probes is alive (RFC 9293 3.8.6.1):
	// its ACK counts as progress while the window stays shut.
	probeAnswered := false
	if r.Kind == simnet.Input && a.SndWnd == 0 {
		for i := range r.Steps {
			probeAnswered = probeAnswered || does(r.Steps[i].Rule, "process_ack")
		}
	}
	if a.SndUna != b.SndUna || (b.SndUna == b.SndNxt && a.SndUna != a.SndNxt) || probeAnswered || !g.progressValid {
		g.progressValid, g.progressAt = true, r.Now
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
	// RFC 6298 2.2 and 2.3, with the machine's integer rounding; with
	// timestamps the gains are divided by the samples expected per round
	// trip, one per two full segments in flight (RFC 7323 Appendix G).
	n := time.Duration(1)
	if rttm(r, same) {
		smss := max(uint32(b.MSS), 1)
		n = time.Duration(max((b.SndNxt-b.SndUna+2*smss-1)/(2*smss), 1))
	}
	wantVar, wantSRTT := m/2, m
	if b.RTTSamples > 0 {
		d := b.SRTT - m
		if d < 0 {
			d = -d
		}
		wantVar = b.RTTVar - b.RTTVar/(4*n) + d/(4*n)
		wantSRTT = b.SRTT - b.SRTT/(8*n) + m/(8*n)
	}
	if a.SRTT != wantSRTT || a.RTTVar != wantVar {
		w.fail(25, "%v: after the sample %v, SRTT %v and RTTVAR %v; RFC 6298 2.2/2.3 (gains divided by %d, RFC 7323 Appendix G) give %v and %v (from %v, %v)",
			s, m, a.SRTT, a.RTTVar, n, wantSRTT, wantVar, b.SRTT, b.RTTVar)
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
	// once and never repeated since (with timestamps, checkRTTM judges
	// the sample instead: echoes time retransmissions unambiguously).
	if g.overflow || rttm(r, same) {
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

// tsTicks is the timestamp clock's tick count at now (milliseconds, as
// the machine's clock; its per-connection offset is added to it).
func tsTicks(now time.Duration) uint32 { return uint32(int64(now / time.Millisecond)) }

// rttm reports whether r is an input that RFC 7323 4.1's RTTM times: an
// ACK of new data on a connection (the same TCB throughout) with
// timestamps on.
func rttm(r *simnet.Record, same bool) bool {
	return same && r.Kind == simnet.Input && r.Before.Opts.Has(machine.OptTimestamps) &&
		machine.SeqGT(r.After.SndUna, r.Before.SndUna)
}

// checkRTTM is invariants 25 and 34 with timestamps (RFC 7323 4.1): an
// ACK of new data whose echoed TSecr is neither from the future of the
// side's clock nor older than the flight it acknowledges began gives a
// sample, the clock less TSecr; any other ACK gives none (a stale or
// forged echo must not move the RTO).
func (w *World) checkRTTM(r *simnet.Record, g *flowGhost, sampled bool) {
	if sampled {
		g.stopMeasuring()
	}
	if !g.tsOffValid {
		return
	}
	in := &r.In
	now := tsTicks(r.Now) + g.tsOff
	low := tsTicks(g.flightAt) + g.tsOff
	valid := in.Opts.Has(machine.OptTimestamps) && machine.SeqLEQ(low, in.TSEcr) && machine.SeqLEQ(in.TSEcr, now)
	m := time.Duration(now-in.TSEcr) * time.Millisecond
	switch {
	case valid && !sampled:
		w.fail(34, "%v: %s acknowledges new data and echoes TSecr %d (clock %d, the flight began at %d) but took no RTT sample (RFC 7323 4.1)",
			r.Side, simnet.FormatSegment(in), in.TSEcr, now, low)
	case !valid && sampled:
		w.fail(25, "%v took an RTT sample (%v) from %s, whose echo (TSecr %d) is not within [%d, %d]: from the future, older than the flight it acknowledges, or absent",
			r.Side, r.After.LastRTT, simnet.FormatSegment(in), in.TSEcr, low, now)
	case valid && r.After.LastRTT != m:
		w.fail(25, "%v: the ACK echoing TSecr %d at clock %d gave an RTT sample of %v, want %v (RFC 7323 4.1)",
			r.Side, in.TSEcr, now, r.After.LastRTT, m)
	}
}
