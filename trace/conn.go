package trace

import (
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// connKey is a connection's 4-tuple, the lower address:port first.
type connKey struct{ lo, hi netip.AddrPort }

func keyOf(a, b netip.AddrPort) connKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return connKey{a, b}
}

// pair is one explanation of a connection so far: both ends' observers,
// the verdict of the latest segment, and those not yet reported.
type pair struct {
	e       [2]end
	v       Verdict
	pending []pendingVerdict
}

// maxCandidates bounds the explanations kept per connection.
const maxCandidates = 4

// conn is one incarnation of a 4-tuple.
type conn struct {
	id     int
	addr   [2]netip.AddrPort // end 0 sent the first segment seen
	cands  []pair            // the explanations that fit every segment so far; cands[0] is reported
	first  time.Time
	last   time.Time
	opened bool // the capture saw its SYN

	// The Tracer's list of open connections, most recently active first.
	key        connKey
	prev, next *conn

	sum ConnSummary
	// For the findings.
	lastText  int // direction of the latest new text (-1: none yet)
	zeroSince [2]time.Time
}

// newConn starts a connection at its first segment s, with the
// explanations the segment allows.
func newConn(id int, s *Segment) *conn {
	c := &conn{id: id, addr: [2]netip.AddrPort{s.Src, s.Dst}, first: s.Time, last: s.Time, lastText: -1}
	var p pair
	p.e[0].addr, p.e[1].addr = s.Src, s.Dst
	for i := range p.e {
		p.e[i].since = s.Time
		p.e[i].wscale = -1
	}
	f := s.Flags
	switch {
	case f&(machine.SYN|machine.ACK|machine.RST) == machine.SYN:
		// An active open: the peer listens, or nothing does (then it
		// answers RST from CLOSED).
		c.opened = true
		p.e[0].state = machine.StateClosed
		p.e[1].state, p.e[1].passive = machine.StateListen, true
		q := p
		q.e[1].state, q.e[1].passive = machine.StateClosed, false
		c.cands = []pair{p, q}
	case f&(machine.SYN|machine.ACK|machine.RST) == machine.SYN|machine.ACK:
		// The SYN was before the capture: the sender is the passive end,
		// in SYN-RECEIVED, owing this SYN+ACK.
		c.opened = true
		a, b := &p.e[0], &p.e[1]
		a.state, a.passive = machine.StateSynReceived, true
		a.owe, a.oweRule = oweSynack, machine.RuleListenRcvSyn
		a.rcvNxt = s.Ack
		b.state = machine.StateSynSent
		b.iss, b.issSet, b.sndUna, b.sndNxt = s.Ack-1, true, s.Ack-1, s.Ack
		b.synSeen = true
		if s.WScale >= 0 {
			b.wscale = 0 // offered (a SYN+ACK echoes only what the SYN offered); its shift unknown
		}
		b.sackOK, b.tsOK = s.SACKPerm, s.HasTS
		c.cands = []pair{p}
	default:
		// Mid-connection: both ends synchronized, their variables from
		// this segment; window scaling unknown, so windows are not judged.
		a, b := &p.e[0], &p.e[1]
		a.state, b.state = machine.StateEstablished, machine.StateEstablished
		a.iss, a.issSet, a.sndUna, a.sndNxt = s.Seq-1, true, s.Seq, s.Seq
		b.rcvNxt = s.Seq
		if f&machine.ACK != 0 {
			b.iss, b.issSet, b.sndUna, b.sndNxt = s.Ack-1, true, s.Ack, s.Ack
			a.rcvNxt = s.Ack
		}
		a.synSeen, b.synSeen = true, true
		a.tsOK, b.tsOK = s.HasTS, s.HasTS
		c.cands = []pair{p}
	}
	c.sum = ConnSummary{ID: id, Ends: c.addr, First: s.Time, Opened: c.opened}
	return c
}

