package trace

import (
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// rx is one segment's input to the receiving end's machine: it implements
// machine.Actions over the observer's variables, so the generated
// machine.Step decides the rule exactly as the stack would. Guards read the
// segment and the end; actions keep only what a capture can show (the
// sequence variables, the options, the replies now owed).
type rx struct {
	to, from *end
	s        *Segment
	owe      owed
}

var _ machine.Actions = (*rx)(nil)

// receive classifies s for e (RFC 9293 3.10.7, as machine.Conn.Classify)
// and steps e's machine; it returns the event and the rule.
func receive(e, from *end, s *Segment) (machine.Event, machine.Rule) {
	r := &e.rx // in the end, not on the stack: an Actions value would escape
	*r = rx{to: e, from: from, s: s}
	if e.rcvSeenSet && s.Flags&(machine.SYN|machine.RST) == 0 && (s.Len > 0 || s.Flags&machine.FIN != 0) &&
		machine.SeqGT(s.Seq, e.rcvNxt) && machine.SeqLEQ(s.Seq, e.rcvSeen) {
		e.rcvNxt = s.Seq // the text before it is on its way (rcvSeen)
	}
	ev := r.classify()
	e.lastInFrom = e.state
	st, rule := machine.Step(e.state, ev, r)
	if r.owe != 0 {
		e.owe |= r.owe
		e.oweRule = rule
	}
	if r.owe&oweRst != 0 {
		// RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if the ACK bit is
		// on, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
		e.rstNoAck = s.Flags&machine.ACK == 0
		e.rstSeq, e.rstAck = s.Ack, s.Seq+s.SeqLen()
	}
	e.lastIn, e.lastInRst = rule, s.Flags&machine.RST != 0
	e.enter(st, s.Time)
	return ev, rule
}

// rcvWnd is the window e last advertised, from its next expected byte; a
// window not yet seen is taken as the largest possible.
func (e *end) rcvWnd() uint32 {
	if !e.rcvEdgeSet {
		return 1 << 30
	}
	if machine.SeqLEQ(e.rcvEdge, e.rcvNxt) {
		return 0
	}
	return e.rcvEdge - e.rcvNxt
}

// classify is machine.Conn.classify over the observer's variables.
func (r *rx) classify() machine.Event {
	e, s := r.to, r.s
	f := s.Flags
	switch e.state {
	case machine.StateClosed, machine.StateListen, machine.StateSynSent:
		switch {
		case f&machine.RST != 0:
			return machine.EventRcvRst
		case f&(machine.SYN|machine.ACK) == machine.SYN|machine.ACK:
			return machine.EventRcvSynack
		case f&machine.SYN != 0:
			return machine.EventRcvSyn
		case f&machine.ACK == 0:
			return machine.EventRcvNoack
		case f&machine.FIN != 0:
			return machine.EventRcvFin
		case s.Len > 0:
			return machine.EventRcvData
		}
		return machine.EventRcvAck
	}
	if f&machine.RST != 0 {
		return machine.EventRcvRst
	}
	if e.state == machine.StateTimeWait {
		if f&(machine.SYN|machine.ACK) == machine.SYN {
			return machine.EventRcvSyn
		}
		if f&(machine.SYN|machine.ACK|machine.FIN) == machine.ACK|machine.FIN && s.Seq+s.SeqLen() == e.rcvNxt {
			return machine.EventRcvFin
		}
	}
	if r.PawsReject() {
		return machine.EventRcvUnacceptable
	}
	if !r.acceptable() {
		if f&(machine.SYN|machine.ACK) == machine.ACK && s.Len > 0 && s.Seq == e.rcvNxt && !e.finRcvd && e.rcvWnd() == 0 {
			return machine.EventRcvAck // a zero-window probe: its ACK counts
		}
		return machine.EventRcvUnacceptable
	}
	switch {
	case f&(machine.SYN|machine.ACK) == machine.SYN|machine.ACK:
		return machine.EventRcvSynack
	case f&machine.SYN != 0:
		return machine.EventRcvSyn
	case f&machine.ACK == 0:
		return machine.EventRcvNoack
	}
	end := s.Seq + uint32(s.Len)
	if f&machine.FIN != 0 && machine.SeqLEQ(s.Seq, e.rcvNxt) && machine.SeqGEQ(end, e.rcvNxt) &&
		machine.SeqLT(end-e.rcvNxt, max(e.rcvWnd(), 1)) && !e.finRcvd {
		return machine.EventRcvFin
	}
	if machine.SeqGT(end, e.rcvNxt) && e.rcvWnd() > 0 {
		return machine.EventRcvData
	}
	return machine.EventRcvAck
}

// acceptable is RFC 9293 3.10.7.4's four-case test.
func (r *rx) acceptable() bool {
	e, s := r.to, r.s
	nxt, wnd, n := e.rcvNxt, e.rcvWnd(), s.Len
	if s.Flags&machine.FIN != 0 {
		n++
	}
	switch {
	case n == 0 && wnd == 0:
		return s.Seq == nxt
	case n == 0:
		return machine.SeqInWindow(s.Seq, nxt, wnd)
	case wnd == 0:
		return false
	}
	return machine.SeqInWindow(s.Seq, nxt, wnd) || machine.SeqInWindow(s.Seq+uint32(n)-1, nxt, wnd)
}

// ---- guards ----

func (r *rx) ack() bool { return r.s.Flags&machine.ACK != 0 }

func (r *rx) AckAcceptable() bool {
	e, a := r.to, r.s.Ack
	if !r.ack() {
		return false
	}
	if e.state == machine.StateSynSent {
		return machine.SeqGT(a, e.iss) && machine.SeqLEQ(a, e.sndNxt)
	}
	return machine.SeqLT(e.sndUna, a) && machine.SeqLEQ(a, e.sndNxt)
}

func (r *rx) AckInRange() bool {
	e, a := r.to, r.s.Ack
	maxWnd := max(e.sndMax, 65535)
	return r.ack() && machine.SeqLEQ(e.sndUna-maxWnd, a) && machine.SeqLEQ(a, e.sndNxt)
}

func (r *rx) FinAcked() bool {
	return r.to.finSent && r.ack() && machine.SeqGT(r.s.Ack, r.to.finSeq)
}

func (r *rx) RstExact() bool { return r.s.Seq == r.to.rcvNxt }

func (r *rx) RstInWindow() bool {
	return machine.SeqInWindow(r.s.Seq, r.to.rcvNxt, r.to.rcvWnd())
}

func (r *rx) PassiveOpen() bool { return r.to.passive }

func (r *rx) SynNewIncarnation() bool {
	e, s := r.to, r.s
	if e.tsOK && s.HasTS && e.tsSeen {
		return int32(s.TSVal-e.tsRecent) > 0
	}
	return machine.SeqGT(s.Seq, e.rcvNxt)
}

func (r *rx) SynFin() bool { return r.s.Flags&(machine.SYN|machine.FIN) == machine.SYN|machine.FIN }

// KeepaliveExhausted, SynCookies and CookieValid are hidden: a capture
// shows neither the keepalive count nor a listener's queue. The observer
// takes the common case; a listener answering with cookies is told apart
// on the send side.
func (r *rx) KeepaliveExhausted() bool { return false }
func (r *rx) SynCookies() bool         { return false }
func (r *rx) CookieValid() bool        { return false }

func (r *rx) PawsReject() bool {
	e, s := r.to, r.s
	return e.tsOK && r.from.tsOK && e.tsSeen && s.HasTS && s.Flags&machine.RST == 0 &&
		int32(s.TSVal-e.tsRecent) < 0
}

func (r *rx) Rfc1337() bool { return false }

// ---- actions ----

func (r *rx) CreateTcb()        {}
func (r *rx) SelectIss()        {}
func (r *rx) SendSyn()          {}
func (r *rx) SendRstAbort()     {}
func (r *rx) QueueSend()        {}
func (r *rx) QueueFin()         {}
func (r *rx) Deliver()          {}
func (r *rx) ErrClosing()       {}
func (r *rx) SignalReset()      {}
func (r *rx) SignalRefused()    {}
func (r *rx) SignalTimeout()    {}
func (r *rx) Retransmit()       {}
func (r *rx) Start2msl()        {}
func (r *rx) DeleteTcb()        {}
func (r *rx) SendKeepalive()    {}
func (r *rx) SendAck()          { r.owe |= oweAck }
func (r *rx) SendChallengeAck() { r.owe |= oweAck }
func (r *rx) SendDupack()       { r.owe |= oweAck }
func (r *rx) SendRstReply()     { r.owe |= oweRst }
func (r *rx) SendSynack()       { r.owe |= oweSynack }
func (r *rx) SendCookieSynack() { r.owe |= oweSynack }

func (r *rx) AcceptSyn() {
	e, s := r.to, r.s
	e.rcvNxt = s.Seq + 1
	e.sndMax = max(e.sndMax, uint32(s.Window))
}

func (r *rx) TakeOptions() {
	if r.to.synSeen && r.from.synSeen {
		negotiate(r.to, r.from)
	}
}

func (r *rx) RememberPassive() { r.to.passive = true }
func (r *rx) RememberActive()  { r.to.passive = false }

func (r *rx) CompleteOpen() {
	e, s := r.to, r.s
	e.rcvNxt = s.Seq + 1
	e.sndUna = s.Ack
	e.sndMax = max(e.sndMax, uint32(s.Window))
}

func (r *rx) CompletePassive() {
	r.to.sndUna = r.s.Ack
	r.to.sndMax = max(r.to.sndMax, r.from.window(r.s))
}

func (r *rx) ProcessAck() {
	e, s := r.to, r.s
	if !r.ack() {
		return
	}
	dup := s.Ack == e.sndUna && s.Len == 0 && s.Flags&(machine.FIN|machine.SYN) == 0 && e.sndNxt != e.sndUna && s.Window != 0 &&
		(s.Window == e.lastWin || s.NumSACK > 0)
	e.ccAck(r.from, s, dup)
	e.gotDup = dup
	switch {
	case machine.SeqGT(s.Ack, e.sndUna):
		e.sndUna = s.Ack
		e.dupAcks = 0
	case dup:
		e.dupAcks++
	}
	e.lastWin = s.Window
	e.sackedNew = s.NumSACK > 0
	e.sndMax = max(e.sndMax, r.from.window(s))
	if e.tsOK && s.HasTS && (!e.tsSeen || int32(s.TSVal-e.tsRecent) >= 0) {
		e.tsRecent, e.tsSeen = s.TSVal, true
	}
}

func (r *rx) AcceptText() {
	e, s := r.to, r.s
	if s.Len == 0 {
		return
	}
	start := s.Seq
	if s.Flags&machine.SYN != 0 {
		start++
	}
	end := start + uint32(s.Len)
	if machine.SeqLEQ(start, e.rcvNxt) && machine.SeqGT(end, e.rcvNxt) {
		e.rcvNxt = end
		e.seen()
	}
	r.owe |= oweAck
}

// seen records rcvNxt as in-order text the capture saw go to e.
func (e *end) seen() {
	if !e.rcvSeenSet || machine.SeqGT(e.rcvNxt, e.rcvSeen) {
		e.rcvSeen, e.rcvSeenSet = e.rcvNxt, true
	}
}

func (r *rx) AcceptFin() {
	e, s := r.to, r.s
	e.finRcvd = true
	e.rcvNxt = s.Seq + uint32(s.Len) + 1
	e.seen()
	r.owe |= oweAck
}

func (r *rx) Reincarnate() {}

func (r *rx) AcceptCookie() {
	e, s := r.to, r.s
	e.rcvNxt = s.Seq
	e.iss, e.issSet = s.Ack-1, true
	e.sndUna, e.sndNxt = s.Ack, s.Ack
	e.passive = true
}

// ccAck feeds an ACK e received to e's congestion control (started at its
// first ACK after the handshake, with the peer's MSS option as SMSS).
func (e *end) ccAck(peer *end, s *Segment, dup bool) {
	if !e.ccOn {
		if !synchronized(e.state) {
			return
		}
		smss := uint32(peer.mssOpt)
		if smss == 0 {
			smss = 536 // RFC 9293 3.7.1's default
		}
		e.cc.Init(cc.CUBIC, smss, e.sackOK && peer.sackOK)
		e.ccOn = true
	}
	a := cc.Ack{Now: time.Duration(s.Time.UnixNano()), SndUna: e.sndUna, SndNxt: e.sndNxt, SegAck: s.Ack, Duplicate: dup}
	if machine.SeqGT(s.Ack, e.sndNxt) {
		return
	}
	before := e.cc.State()
	if r := e.cc.OnAck(a); r != cc.RuleNone {
		e.ccRule, e.ccFired = r, r
		if before != cc.StateFastRecovery && e.cc.State() == cc.StateFastRecovery {
			e.ccEnter = r // the rule that began this recovery
		}
	}
}

// negotiate settles the options once both SYNs are seen (RFC 7323 2.2,
// 3.2; RFC 2018 2): window scaling and timestamps are on when both
// offered them.
func negotiate(a, b *end) {
	scale := a.wscale >= 0 && b.wscale >= 0
	a.scaleOn, b.scaleOn = scale, scale
	ts := a.tsOK && b.tsOK
	a.tsOK, b.tsOK = ts, ts
	a.windowKnown, b.windowKnown = true, true
}
