package proptest

import (
	"fmt"
	"slices"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the records of every call into a Conn against the
// invariants of design.md. Each assertion names its invariant.

// check judges the records since the last check, then the state.
func (w *World) check() {
	recs := w.net.Records()
	for i := range recs {
		r := &recs[i]
		if w.onRec != nil {
			w.onRec(r)
		}
		if !w.quiet {
			w.note("  %s", r.String())
		}
		if w.err == nil {
			w.checkRecord(r)
		}
	}
	w.net.ClearRecords()
	if w.err == nil {
		w.checkState()
	}
	if w.err == nil && w.diff != nil {
		if err := w.diff.Err(); err != nil {
			w.fail(19, "%v", err)
		}
	}
}

// Rules that end a connection abnormally: a reset, an abort, a timeout.
var abnormalEnd = map[machine.Rule]bool{
	machine.RuleSyncRcvRst:          true,
	machine.RuleSyncRcvRstClosing:   true,
	machine.RuleTimeWaitRcvRst:      true,
	machine.RuleSyncAbort:           true,
	machine.RuleLateAbort:           true,
	machine.RuleAnyUserTimeout:      true,
	machine.RuleSynSentRcvRst:       true,
	machine.RuleSynRcvdRcvRstActive: true,
	machine.RuleListenClose:         true,
}

func does(rule machine.Rule, action string) bool {
	return slices.Contains(rule.Info().Do, action)
}

// newTCB reports whether a transition starts a new connection (TCB) on its
// side: an open from CLOSED or LISTEN, or TIME-WAIT's new incarnation.
func newTCB(t *simnet.Transition) bool {
	if t.Rule == machine.RuleTimeWaitRcvSynNew || cookieRule(t.Rule) {
		return true
	}
	return (t.From == machine.StateClosed || t.From == machine.StateListen) &&
		(t.To == machine.StateSynSent || t.To == machine.StateSynReceived)
}

func (w *World) startStream(s simnet.Side) {
	st := &w.side[s]
	st.streams++
	st.read, st.cand, st.eof, st.closed = 0, ^uint64(0), false, false
	st.normalEnd, st.discarded = false, 0
	st.nchal = 0
	st.passiveOrigin, st.activeOrigin = false, false
	st.activeCloser, st.passiveCloser, st.simClose = false, false, false
	st.finSent, st.finSeq, st.shrunk = false, 0, false
	st.flow.reset()
}

func (w *World) checkRecord(r *simnet.Record) {
	s := r.Side
	st, peer := &w.side[s], &w.side[s.Peer()]
	before, after := varsOf(&r.Before), varsOf(&r.After)
	in := &r.In
	msl2 := 2 * w.cfg.MSL

	// Invariant 1: one state at a time; the transitions chain up from the
	// state before the call to the state after it.
	prev := r.From
	fresh := false // a new TCB started during this call
	for i := range r.Steps {
		t := &r.Steps[i]
		if t.From != prev {
			w.fail(1, "%v: transition [%v] starts in %v, but the Conn was in %v", s, t.Rule, t.From, prev)
			return
		}
		prev = t.To
		w.checkStep(r, t)
		if w.err != nil {
			return
		}
		if newTCB(t) {
			fresh = true
		}
	}
	if prev != r.To {
		w.fail(1, "%v: the transitions end in %v, but State() says %v", s, prev, r.To)
		return
	}
	if r.To == machine.StateClosed && r.From != machine.StateClosed {
		st.discarded = uint32(r.Before.RcvQueued)
	}
	// Invariant 30: a user call that no rule takes fails with "connection
	// does not exist" in CLOSED and as illegal elsewhere (RFC 9293 3.10;
	// Abort returns no error).
	if r.Kind == simnet.Call && r.Call != "abort" && len(r.Steps) == 1 && r.Steps[0].Rule == machine.RuleNone {
		want := machine.ErrIllegalInState
		if r.From == machine.StateClosed {
			want = machine.ErrNotExist
		}
		if r.Err != want || r.N != 0 {
			w.fail(30, "%v: %s in %v, which no rule takes, returned %d, %v; want 0, %v", s, r.Call, r.From, r.N, r.Err, want)
			return
		}
	}
	// Invariant 30: a connection that ends by a reset, a refusal or a
	// timeout tells its application so (RFC 9293 3.10.7, 3.10.8).
	for i := range r.Steps {
		var want error
		switch r.Steps[i].Rule {
		case machine.RuleSynSentRcvRst, machine.RuleSynRcvdRcvRstActive:
			want = machine.ErrRefused
		case machine.RuleSyncRcvRst, machine.RuleSyncAbort:
			want = machine.ErrReset
		case machine.RuleAnyUserTimeout:
			want = machine.ErrTimeout
		default:
			continue
		}
		if r.ConnErr != want && r.To == machine.StateClosed {
			w.fail(30, "%v ended by [%v] but tells its application %v, want %v", s, r.Steps[i].Rule, r.ConnErr, want)
			return
		}
	}
	// Invariant 1: a new TCB starts clean, without the error of an earlier
	// connection.
	if r.Kind == simnet.Call && (r.Call == "listen" || r.Call == "connect") && r.Err == nil && r.ConnErr != nil {
		w.fail(1, "%v opened a new connection (%s) but still reports %v from the last one", s, r.Call, r.ConnErr)
		return
	}

	// Invariant 1: CLOSED means no TCB and no timers.
	if r.To == machine.StateClosed {
		if r.HasTimer {
			w.fail(1, "%v is CLOSED with a timer armed for %v", s, r.Deadline)
			return
		}
		if r.Readable != 0 {
			w.fail(1, "%v is CLOSED with %d bytes still queued", s, r.Readable)
			return
		}
	}

	// Invariant 3: SND.UNA <= SND.NXT <= SND.UNA + max(SND.WND, 1); SND.UNA
	// and RCV.NXT never move backwards.
	if hasSendSeq(r.To) {
		if !machine.SeqLEQ(after.una, after.nxt) {
			w.fail(3, "%v in %v: SND.UNA %d > SND.NXT %d", s, r.To, after.una, after.nxt)
			return
		}
		if !st.shrunk && !machine.SeqLEQ(after.nxt, after.una+max(after.wnd, 1)) {
			w.fail(3, "%v in %v: SND.NXT %d > SND.UNA %d + max(SND.WND %d, 1): sent beyond the offered window", s, r.To, after.nxt, after.una, after.wnd)
			return
		}
	}
	sameTCB := !fresh && hasSendSeq(r.To)
	if sameTCB && hasSendSeq(r.From) && hasSendSeq(r.To) && !machine.SeqGEQ(after.una, before.una) {
		w.fail(3, "%v: SND.UNA moved backwards from %d to %d", s, before.una, after.una)
		return
	}
	if sameTCB && isSync(r.From) && isSync(r.To) && !machine.SeqGEQ(after.rcvNxt, before.rcvNxt) {
		w.fail(3, "%v: RCV.NXT moved backwards from %d to %d", s, before.rcvNxt, after.rcvNxt)
		return
	}

	// Invariant 6: only an acceptable ACK (UNA < SEG.ACK <= NXT) moves
	// SND.UNA, and then to SEG.ACK.
	if sameTCB && hasSendSeq(r.From) && after.una != before.una {
		ok := r.Kind == simnet.Input && in.Flags.Has(machine.ACK) &&
			machine.SeqLT(before.una, in.Ack) && machine.SeqLEQ(in.Ack, before.nxt) && after.una == in.Ack
		if !ok {
			w.fail(6, "%v: SND.UNA moved %d -> %d on %v (%s), not on an acceptable ACK (UNA < SEG.ACK <= NXT %d)",
				s, before.una, after.una, r.Kind, simnet.FormatSegment(in), before.nxt)
			return
		}
	}

	if r.Kind == simnet.Input {
		w.checkInput(r, before, after)
		if w.err != nil {
			return
		}
	}

	// Emitted segments.
	for i := range r.Out {
		o := &r.Out[i]
		// Invariant 7: a retransmitted FIN keeps its sequence number.
		if o.Flags.Has(machine.FIN) && !o.Flags.Has(machine.RST) {
			fs := o.Seq + uint32(len(o.Payload))
			if o.Flags.Has(machine.SYN) {
				fs++
			}
			if st.finSent && fs != st.finSeq {
				w.fail(7, "%v sent a FIN with sequence number %d; its first FIN had %d", s, fs, st.finSeq)
				return
			}
			st.finSent, st.finSeq = true, fs
			if i := st.streams - 1; i >= 0 {
				st.finSeqs[i] = fs
				st.finsSent |= 1 << i
			}
		}
		// Invariants 4 and 17: data is the application's bytes, the first
		// at ISS+1.
		if len(o.Payload) > 0 && hasSendSeq(r.To) {
			stream := st.streams - 1
			off := o.Seq - (after.iss + 1)
			if stream < 0 || uint64(off)+uint64(len(o.Payload)) > uint64(st.written[stream]) {
				w.fail(17, "%v sent %d bytes at stream offset %d (SEQ %d, ISS %d), beyond the %d bytes written",
					s, len(o.Payload), int32(off), o.Seq, after.iss, st.written[max(stream, 0)])
				return
			}
			for j, b := range o.Payload {
				if want := streamByte(s, stream, off+uint32(j)); b != want {
					w.fail(17, "%v sent byte %#02x at stream offset %d (SEQ %d); the application wrote %#02x there", s, b, off+uint32(j), o.Seq+uint32(j), want)
					return
				}
			}
		}
	}

	// Invariant 15: challenge ACKs, and the duplicate ACKs that answer
	// unacceptable segments, share a budget per connection: at most
	// ChallengeACKs in each one-second window, a window opening with the
	// first such ACK after the previous window closed (RFC 5961 7's "per
	// second"; Linux limits out-of-window ACKs alike). A new connection
	// has a budget of its own. The ghost keeps it from the rules taken: a
	// challenge ACK beyond it is a failure, one within it must go out, and
	// the TCB's own view (ACKBudgetSpent, which exempts invariants 6, 14
	// and 39 from demanding an ACK) must agree with it.
	limit := w.cfg.ChallengeACKs
	challenges := uint64(0) // challenge ACKs within the budget: each is sent and counted
	for i := range r.Steps {
		rule := r.Steps[i].Rule
		challenge := does(rule, "send_challenge_ack")
		if !challenge && !does(rule, "send_dupack") {
			continue
		}
		if st.nchal == 0 || r.Now-st.chalStart >= time.Second {
			st.chalStart, st.nchal = r.Now, 0
		}
		if limit >= 0 && st.nchal >= limit {
			if challenge && hasAck(r.Out, after.rcvNxt) && len(r.Out) == 1 && r.Out[0].Flags == machine.ACK && len(r.Out[0].Payload) == 0 {
				w.fail(15, "%v sent a challenge ACK beyond its budget: %d challenge and duplicate ACKs since %v; the limit is %d per second per connection", s, st.nchal, st.chalStart, limit)
				return
			}
			continue
		}
		st.nchal++
		if challenge {
			challenges++
		}
		if challenge && !hasAck(r.Out, after.rcvNxt) {
			w.fail(15, "%v took %v within its ACK budget (%d of %d this second) but sent no challenge ACK", s, rule, st.nchal, limit)
			return
		}
	}
	if d := r.Counters.ChallengeACKs - r.CountersBefore.ChallengeACKs; d != challenges {
		w.fail(15, "%v sent %d challenge ACKs, but its ChallengeACKs counter rose by %d", s, challenges, d)
		return
	}
	if isSync(r.To) {
		spent := limit >= 0 && st.nchal >= limit && r.Now-st.chalStart < time.Second
		if got := r.After.ACKBudgetSpent; got != spent {
			w.fail(15, "%v says its ACK budget is spent: %v; the ghost counts %d challenge and duplicate ACKs since %v (limit %d per second): %v",
				s, got, st.nchal, st.chalStart, limit, spent)
			return
		}
	}

	w.checkFlow(r, fresh)
	if w.err != nil {
		return
	}

	// Invariant 10: a retransmitted FIN in TIME-WAIT is ACKed, never
	// answered with RST, and restarts 2MSL.
	if r.Kind == simnet.Input && r.From == machine.StateTimeWait && in.Flags.Has(machine.FIN) && !in.Flags.Has(machine.RST) && !in.Flags.Has(machine.SYN) {
		for i := range r.Out {
			if r.Out[i].Flags.Has(machine.RST) {
				w.fail(10, "%v in TIME-WAIT answered a FIN (%s) with a RST", s, simnet.FormatSegment(in))
				return
			}
		}
		retrans := !r.Injected && peer.sentFin(in.Seq+uint32(len(in.Payload))) && in.Seq+uint32(len(in.Payload))+1 == before.rcvNxt && in.Flags.Has(machine.ACK)
		if retrans {
			if len(r.Steps) != 1 || r.Steps[0].Rule != machine.RuleTimeWaitRcvFin {
				w.fail(10, "%v in TIME-WAIT took %v on the peer's retransmitted FIN (%s), want [time_wait_rcv_fin]", s, stepRules(r), simnet.FormatSegment(in))
				return
			}
			if !hasAck(r.Out, after.rcvNxt) {
				w.fail(10, "%v in TIME-WAIT did not ACK the retransmitted FIN with ACK=%d: sent %v", s, after.rcvNxt, formatSegs(r.Out))
				return
			}
			if !r.HasTimer || r.Deadline != r.Now+msl2 {
				w.fail(10, "%v in TIME-WAIT did not restart 2MSL on a retransmitted FIN: next timer %v (armed %v), want %v", s, r.Deadline, r.HasTimer, r.Now+msl2)
				return
			}
		}
	}
}

// checkStep judges one transition and keeps the ghost state.
func (w *World) checkStep(r *simnet.Record, t *simnet.Transition) {
	s := r.Side
	st := &w.side[s]
	after := varsOf(&r.After)
	in := &r.In
	// Invariant 16: a SYN in TIME-WAIT opens a new incarnation exactly
	// when RFC 6191 allows: a listener exists and, when the connection
	// used timestamps and the SYN carries one, SEG.TSval > TS.Recent (as
	// the ghost keeps it), otherwise SEG.SEQ > RCV.NXT. (Before the ghost
	// is reset for the new connection.)
	if r.Kind == simnet.Input && t.From == machine.StateTimeWait && t == &r.Steps[0] &&
		in.Flags&(machine.SYN|machine.ACK|machine.RST|machine.FIN) == machine.SYN {
		o := &st.flow.opt
		ok := machine.SeqGT(in.Seq, r.Before.RcvNxt)
		if o.on(machine.OptTimestamps) && in.Opts.Has(machine.OptTimestamps) {
			ok = machine.SeqGT(in.TSVal, o.tsRecent)
		}
		if want := st.listener && ok; (t.Rule == machine.RuleTimeWaitRcvSynNew) != want {
			w.fail(16, "%v in TIME-WAIT took %s by [%v]; RFC 6191 says a new incarnation: %v (listener %v, SEQ %d vs RCV.NXT %d, TSval %d vs TS.Recent %d)",
				s, simnet.FormatSegment(in), t.Rule, want, st.listener, in.Seq, r.Before.RcvNxt, in.TSVal, o.tsRecent)
			return
		}
	}

	if newTCB(t) {
		w.startStream(s)
	}

	// Invariant 8: only the active closer enters TIME-WAIT; the passive
	// closer goes LAST-ACK -> CLOSED.
	if t.To == machine.StateTimeWait && t.From != machine.StateTimeWait {
		if st.passiveCloser {
			w.fail(8, "%v, the passive closer (it closed from CLOSE-WAIT), entered TIME-WAIT from %v [%v]; it must go LAST-ACK -> CLOSED", s, t.From, t.Rule)
			return
		}
		if !st.activeCloser {
			w.fail(8, "%v entered TIME-WAIT from %v [%v] without having closed first", s, t.From, t.Rule)
			return
		}
	}
	if t.To == machine.StateLastAck && t.From != machine.StateLastAck && t.From != machine.StateCloseWait {
		w.fail(8, "%v entered LAST-ACK from %v [%v], not from CLOSE-WAIT", s, t.From, t.Rule)
		return
	}

	// Invariant 11: simultaneous close goes CLOSING -> TIME-WAIT (checked
	// before 9, which a CLOSING that skips TIME-WAIT also breaks).
	if t.From == machine.StateClosing && t.To != machine.StateClosing && t.To != machine.StateTimeWait && !abnormalEnd[t.Rule] {
		w.fail(11, "%v left CLOSING for %v [%v]; a simultaneous close goes on to TIME-WAIT", s, t.To, t.Rule)
		return
	}

	// Invariant 9: the active closer reaches CLOSED only through TIME-WAIT,
	// after at least 2*MSL, unless by RST, ABORT or user timeout.
	if t.To == machine.StateClosed && t.From != machine.StateClosed && st.activeCloser {
		switch {
		case t.Rule == machine.RuleTimeWaitTimeout:
			if r.Now-st.twStart < 2*w.cfg.MSL {
				w.fail(9, "%v left TIME-WAIT %v after (re)starting 2MSL, less than 2*MSL = %v", s, r.Now-st.twStart, 2*w.cfg.MSL)
				return
			}
		case abnormalEnd[t.Rule]:
		default:
			w.fail(9, "%v, the active closer, reached CLOSED from %v by [%v], not through TIME-WAIT", s, t.From, t.Rule)
			return
		}
	}

	// Invariant 11: simultaneous open goes SYN-SENT -> SYN-RECEIVED ->
	// ESTABLISHED.
	if t.From == machine.StateSynSent && t.To == machine.StateEstablished && st.activeOrigin {
		w.fail(11, "%v went SYN-SENT -> ESTABLISHED after a simultaneous open", s)
		return
	}

	// Invariant 12: an RST in SYN-RECEIVED returns to LISTEN exactly when
	// the open was passive.
	if t.From == machine.StateSynReceived && t.Event == machine.EventRcvRst && t.To != machine.StateSynReceived {
		if t.To == machine.StateListen && !st.passiveOrigin {
			w.fail(12, "%v: RST in SYN-RECEIVED returned to LISTEN, but the open was active", s)
			return
		}
		if t.To != machine.StateListen && st.passiveOrigin {
			w.fail(12, "%v: RST in SYN-RECEIVED went to %v, but the open was passive: it must return to LISTEN", s, t.To)
			return
		}
	}

	// Invariant 5 (and 4): ESTABLISHED only once SND.UNA > ISS.
	if t.To == machine.StateEstablished && t.From != machine.StateEstablished && !machine.SeqGT(after.una, after.iss) {
		w.fail(5, "%v entered ESTABLISHED [%v] with SND.UNA %d not above ISS %d", s, t.Rule, after.una, after.iss)
		return
	}

	// Invariant 4: a SYN or SYN+ACK sent from CLOSED or LISTEN (or again
	// in a simultaneous open) leaves SND.UNA = ISS and SND.NXT = ISS+1
	// (RFC 9293 3.10.1, 3.10.7.2): the SYN is the only sequence number
	// outstanding.
	switch t.Rule {
	case machine.RuleListenRcvSyn, machine.RuleTimeWaitRcvSynNew, machine.RuleSynSentRcvSyn, machine.RuleClosedOpenActive, machine.RuleListenSend:
		if after.una != after.iss || after.nxt != after.iss+1 {
			w.fail(4, "%v [%v]: SND.UNA %d, SND.NXT %d after sending its SYN; want ISS %d and ISS+1", s, t.Rule, after.una, after.nxt, after.iss)
			return
		}
	}
	// Invariant 6 in SYN-RECEIVED: an unacceptable ACK is answered with
	// <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.4).
	if t.Rule == machine.RuleSynRcvdRcvBadAck {
		found := false
		for i := range r.Out {
			found = found || r.Out[i].Flags.Has(machine.RST) && r.Out[i].Seq == in.Ack
		}
		if !found {
			w.fail(6, "%v in SYN-RECEIVED answered an unacceptable ACK (%s) with %v; want <SEQ=%d><CTL=RST>", s, simnet.FormatSegment(in), formatSegs(r.Out), in.Ack)
			return
		}
	}
	// Invariant 4: the SYN+ACK acknowledges x+1; the handshake ACK y+1.
	switch t.Rule {
	case machine.RuleListenRcvSyn, machine.RuleTimeWaitRcvSynNew, machine.RuleSynSentRcvSyn:
		want := in.Seq + 1
		found := false
		for i := range r.Out {
			o := &r.Out[i]
			if o.Flags.Has(machine.SYN | machine.ACK) {
				found = true
				if o.Ack != want {
					w.fail(4, "%v [%v]: the SYN+ACK acknowledges %d; the peer's ISN is x = %d, so it must acknowledge x+1 = %d", s, t.Rule, o.Ack, in.Seq, want)
					return
				}
				if o.Seq != after.iss {
					w.fail(4, "%v [%v]: the SYN+ACK has SEQ %d, not ISS %d", s, t.Rule, o.Seq, after.iss)
					return
				}
			}
		}
		if !found {
			w.fail(4, "%v [%v] sent no SYN+ACK: %v", s, t.Rule, formatSegs(r.Out))
			return
		}
	case machine.RuleClosedOpenActive, machine.RuleListenSend:
		found := false
		for i := range r.Out {
			if o := &r.Out[i]; o.Flags.Has(machine.SYN) && !o.Flags.Has(machine.ACK) {
				found = o.Seq == after.iss
			}
		}
		if !found {
			w.fail(4, "%v [%v] must send its SYN <SEQ=ISS %d>; sent %v", s, t.Rule, after.iss, formatSegs(r.Out))
			return
		}
	case machine.RuleSynSentRcvSynack:
		// y+1, and the text the SYN+ACK carried as far as our SYN's
		// window reaches (invariant 26).
		want := in.Seq + 1 + min(uint32(len(in.Payload)), st.flow.opt.synWnd)
		if !hasAck(r.Out, want) {
			w.fail(4, "%v [%v]: the handshake ACK must acknowledge y+1 and the text taken = %d (y = %d); sent %v", s, t.Rule, want, in.Seq, formatSegs(r.Out))
			return
		}
	}

	// Invariant 7: a FIN is acknowledged with its sequence number + 1.
	if does(t.Rule, "accept_fin") || t.Rule == machine.RuleTimeWaitRcvFin {
		if !hasAck(r.Out, after.rcvNxt) {
			w.fail(7, "%v accepted a FIN [%v] but sent no ACK of RCV.NXT %d: %v", s, t.Rule, after.rcvNxt, formatSegs(r.Out))
			return
		}
		if peer := &w.side[s.Peer()]; !r.Injected && !peer.sentFin(after.rcvNxt-1) {
			w.fail(7, "%v accepted a FIN [%v] and acknowledges %d, but the peer sent no FIN with sequence number %d", s, t.Rule, after.rcvNxt, after.rcvNxt-1)
			return
		}
	}

	// Ghost state.
	if t.To == machine.StateClosed && t.From != machine.StateClosed {
		st.normalEnd = t.Rule == machine.RuleTimeWaitTimeout || t.Rule == machine.RuleLastAckRcvAckOfFin
	}
	switch t.Rule {
	case machine.RuleListenRcvSyn, machine.RuleTimeWaitRcvSynNew:
		st.passiveOrigin = true
	case machine.RuleSynSentRcvSyn:
		st.activeOrigin = true
	case machine.RuleEstClose, machine.RuleSynRcvdClose:
		st.activeCloser = true
	case machine.RuleCloseWaitClose:
		st.passiveCloser = true
	case machine.RuleFinWait1RcvFin:
		st.simClose = true
	}
	if does(t.Rule, "start_2msl") {
		st.twStart = r.Now
	}
	// Invariant 16: ISNs increase over time for one 4-tuple (within half
	// the 4 us ISN clock's cycle, 2^31 ticks or about 2.4 h: past that,
	// sequence numbers compare the other way round).
	if does(t.Rule, "select_iss") {
		if st.issSet && r.Now-st.issAt < (1<<31)*4*time.Microsecond {
			if !machine.SeqGEQ(after.iss, st.iss) || (r.Now-st.issAt >= 4*time.Microsecond && after.iss == st.iss) {
				w.fail(16, "%v chose ISS %d at %v after ISS %d at %v on the same 4-tuple: ISNs must increase with time", s, after.iss, r.Now, st.iss, st.issAt)
				return
			}
		}
		st.issSet, st.iss, st.issAt = true, after.iss, r.Now
		// A new incarnation out of TIME-WAIT starts above every sequence
		// number the old one used, the last being SND.NXT - 1 (RFC 1122
		// 4.2.2.13, RFC 6191).
		if t.Rule == machine.RuleTimeWaitRcvSynNew && !machine.SeqGEQ(after.iss, r.Before.SndNxt) {
			w.fail(16, "%v reopened from TIME-WAIT with ISS %d, below the old connection's SND.NXT %d: not above every sequence number it used", s, after.iss, r.Before.SndNxt)
			return
		}
	}

	// Invariant 19 (the dispatcher follows the spec's table): the rule
	// applies in this state and event and leads where the spec says.
	if t.Rule != machine.RuleNone {
		info := t.Rule.Info()
		if !slices.Contains(info.From, t.From) || !slices.Contains(info.On, t.Event) || info.Target(t.From) != t.To {
			w.fail(19, "%v took [%v] in %v on %v to %v; the spec's row is from %v on %v to %v",
				s, t.Rule, t.From, t.Event, t.To, info.From, info.On, info.Target(t.From))
			return
		}
	}
}

// checkInput judges the reply to an arriving segment.
func (w *World) checkInput(r *simnet.Record, before, after vars) {
	s := r.Side
	in := &r.In
	// Invariant 13: no RST in reply to an RST.
	if in.Flags.Has(machine.RST) {
		for i := range r.Out {
			if r.Out[i].Flags.Has(machine.RST) {
				w.fail(13, "%v answered an RST (%s) with an RST (%s)", s, simnet.FormatSegment(in), simnet.FormatSegment(&r.Out[i]))
				return
			}
		}
	}
	// Invariant 6: an ACK beyond SND.NXT is answered and dropped.
	if acksData(r.From) && in.Flags.Has(machine.ACK) && !in.Flags.Has(machine.RST) && !in.Flags.Has(machine.SYN) &&
		machine.SeqGT(in.Ack, before.nxt) {
		if after != before || r.To != r.From {
			w.fail(6, "%v acted on an ACK beyond SND.NXT %d (%s): state %v -> %v, vars %+v -> %+v", s, before.nxt, simnet.FormatSegment(in), r.From, r.To, before, after)
			return
		}
		// The answer is rate-limited per connection (spec action send_dupack):
		// silence is allowed only once this second's budget is spent.
		if !hasAck(r.Out, after.rcvNxt) && !w.conn(s).Vars().ACKBudgetSpent {
			w.fail(6, "%v did not answer an ACK beyond SND.NXT %d (%s) with an ACK, with ACK budget left: sent %v", s, before.nxt, simnet.FormatSegment(in), formatSegs(r.Out))
			return
		}
	}
	if !isSync(r.From) {
		return
	}
	// Invariant 14 (RFC 5961): only SEQ == RCV.NXT resets; other in-window
	// RSTs and any SYN get one challenge ACK and change nothing; RSTs out
	// of the window are dropped silently.
	switch {
	case in.Flags.Has(machine.RST):
		switch {
		case in.Seq == before.rcvNxt:
			want := machine.StateClosed
			if r.From == machine.StateSynReceived && w.side[s].passiveOrigin {
				want = machine.StateListen
			}
			if r.From == machine.StateTimeWait && w.cfg.RFC1337 {
				want = machine.StateTimeWait
			}
			if r.To != want {
				w.fail(14, "%v in %v: an RST with SEQ == RCV.NXT (%d) led to %v, want %v", s, r.From, in.Seq, r.To, want)
			}
		case seqInWindow(in.Seq, before.rcvNxt, before.rcvWnd):
			w.unchanged(14, r, before, after, "an in-window RST (SEQ %d, RCV.NXT %d, RCV.WND %d)", in.Seq, before.rcvNxt, before.rcvWnd)
			if w.err == nil && r.From == machine.StateTimeWait && w.cfg.RFC1337 {
				return // ignored without a challenge
			}
			w.challenged(r, "an in-window RST")
		default:
			w.unchanged(14, r, before, after, "an RST outside the window (SEQ %d, RCV.NXT %d, RCV.WND %d)", in.Seq, before.rcvNxt, before.rcvWnd)
			if w.err == nil && len(r.Out) > 0 {
				w.fail(14, "%v in %v answered an RST outside the window (%s) with %v; it must drop it silently", s, r.From, simnet.FormatSegment(in), formatSegs(r.Out))
			}
		}
	case in.Flags.Has(machine.SYN):
		if len(r.Steps) == 1 && r.Steps[0].Rule == machine.RuleTimeWaitRcvSynNew {
			return // RFC 6191: a new incarnation
		}
		w.unchanged(14, r, before, after, "a SYN (%s)", simnet.FormatSegment(in))
		w.challenged(r, "a SYN")
	}
}

// challenged is invariant 14's demand for the challenge ACK itself: with
// budget left before the segment (the budget never refills backwards in
// time), an in-window RST or a SYN gets one.
func (w *World) challenged(r *simnet.Record, what string) {
	if w.err == nil && !r.Before.ACKBudgetSpent && len(r.Out) == 0 {
		w.fail(14, "%v in %v got %s (%s) and sent no challenge ACK, with budget left", r.Side, r.From, what, simnet.FormatSegment(&r.In))
	}
}

// unchanged asserts that an input changed neither state nor sequence
// variables and got at most one reply: an ACK <SEQ=SND.NXT><ACK=RCV.NXT>.
func (w *World) unchanged(inv int, r *simnet.Record, before, after vars, what string, args ...any) {
	desc := fmt.Sprintf(what, args...)
	if r.To != r.From {
		w.fail(inv, "%v in %v: %s changed the state to %v", r.Side, r.From, desc, r.To)
		return
	}
	if after != before {
		w.fail(inv, "%v in %v: %s changed the TCB: %+v -> %+v", r.Side, r.From, desc, before, after)
		return
	}
	if len(r.Out) > 1 {
		w.fail(inv, "%v in %v: %s got %d replies (%v); at most one challenge ACK", r.Side, r.From, desc, len(r.Out), formatSegs(r.Out))
		return
	}
	for i := range r.Out {
		o := &r.Out[i]
		if o.Flags != machine.ACK || o.Seq != before.nxt || o.Ack != before.rcvNxt {
			w.fail(inv, "%v in %v: %s got %s; a challenge ACK is <SEQ=SND.NXT %d><ACK=RCV.NXT %d><CTL=ACK>", r.Side, r.From, desc, simnet.FormatSegment(o), before.nxt, before.rcvNxt)
			return
		}
	}
}

// checkState judges both sides between moves.
func (w *World) checkState() {
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		c := w.conn(s)
		st := &w.side[s]
		state := c.State()
		if state == machine.StateClosed {
			if d, ok := c.NextDeadline(); ok {
				w.fail(1, "%v is CLOSED with a timer armed for %v", s, d)
				return
			}
			continue
		}
		if !isSync(state) || st.streams == 0 {
			continue
		}
		if w.checkHeldForm(s, c); w.err != nil {
			return
		}
		// Invariants 4 and 17: RCV.NXT - IRS - 1 counts exactly the bytes
		// delivered in order (read or queued) plus the peer's FIN: the
		// first data byte is IRS+1 and none is skipped or counted twice.
		v := c.Vars()
		cv := varsOf(&v)
		got := cv.rcvNxt - cv.irs - 1
		want := st.read + uint32(c.Readable())
		if c.PeerClosed() {
			want++
		}
		if got != want {
			w.fail(17, "%v in %v: RCV.NXT %d - IRS %d - 1 = %d, but %d bytes were read, %d are queued and the peer's FIN was %v",
				s, state, cv.rcvNxt, cv.irs, got, st.read, c.Readable(), map[bool]string{true: "received", false: "not received"}[c.PeerClosed()])
			return
		}
	}
}

func hasAck(out []machine.Segment, ack uint32) bool {
	for i := range out {
		if out[i].Flags.Has(machine.ACK) && !out[i].Flags.Has(machine.RST) && out[i].Ack == ack {
			return true
		}
	}
	return false
}

func formatSegs(out []machine.Segment) []string {
	s := make([]string, len(out))
	for i := range out {
		s[i] = simnet.FormatSegment(&out[i])
	}
	return s
}

func stepRules(r *simnet.Record) []machine.Rule {
	out := make([]machine.Rule, len(r.Steps))
	for i, t := range r.Steps {
		out[i] = t.Rule
	}
	return out
}