// step judges segment s (from end dir) against every explanation and
// keeps those it fits. While more than one fits, each keeps its own
// verdicts (pending); once one is left, its verdicts go to emit in order,
// so what is reported is always the explanation of the whole connection.
// When none fits, the first explanation's deviation is reported and that
// explanation, resynchronised by the segment, is the only one kept.
func (c *conn) step(s *Segment, dir int, emit func(*Verdict) error) error {
	c.last = s.Time
	// Each explanation steps in place; those the segment does not fit
	// are dropped, unless none fits: then the first, resynchronised by
	// the segment, stays and its deviation is reported.
	n := 0
	for i := range c.cands {
		p := &c.cands[i]
		p.v = Verdict{Seg: s, Conn: c.id, Dir: dir}
		stepPair(p, dir, s, &p.v)
		if p.v.Deviation == nil {
			if n != i {
				c.cands[n], c.cands[i] = c.cands[i], c.cands[n]
			}
			n++
		}
	}
	if n == 0 {
		n = 1
	}
	c.cands = c.cands[:n]
	if n > 1 && len(c.cands[0].pending) < maxPending {
		for i := range c.cands {
			p := &c.cands[i]
			p.pending = append(p.pending, pendingVerdict{v: p.v, s: *s})
		}
		return nil
	}
	// One explanation left (or the first, once the others have waited
	// too long): its verdicts are the connection's.
	if err := c.flush(emit); err != nil {
		return err
	}
	return c.report(&c.cands[0].v, emit)
}

// pendingVerdict is a verdict kept while explanations differ, with its
// own copy of the segment.
type pendingVerdict struct {
	v Verdict
	s Segment
}

// maxPending bounds the verdicts held while explanations differ.
const maxPending = 64

func (c *conn) report(v *Verdict, emit func(*Verdict) error) error {
	c.account(v)
	return emit(v)
}

// stepPair applies s to one explanation: first as the sender's output,
// then as the receiver's input (which happens whether or not the sender
// deviated: the segment was on the wire).
func stepPair(p *pair, dir int, s *Segment, v *Verdict) {
	a, b := &p.e[dir], &p.e[1-dir]
	v.Before = [2]machine.State{p.e[0].state, p.e[1].state}
	if s.BadChecksum {
		v.Kind |= KindOffload
	}
	v.Deviation = tx(a, b, s, v)
	b.ccFired, b.gotDup = cc.RuleNone, false
	ev, r := receive(b, a, s)
	if b.gotDup {
		v.Kind |= KindDupAck
	}
	v.Recv, v.RecvR = ev, r
	if v.CC == cc.RuleNone {
		v.CC = b.ccFired
	}
	if r == machine.RuleNone && v.Deviation == nil {
		v.Deviation = deviation(1-dir, machine.RuleNone, "no rule of the spec takes %v in %v", ev, b.state)
	}
	v.States = [2]machine.State{p.e[0].state, p.e[1].state}
	v.CCStates = [2]cc.State{p.e[0].cc.State(), p.e[1].cc.State()}
	v.ISS = [2]uint32{p.e[0].iss, p.e[1].iss}
}

// finished reports whether both ends of the reported explanation are
// done: CLOSED, or TIME-WAIT (whose holder only waits).
func (c *conn) finished() bool {
	p := &c.cands[0].e
	done := func(s machine.State) bool { return s == machine.StateClosed || s == machine.StateTimeWait }
	return done(p[0].state) && done(p[1].state) || p[0].state == machine.StateClosed && p[1].state == machine.StateListen || p[1].state == machine.StateClosed && p[0].state == machine.StateListen
}

// newIncarnation reports whether s, a SYN, opens a new connection on this
// 4-tuple rather than continuing this one: this one is finished and the
// SYN's sender is not retransmitting its own.
func (c *conn) newIncarnation(s *Segment, dir int) bool {
	if s.Flags&(machine.SYN|machine.ACK|machine.RST) != machine.SYN {
		return false
	}
	a := &c.cands[0].e[dir]
	if a.state == machine.StateSynSent && a.iss == s.Seq {
		return false
	}
	return c.finished() || a.state == machine.StateClosed || a.state == machine.StateTimeWait
}

// flush keeps the first explanation only and reports its pending
// verdicts: once one explanation is left, or when the connection ends
// with several still fitting.
func (c *conn) flush(emit func(*Verdict) error) error {
	c.cands = c.cands[:1]
	p := &c.cands[0]
	for i := range p.pending {
		pv := &p.pending[i]
		pv.v.Seg = &pv.s
		if err := c.report(&pv.v, emit); err != nil {
			return err
		}
	}
	p.pending = p.pending[:0]
	return nil
}
