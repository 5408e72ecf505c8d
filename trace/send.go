package trace

import (
	"fmt"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// probe runs machine.Step for a hidden event (a user call or a timer) and
// records what the fired rule's actions would send. It changes nothing in
// the end: the send side applies what the segment shows.
type probe struct {
	e         *end
	exhausted bool // KeepaliveExhausted
	sends     sent
}

// sent is what a rule's actions put on the wire (or refuse).
type sent uint16

const (
	sentSyn sent = 1 << iota
	sentSynack
	sentAck
	sentRst
	sentText
	sentFin
	sentRexmt
	sentKeepalive
	sentRefused // err_closing: the call is refused
)

var _ machine.Actions = (*probe)(nil)

// hidden steps e's machine with the hidden event ev without changing e; it
// returns the next state, the rule and what it sends.
func hidden(e *end, ev machine.Event) (machine.State, machine.Rule, sent) {
	p := &e.probe // in the end, not on the stack: an Actions value would escape
	*p = probe{e: e}
	st, r := machine.Step(e.state, ev, p)
	return st, r, p.sends
}

func (p *probe) AckAcceptable() bool      { return false }
func (p *probe) AckInRange() bool         { return false }
func (p *probe) FinAcked() bool           { return false }
func (p *probe) RstExact() bool           { return false }
func (p *probe) RstInWindow() bool        { return false }
func (p *probe) PassiveOpen() bool        { return p.e.passive }
func (p *probe) SynNewIncarnation() bool  { return false }
func (p *probe) SynFin() bool             { return false }
func (p *probe) KeepaliveExhausted() bool { return p.exhausted }
func (p *probe) SynCookies() bool         { return false }
func (p *probe) CookieValid() bool        { return false }
func (p *probe) PawsReject() bool         { return false }
func (p *probe) Rfc1337() bool            { return false }
func (p *probe) CreateTcb()               {}
func (p *probe) SelectIss()               {}
func (p *probe) SendSyn()                 { p.sends |= sentSyn }
func (p *probe) AcceptSyn()               {}
func (p *probe) SendSynack()              { p.sends |= sentSynack }
func (p *probe) TakeOptions()             {}
func (p *probe) RememberPassive()         {}
func (p *probe) RememberActive()          {}
func (p *probe) CompleteOpen()            {}
func (p *probe) CompletePassive()         {}
func (p *probe) SendAck()                 { p.sends |= sentAck }
func (p *probe) SendChallengeAck()        { p.sends |= sentAck }
func (p *probe) SendDupack()              { p.sends |= sentAck }
func (p *probe) SendRstReply()            { p.sends |= sentRst }
func (p *probe) SendRstAbort()            { p.sends |= sentRst }
func (p *probe) ProcessAck()              {}
func (p *probe) AcceptText()              {}
func (p *probe) AcceptFin()               {}
func (p *probe) QueueSend()               { p.sends |= sentText }
func (p *probe) QueueFin()                { p.sends |= sentFin }
func (p *probe) Deliver()                 { p.sends |= sentAck } // RECEIVE may open the window: a window update
func (p *probe) ErrClosing()              { p.sends |= sentRefused }
func (p *probe) SignalReset()             {}
func (p *probe) SignalRefused()           {}
func (p *probe) SignalTimeout()           {}
func (p *probe) Retransmit()              { p.sends |= sentRexmt }
func (p *probe) Start2msl()               {}
func (p *probe) Reincarnate()             {}
func (p *probe) DeleteTcb()               {}
func (p *probe) SendCookieSynack()        { p.sends |= sentSynack }
func (p *probe) AcceptCookie()            {}
func (p *probe) SendKeepalive()           { p.sends |= sentKeepalive }

// tx explains segment s as an output of end a (whose peer is b): it sets
// v.Send, v.Hidden and v.Kind, moves a through any hidden event, updates
// a's variables from what s shows, and returns a deviation if no rule of
// a's machine sends s.
func tx(a, b *end, s *Segment, v *Verdict) *Deviation {
	v.Send, v.Hidden = machine.RuleNone, HiddenNone
	d := txBy(a, b, s, v)
	if d != nil && a.lateCopy(s) {
		// Nothing in it is newer than what a sent before: a copy the
		// network delayed or duplicated on the way to the capture point.
		// It says nothing new of a.
		v.Kind |= KindReordered
		v.Send, v.Hidden = machine.RuleNone, HiddenNone
		return nil
	}
	if d != nil && a.inputLost(s) {
		// a goes on as if the segment that closed it never came: it
		// was lost after the capture point. a is where it was before.
		a.enter(a.lastInFrom, s.Time)
		a.lastIn = machine.RuleNone
		v.Before[v.Dir] = a.state
		v.Kind |= KindInputLost
		d = txBy(a, b, s, v)
	}
	a.learn(s)
	return d
}

// txBy judges s by the kind of segment it is.
func txBy(a, b *end, s *Segment, v *Verdict) *Deviation {
	f := s.Flags
	switch {
	case f&machine.RST != 0:
		return txRst(a, b, s, v)
	case f&(machine.SYN|machine.ACK) == machine.SYN:
		return txSyn(a, b, s, v)
	case f&machine.SYN != 0:
		return txSynack(a, b, s, v)
	}
	return txSync(a, b, s, v)
}

// inputLost reports whether s, which a cannot send in CLOSED, shows that
// the input that closed a (its peer's ACK of a's FIN, in LAST-ACK) never
// reached it: a synchronized segment from an end whose latest input moved
// it from a synchronized state to CLOSED. A capture taken at a
// (Options.At) sees only what a got, so there it is a deviation. (txSync
// refuses a segment in CLOSED before it changes anything, so s can be
// judged again in the state a was in.)
func (a *end) inputLost(s *Segment) bool {
	return !a.inOrder && a.state == machine.StateClosed && s.Flags&(machine.SYN|machine.RST) == 0 &&
		a.lastIn != machine.RuleNone && synchronized(a.lastInFrom)
}

// lateCopy reports whether s could be a copy of a segment a sent before,
// delivered late: nothing in it is newer than what a had sent (no new
// sequence space, no higher ACK, no newer timestamp, a RST a sent
// already), and the capture is not known to see a's segments in order.
func (a *end) lateCopy(s *Segment) bool {
	if a.inOrder || !a.issSet {
		return false
	}
	if s.HasTS && a.tsMaxSet && int32(s.TSVal-a.tsMax) > 0 {
		return false
	}
	if s.Flags&machine.RST != 0 {
		return a.rstSent && s.Seq == a.rstSentSeq
	}
	if s.Flags&machine.SYN != 0 || !a.ackSent || s.Flags&machine.ACK == 0 {
		return false
	}
	return machine.SeqLEQ(s.Seq+s.SeqLen(), a.sndNxt) && machine.SeqLEQ(s.Ack, a.lastAck) &&
		(s.Flags&machine.FIN == 0 || a.finSent && s.Seq+uint32(s.Len) == a.finSeq)
}

// learn updates a's variables from its own segment s.
func (a *end) learn(s *Segment) {
	if s.HasTS && (!a.tsMaxSet || int32(s.TSVal-a.tsMax) > 0) {
		a.tsMax, a.tsMaxSet = s.TSVal, true
	}
	if s.Flags&machine.RST != 0 {
		a.rstSent, a.rstSentSeq = true, s.Seq
	}
	if end := s.Seq + s.SeqLen(); !a.issSet || machine.SeqGT(end, a.sndNxt) {
		a.sndNxt = end
	}
	if !a.issSet {
		a.iss, a.issSet = s.Seq, true
		a.sndUna = s.Seq
	}
	if s.Flags&machine.ACK != 0 && s.Flags&machine.RST == 0 && (!a.ackSent || machine.SeqGEQ(s.Ack, a.lastAck)) {
		a.lastAck, a.ackSent = s.Ack, true
		a.lastAckTS, a.lastAckTSSet = s.TSVal, s.HasTS
		if synchronized(a.state) || a.state == machine.StateSynReceived {
			a.rcvNxt = s.Ack // every segment carries ACK = RCV.NXT
		}
		edge := s.Ack + a.window(s)
		if !a.rcvEdgeSet || machine.SeqGT(edge, a.rcvEdge) {
			a.rcvEdge, a.rcvEdgeSet = edge, true
		}
	}
}

// synOptions records the options of a's SYN or SYN+ACK.
func (a *end) synOptions(s *Segment) {
	a.synSeen = true
	a.mssOpt = s.MSS
	a.wscale = s.WScale
	a.sackOK = s.SACKPerm
	a.tsOK = s.HasTS
}

func deviation(side int, expected machine.Rule, why string, args ...any) *Deviation {
	d := &Deviation{Side: side, Why: fmt.Sprintf(why, args...)}
	if expected != machine.RuleNone {
		d.Expected, d.RFC = expected.String(), ruleRFC(expected)
	}
	return d
}

func txRst(a, b *end, s *Segment, v *Verdict) *Deviation {
	if a.owe&oweRst != 0 {
		a.owe &^= oweRst
		v.Send = a.oweRule
		if a.rstNoAck {
			if s.Seq != 0 && s.Flags&machine.ACK == 0 || s.Flags&machine.ACK != 0 && s.Ack != a.rstAck {
				return deviation(v.Dir, a.oweRule, "RST in reply to a segment without ACK must be <SEQ=0><ACK=SEG.SEQ+SEG.LEN>: ACK %d, want %d", s.Ack, a.rstAck)
			}
			return nil
		}
		if s.Seq != a.rstSeq {
			return deviation(v.Dir, a.oweRule, "RST in reply to a segment with ACK must carry <SEQ=SEG.ACK>: SEQ %d, want %d", s.Seq, a.rstSeq)
		}
		return nil
	}
	st, r, sends := hidden(a, machine.EventAbort)
	if sends&sentRst != 0 {
		// ABORT sends <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5): an end
		// that has sent nothing has no SND.NXT to send it from.
		if !a.issSet || s.Seq != a.sndNxt {
			return deviation(v.Dir, r, "RST at sequence number %d: an ABORT's RST carries SND.NXT (%d)", rel(s.Seq, a.iss), rel(a.sndNxt, a.iss))
		}
		v.Send, v.Hidden = r, machine.EventAbort
		a.enter(st, s.Time)
		return nil
	}
	if a.answersUnseenCopy(b, s) {
		v.Send = machine.RuleClosedRcvSegment
		v.Kind |= KindUnseenCopy
		return nil
	}
	if a.lastInRst {
		return deviation(v.Dir, a.lastIn, "RST answered with RST: in %v an incoming RST is dropped, never answered (RFC 9293 3.10.7)", a.state)
	}
	return deviation(v.Dir, a.lastIn, "RST with nothing to answer in %v: the spec sends RST only in reply to a segment that needs one or on ABORT of a synchronized connection", a.state)
}

// answersUnseenCopy reports whether s, a RST from a in CLOSED with nothing
// owed, is the spec's reply (closed_rcv_segment, RFC 9293 3.10.7.1) to a
// copy of a segment its peer b sent before, which the network duplicated
// or held back after the capture point: b's last ACK of a's FIN arriving
// twice, or b's FIN arriving again after that ACK. The reply is
// <SEQ=SEG.ACK><CTL=RST>, so its sequence number is one b acknowledged; or
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> to a segment without ACK. It
// cannot be when the capture is taken at a (Options.At), which sees every
// copy a gets, or when a's latest input was a RST, which is never
// answered.
func (a *end) answersUnseenCopy(b *end, s *Segment) bool {
	if a.inOrder || a.state != machine.StateClosed || a.lastIn == machine.RuleNone || a.lastInRst {
		return false
	}
	if s.Flags&machine.ACK == 0 {
		return b.ackSent && a.issSet && machine.SeqGT(s.Seq, a.iss) && machine.SeqLEQ(s.Seq, b.lastAck)
	}
	return s.Seq == 0 && b.issSet && machine.SeqGT(s.Ack, b.iss) && machine.SeqLEQ(s.Ack, b.sndNxt)
}

func txSyn(a, b *end, s *Segment, v *Verdict) *Deviation {
	switch {
	case a.state == machine.StateClosed || a.state == machine.StateListen && !a.issSet:
		ev := machine.EventOpenActive
		if a.state == machine.StateListen {
			ev = machine.EventSend
		}
		st, r, _ := hidden(a, ev)
		v.Send, v.Hidden = r, ev
		a.enter(st, s.Time)
		a.synOptions(s)
		a.passive = false
		return nil
	case (a.state == machine.StateSynSent || a.state == machine.StateSynReceived) && a.issSet && s.Seq == a.iss:
		_, r, _ := hidden(a, machine.EventTimeoutRexmt)
		v.Send, v.Hidden = r, machine.EventTimeoutRexmt
		v.Kind |= KindRetransmit
		return nil
	case a.state == machine.StateSynSent:
		return deviation(v.Dir, machine.RuleAnyRexmt, "a second SYN in SYN-SENT with another sequence number (%d, ISS %d)", s.Seq, a.iss)
	}
	return deviation(v.Dir, machine.RuleNone, "SYN in %v: only CLOSED (an active OPEN) or SYN-SENT (a retransmission) sends one", a.state)
}

func txSynack(a, b *end, s *Segment, v *Verdict) *Deviation {
	switch {
	case a.owe&oweSynack != 0:
		a.owe &^= oweSynack
		v.Send = a.oweRule
		if a.oweRule == machine.RuleListenRcvSynCookie {
			v.Kind |= KindCookie
		}
		if !a.issSet || a.state == machine.StateSynReceived && s.Seq != a.iss {
			a.iss, a.issSet, a.sndUna, a.sndNxt = s.Seq, true, s.Seq, s.Seq
		}
		a.synOptions(s)
		if b.synSeen {
			negotiate(a, b)
		}
		if s.Flags&machine.ACK != 0 && s.Ack != a.rcvNxt {
			return deviation(v.Dir, a.oweRule, "SYN+ACK acknowledges %d, the SYN it answers ends at %d", s.Ack, a.rcvNxt)
		}
		return nil
	case a.state == machine.StateSynReceived && a.issSet && s.Seq == a.iss:
		_, r, _ := hidden(a, machine.EventTimeoutRexmt)
		v.Send, v.Hidden = r, machine.EventTimeoutRexmt
		v.Kind |= KindRetransmit
		if a.owe&oweAck != 0 { // the answer to a retransmitted SYN
			a.owe &^= oweAck
			v.Send, v.Hidden = a.oweRule, HiddenNone
		}
		return nil
	}
	return deviation(v.Dir, machine.RuleNone, "SYN+ACK in %v with no SYN to answer", a.state)
}

// txSync explains a segment without SYN or RST.
func txSync(a, b *end, s *Segment, v *Verdict) *Deviation {
	f := s.Flags
	if !synchronized(a.state) && a.state != machine.StateSynReceived {
		return deviation(v.Dir, machine.RuleNone, "%v segment in %v: before the handshake an end sends only SYN, SYN+ACK or RST", f, a.state)
	}
	if f&machine.ACK == 0 {
		return deviation(v.Dir, machine.RuleNone, "no ACK bit in %v: once synchronized every segment carries an acknowledgment (RFC 9293 3.10.7.4)", a.state)
	}
	// The ACK number: never beyond what the peer sent, never backwards.
	if b.issSet && machine.SeqGT(s.Ack, b.sndNxt) {
		return deviation(v.Dir, machine.RuleNone, "acknowledges %d, beyond all the peer sent (%d): the ACK must be RCV.NXT (RFC 9293 3.10.7.4)", rel(s.Ack, b.iss), rel(b.sndNxt, b.iss))
	}
	end := s.Seq + uint32(s.Len)
	fresh := !machine.SeqLT(s.Seq, a.sndNxt) // begins at or beyond everything a sent
	if a.ackSent && machine.SeqLT(s.Ack, a.lastAck) {
		// RCV.NXT never goes back, but the network may reorder: a
		// segment sent before the one that carried the higher ACK shows
		// up after it. Only a segment provably sent later deviates: one
		// with new text, or a newer timestamp than that ACK's.
		newer := s.HasTS && a.lastAckTSSet && int32(s.TSVal-a.lastAckTS) > 0
		if fresh && (s.Len > 0 || newer || a.inOrder) {
			return deviation(v.Dir, machine.RuleNone, "acknowledges %d after acknowledging %d: RCV.NXT never goes back", rel(s.Ack, b.iss), rel(a.lastAck, b.iss))
		}
		v.Kind |= KindReordered
	}
	// Sequence numbers: the SYN and the FIN each take one.
	if a.issSet && s.Seq == a.iss && a.state != machine.StateSynReceived {
		return deviation(v.Dir, machine.RuleNone, "sequence number %d is the SYN's own: the SYN occupies one sequence number (RFC 9293 3.4)", rel(s.Seq, a.iss))
	}
	if a.finSent {
		if s.Len > 0 && machine.SeqGT(end, a.finSeq) {
			return deviation(v.Dir, machine.RuleClosingSend, "text after its FIN (%d bytes up to %d, FIN at %d)", s.Len, rel(end, a.iss), rel(a.finSeq, a.iss))
		}
		if f&machine.FIN == 0 && s.Len == 0 && s.Seq == a.finSeq {
			// An ACK sent before the FIN had this number too, and the
			// network may deliver it late: only one provably sent after
			// the FIN deviates (a higher ACK, a newer timestamp).
			later := machine.SeqGT(s.Ack, a.finAck) || s.HasTS && a.finTSSet && int32(s.TSVal-a.finTS) > 0 || a.inOrder
			if later {
				return deviation(v.Dir, machine.RuleNone, "sequence number %d is the FIN's own: the FIN occupies one sequence number (RFC 9293 3.4)", rel(s.Seq, a.iss))
			}
			v.Kind |= KindReordered
		}
		if f&machine.FIN != 0 && end != a.finSeq {
			return deviation(v.Dir, machine.RuleNone, "a second FIN at %d, the first was at %d", rel(end, a.iss), rel(a.finSeq, a.iss))
		}
	}
	// Text beyond the window the peer advertised (RFC 9293 3.8.6).
	if s.Len > 0 && b.rcvEdgeSet && b.windowKnown && machine.SeqGT(end, b.rcvEdge) {
		if s.Len == 1 && b.rcvEdge == s.Seq {
			v.Kind |= KindWindowProbe
		} else if !(s.Len == 1 && machine.SeqLT(s.Seq, b.rcvEdge)) {
			return deviation(v.Dir, machine.RuleNone, "text up to %d, beyond the window the peer advertised (right edge %d): a sender stays within SND.UNA + SND.WND (RFC 9293 3.8.6)", rel(end, a.iss), rel(b.rcvEdge, a.iss))
		}
	}
	if machine.SeqGT(s.Seq, a.sndNxt) {
		v.Kind |= KindGap
	}
	newText := s.Len > 0 && machine.SeqGT(end, a.sndNxt)
	newFin := f&machine.FIN != 0 && !a.finSent
	switch {
	case newText || newFin:
		if newText {
			st, r, sends := hidden(a, machine.EventSend)
			if sends&sentRefused != 0 {
				return deviation(v.Dir, r, "new text in %v, where SEND is refused", a.state)
			}
			v.Send, v.Hidden = r, machine.EventSend
			a.enter(st, s.Time)
		}
		if newFin {
			st, r, sends := hidden(a, machine.EventClose)
			if sends&sentFin == 0 {
				return deviation(v.Dir, r, "FIN in %v, where CLOSE sends none", a.state)
			}
			v.Send, v.Hidden = r, machine.EventClose
			a.enter(st, s.Time)
			a.finSent, a.finSeq = true, end
			a.finAck, a.finTS, a.finTSSet = s.Ack, s.TSVal, s.HasTS
		}
	case s.Len > 0 || f&machine.FIN != 0:
		v.Kind |= KindRetransmit
		_, r, _ := hidden(a, machine.EventTimeoutRexmt)
		v.Send, v.Hidden = r, machine.EventTimeoutRexmt
		a.ccRetransmit(s, v)
	case s.Seq == a.sndNxt-1 && (a.state == machine.StateEstablished || a.state == machine.StateCloseWait) && a.owe&oweAck == 0:
		_, r, sends := hidden(a, machine.EventTimeoutKeepalive)
		if sends&sentKeepalive != 0 {
			v.Kind |= KindKeepalive
			v.Send, v.Hidden = r, machine.EventTimeoutKeepalive
		}
	case a.owe&oweAck != 0:
		v.Send = a.oweRule
		if isChallenge(a.oweRule) {
			v.Kind |= KindChallengeAck
		}
	default:
		// An ACK nothing made owed: a window update after the
		// application read (RECEIVE), or the delayed-ACK timer.
		st, r, _ := hidden(a, machine.EventTimeoutDelack)
		ev := machine.EventTimeoutDelack
		if r == machine.RuleNone {
			st, r, _ = hidden(a, machine.EventReceive)
			ev = machine.EventReceive
		}
		v.Send, v.Hidden = r, ev
		a.enter(st, s.Time)
	}
	a.owe &^= oweAck // the ACK rides on whatever a sends
	if s.Window == 0 {
		v.Kind |= KindZeroWindow
	}
	return nil
}

// ccRetransmit says what made a resend text: congestion control's fast
// recovery (entered by duplicate ACKs or SACK), the recovery after a
// timeout, or a timeout, which it then feeds to a's congestion control.
func (a *end) ccRetransmit(s *Segment, v *Verdict) {
	switch {
	case a.ccOn && a.cc.State() == cc.StateFastRecovery, !a.ccOn && (a.dupAcks >= 3 || a.sackedNew):
		v.Kind |= KindFastRetransmit
		v.Hidden = HiddenNone
		v.CC = a.ccEnter // what began the recovery, unless a partial ACK asks for this resend
		if r := a.ccRule; r == cc.RuleFrPartialAck || r == cc.RuleFrSackPartialAck {
			v.CC = r
		}
	case a.ccOn && a.cc.State() == cc.StateLossRecovery && (s.Seq != a.sndUna || a.sndUna != a.rtoUna):
		v.CC = a.ccRule // resending after the timeout, as ACKs come
	case a.ccOn:
		a.ccRule = a.cc.OnRTO(cc.Ack{Now: time.Duration(s.Time.UnixNano()), SndUna: a.sndUna, SndNxt: a.sndNxt, SegAck: a.sndUna})
		a.rtoUna = a.sndUna
		v.CC = a.ccRule
	}
}

// isChallenge reports whether rule r answers with a challenge ACK.
func isChallenge(r machine.Rule) bool {
	for _, a := range r.Info().Do {
		if a == "send_challenge_ack" {
			return true
		}
	}
	return false
}

// rel is x relative to base (an ISS), as the reports print it.
func rel(x, base uint32) uint32 { return x - base }
