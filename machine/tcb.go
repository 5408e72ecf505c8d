package machine

import (
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
)

// tcb is the transmission control block of RFC 9293 3.3.1 plus the
// bookkeeping the actions need. delete_tcb zeroes it; the buffers live in
// Conn so their storage survives.
type tcb struct {
	// Send sequence variables.
	iss, sndUna, sndNxt    uint32
	sndWnd, sndWl1, sndWl2 uint32
	maxSndWnd              uint32 // MAX.SND.WND (RFC 5961 5.2)
	sndBufSeq              uint32 // sequence number of the send buffer's first byte
	finSeq                 uint32 // our FIN's sequence number, once queued

	// Receive sequence variables.
	irs, rcvNxt uint32
	rcvAdv      uint32 // right edge last advertised: RCV.NXT + RCV.WND when sent
	finPendSeq  uint32 // the peer's FIN, received out of order, not yet in order

	peerMSS uint16 // MSS option of the peer's SYN (0: none)
	sndMSS  uint16 // effective send MSS

	// Options (options.go). opts is what both SYNs carried: window
	// scaling, SACK and timestamps are on exactly for those.
	opts        Opts
	sndShift    uint8  // the peer's window scale: applied to windows received
	rcvShift    uint8  // ours: applied to windows sent
	tsOffset    uint32 // per-connection offset of our timestamp clock (RFC 7323 7.1)
	tsRecent    uint32 // TS.Recent (RFC 7323 4.3)
	tsRecentAt  time.Duration
	lastAckSent uint32 // Last.ACK.sent: the ACK field of our latest ACK

	// SACK (sack.go): what the peer reported holding, and, as receiver,
	// where the latest out-of-order segments went and a duplicate to
	// report.
	sacked     rangeSet
	recent     [sackRecent]uint32
	nRecent    int
	dsack      seqRange
	dsackValid bool

	// Where the connection stands.
	synSent    bool // our SYN went out (SND.NXT > ISS)
	synAcked   bool // our SYN is acknowledged (SND.UNA > ISS)
	irsValid   bool // the peer's SYN is in: IRS and RCV.NXT are set
	passive    bool // remember_passive / remember_active
	finQueued  bool // CLOSE: a FIN follows the data, at finSeq
	finSent    bool
	finAcked   bool
	finRcvd    bool // the peer's FIN is accepted
	finPending bool // the peer's FIN is held out of order, at finPendSeq

	// Retransmission (RFC 6298) and loss recovery.
	rto          rtoState
	timing       bool          // an RTT measurement is running
	rttSeq       uint32        // it ends when this is acknowledged
	rttStart     time.Duration // and started then
	flightAt     time.Duration // when the oldest flight outstanding began (a send with nothing outstanding): timestamp echoes older than that are stale
	synRexmitted bool          // RFC 6298 5.7
	cc           cc.Controller // congestion control and loss recovery (congestion.go)
	sentAt       time.Duration // the last segment of text or FIN sent: an idle restart is timed from it
	highRxt      uint32        // RFC 6675 HighRxt: the end of what this recovery resent (recovery.go)
	passNxt      uint32        // SND.NXT at the current pass's latest resend: text beyond it SACKed means what the pass resent and is still missing was lost again
	dataSegs     uint32        // in-order text segments taken (the quick-ACK phase)

	// Keepalive (keepalive.go).
	kaHeard   time.Duration // the last acceptable segment from the peer
	kaProbeAt time.Duration // the last probe
	kaProbes  int           // probes sent since then, unanswered

	// Timers: one deadline per kind, armed bit per kind.
	deadline [numTimers]time.Duration
	armed    uint8

	// RFC 5961 challenge ACKs sent in the current one-second window.
	challengeStart time.Duration
	challengeCount int

	// Out-of-order text held for reassembly: sorted, disjoint ranges.
	ooo rangeSet

	// A new incarnation out of TIME-WAIT starts its ISS at or above the
	// old SND.NXT.
	prevSndNxt uint32
	prevValid  bool
}

// maxOOO bounds the out-of-order ranges held for reassembly: as many as
// MSS-sized segments of the receive buffer, at least 16. Text that would
// need another range is dropped (the peer retransmits it).
func (c *Conn) maxOOO() int { return max(16, c.cfg.rcvBuf()/int(c.cfg.mss())) }

// Guards. They only read: the stateless cross-check calls them again.

// AckAcceptable is guard ack_acceptable: the ACK bit is set and
// SND.UNA < SEG.ACK =< SND.NXT. In SYN-SENT SND.UNA is ISS, so this is
// also ISS < SEG.ACK =< SND.NXT.
func (c *Conn) AckAcceptable() bool {
	s := c.seg
	return s != nil && s.Flags&ACK != 0 && SeqLT(c.t.sndUna, s.Ack) && SeqLEQ(s.Ack, c.t.sndNxt)
}

// AckInRange is guard ack_in_range (RFC 5961 5.2):
// SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT, with the ACK bit set; and
// while our SYN is unacknowledged (a CLOSE in SYN-RECEIVED reached
// FIN-WAIT-1 before the handshake's ACK), SEG.ACK must acknowledge it, as
// SYN-RECEIVED requires: an ACK that does not is no part of this
// connection.
func (c *Conn) AckInRange() bool {
	s, t := c.seg, &c.t
	return s != nil && s.Flags&ACK != 0 && SeqLEQ(t.sndUna-t.maxSndWnd, s.Ack) && SeqLEQ(s.Ack, t.sndNxt) &&
		(t.synAcked || SeqLT(t.sndUna, s.Ack))
}

// FinAcked is guard fin_acked: our FIN has been sent and SEG.ACK is its
// sequence number + 1.
func (c *Conn) FinAcked() bool {
	s := c.seg
	return s != nil && c.t.finSent && s.Flags&ACK != 0 && s.Ack == c.t.finSeq+1
}

// RstExact is guard rst_exact: RST with SEG.SEQ == RCV.NXT (RFC 5961 3.2).
func (c *Conn) RstExact() bool {
	s := c.seg
	return s != nil && s.Flags&RST != 0 && s.Seq == c.t.rcvNxt
}

// RstInWindow is guard rst_in_window: RST with
// RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND.
func (c *Conn) RstInWindow() bool {
	s := c.seg
	return s != nil && s.Flags&RST != 0 && SeqInWindow(s.Seq, c.t.rcvNxt, c.rcvWindow())
}

// PassiveOpen is guard passive_open: the connection came from LISTEN.
func (c *Conn) PassiveOpen() bool { return c.t.passive }

// SynNewIncarnation is guard syn_new_incarnation (RFC 6191): a listener
// exists and, when the connection used timestamps and the SYN carries one,
// SEG.TSval > TS.Recent; otherwise SEG.SEQ > RCV.NXT.
func (c *Conn) SynNewIncarnation() bool {
	s := c.seg
	if s == nil || !c.acceptIncarnation || s.Flags&SYN == 0 {
		return false
	}
	if c.t.opts.Has(OptTimestamps) && s.Opts.Has(OptTimestamps) {
		return SeqGT(s.TSVal, c.t.tsRecent)
	}
	return SeqGT(s.Seq, c.t.rcvNxt)
}

// SynFin is guard syn_fin: the segment carries both SYN and FIN.
func (c *Conn) SynFin() bool {
	s := c.seg
	return s != nil && s.Flags&(SYN|FIN) == SYN|FIN
}

// Rfc1337 is option rfc1337: Config.RFC1337.
func (c *Conn) Rfc1337() bool { return c.cfg.RFC1337 }

// Actions.

// CreateTcb is action create_tcb: a fresh, empty TCB for a passive OPEN.
func (c *Conn) CreateTcb() { c.clearTCB() }

// SelectIss is action select_iss: ISS from ISN (RFC 9293 3.4.1). A new
// incarnation out of TIME-WAIT starts at or above the old one's SND.NXT,
// above every sequence number it used (RFC 1122 4.2.2.13).
func (c *Conn) SelectIss() {
	t := &c.t
	iss := ISN(&c.cfg.ISNKey, c.tuple, c.now)
	if t.prevValid && SeqLT(iss, t.prevSndNxt) {
		iss = t.prevSndNxt
	}
	t.iss, t.sndUna, t.sndNxt, t.sndBufSeq = iss, iss, iss, iss+1
	t.sndWl2 = iss
	t.tsOffset = tsOffset(&c.cfg.ISNKey, c.tuple)
}

// SendSyn is action send_syn: <SEQ=ISS><CTL=SYN> with our MSS;
// SND.UNA=ISS, SND.NXT=ISS+1.
func (c *Conn) SendSyn() {
	t := &c.t
	t.sndUna, t.sndNxt, t.synSent, t.flightAt = t.iss, t.iss+1, true, c.now
	c.emitSyn(false)
	c.startTiming(t.iss + 1)
	c.armSent()
}

// AcceptSyn is action accept_syn: IRS=SEG.SEQ, RCV.NXT=IRS+1; the peer's MSS
// and window. Text and FIN on the SYN are not taken (they are not
// acknowledged, so the peer sends them again).
func (c *Conn) AcceptSyn() {
	t, s := &c.t, c.seg
	t.irs, t.rcvNxt, t.irsValid = s.Seq, s.Seq+1, true
	c.learnMSS(s.MSS)
	t.sndWnd, t.sndWl1 = c.segWindow(s), s.Seq
	t.maxSndWnd = max(t.maxSndWnd, t.sndWnd)
	t.rcvAdv = t.rcvNxt + c.rcvSynWindow()
}

// SendSynack is action send_synack: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
// with our MSS. From LISTEN it also sets SND.UNA=ISS, SND.NXT=ISS+1; in a
// simultaneous open the SYN's sequence number is reused.
func (c *Conn) SendSynack() {
	t := &c.t
	if !t.synSent {
		t.sndUna, t.sndNxt, t.synSent, t.flightAt = t.iss, t.iss+1, true, c.now
		c.startTiming(t.iss + 1)
	} else {
		t.timing = false // the SYN's sequence number goes out twice (Karn)
	}
	c.emitSyn(true)
	c.armSent()
}

// RememberPassive is action remember_passive.
func (c *Conn) RememberPassive() { c.t.passive = true }

// RememberActive is action remember_active.
func (c *Conn) RememberActive() { c.t.passive = false }

// CompleteOpen is action complete_open (SYN-SENT, acceptable SYN+ACK):
// IRS=SEG.SEQ, RCV.NXT=IRS+1, SND.UNA=SEG.ACK, SND.WND/WL1/WL2 from the
// segment.
func (c *Conn) CompleteOpen() {
	t, s := &c.t, c.seg
	t.irs, t.rcvNxt, t.irsValid = s.Seq, s.Seq+1, true
	c.learnMSS(s.MSS)
	c.ackNew(s.Ack)
	t.sndWnd, t.sndWl1, t.sndWl2 = c.segWindow(s), s.Seq, s.Ack
	t.maxSndWnd = max(t.maxSndWnd, t.sndWnd)
	t.rcvAdv = t.rcvNxt + c.rcvSynWindow()
	if t.synRexmitted {
		t.rto.synTimedOut(c.cfg)
	}
	// Text on the SYN+ACK starts at IRS+1 (RFC 9293 3.10.7.3: "continue
	// processing at the sixth step"): accept_text takes it trimmed to
	// the window like any segment's. A FIN on it is not taken (it is not
	// acknowledged, so the peer sends it again).
	c.view = segView{seq: s.Seq + 1, payload: s.Payload}
	c.trim(&c.view)
	c.view.fin, c.view.finInOrder = false, false
}

// CompletePassive is action complete_passive (SYN-RECEIVED, acceptable
// ACK): SND.UNA=SEG.ACK, SND.WND/WL1/WL2 from the segment.
func (c *Conn) CompletePassive() {
	t, s := &c.t, c.seg
	c.ackNew(s.Ack)
	t.sndWnd, t.sndWl1, t.sndWl2 = c.segWindow(s), s.Seq, s.Ack
	t.maxSndWnd = max(t.maxSndWnd, t.sndWnd)
	if t.synRexmitted {
		t.rto.synTimedOut(c.cfg)
	}
}

// SendAck is action send_ack: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. It is
// sent when the event ends, unless a data segment sent in the same event
// already carries it.
func (c *Conn) SendAck() { c.ackPending = true }

// SendChallengeAck is action send_challenge_ack (RFC 5961): an ACK
// <SEQ=SND.NXT><ACK=RCV.NXT>, at most Config.ChallengeACKs per second on
// this connection (the budget is per connection: invariant 15).
func (c *Conn) SendChallengeAck() {
	if c.takeACKBudget() {
		c.count.ChallengeACKs++
		c.emit(c.t.sndNxt, c.t.rcvNxt, ACK, nil)
	}
}

// SendDupack is action send_dupack: the ACK <SEQ=SND.NXT><ACK=RCV.NXT> that
// RFC 9293 3.10.7.4 sends for an unacceptable segment or an ACK out of
// range. It draws on the challenge-ACK budget, so two ends that disagree
// about the sequence space cannot ACK each other forever (as Linux limits
// out-of-window ACKs).
func (c *Conn) SendDupack() {
	if !c.takeACKBudget() {
		return
	}
	if s := c.seg; s != nil && len(s.Payload) > 0 && SeqLT(s.Seq, c.t.rcvNxt) {
		// The part received before (RFC 2883 4.1), also when the rest
		// lies beyond a window that refuses it.
		end := s.Seq + uint32(len(s.Payload))
		if SeqGT(end, c.t.rcvNxt) {
			end = c.t.rcvNxt
		}
		c.noteDuplicate(s.Seq, end)
	}
	c.ackPending = true
}

// ackBudgetSpent reports whether takeACKBudget would refuse at the time of
// the last event.
func (c *Conn) ackBudgetSpent() bool {
	t := &c.t
	limit := c.cfg.challengeACKs()
	return limit >= 0 && t.challengeCount >= limit &&
		c.now-t.challengeStart < time.Second && c.now >= t.challengeStart
}

// takeACKBudget reports whether one more challenge or duplicate ACK may be
// sent this second on this connection (invariant 15: per connection).
func (c *Conn) takeACKBudget() bool {
	t := &c.t
	limit := c.cfg.challengeACKs()
	if limit < 0 {
		return true
	}
	if t.challengeCount == 0 || c.now-t.challengeStart >= time.Second || c.now < t.challengeStart {
		t.challengeStart, t.challengeCount = c.now, 0
	}
	if t.challengeCount >= limit {
		return false
	}
	t.challengeCount++
	return true
}

// SendRstReply is action send_rst_reply, for a segment that belongs to no
// connection: <SEQ=SEG.ACK><CTL=RST> if it has an ACK, else
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Never in reply to a RST.
func (c *Conn) SendRstReply() {
	s := c.seg
	if s == nil || s.Flags&RST != 0 {
		return
	}
	if s.Flags&ACK != 0 {
		c.emitRaw(s.Ack, 0, RST)
	} else {
		c.emitRaw(0, s.Seq+s.Len(), RST|ACK)
	}
}

// SendRstAbort is action send_rst_abort: <SEQ=SND.NXT><CTL=RST>.
func (c *Conn) SendRstAbort() { c.emitRaw(c.t.sndNxt, 0, RST) }

// ProcessAck is action process_ack (RFC 9293 3.10.7.4, fifth): an ACK of
// new data advances SND.UNA, frees the acknowledged bytes, samples the RTT
// and restarts the timers; then the send window is updated from a segment
// not older than the last update (SND.WL1, SND.WL2).
func (c *Conn) ProcessAck() {
	t, s := &c.t, c.seg
	if s == nil || s.Flags&ACK == 0 {
		return
	}
	ack := s.Ack
	switch {
	case SeqLT(t.sndUna, ack) && SeqLEQ(ack, t.sndNxt):
		c.ackNew(ack)
		c.takeSACK(s)
	case ack == t.sndUna:
		c.takeSACK(s) // first: the scoreboard may declare the head lost (RFC 6675)
		c.dupAck(s)
	default:
		c.takeSACK(s)
	}
	c.lostAgain()
	if SeqLEQ(t.sndUna, ack) && SeqLEQ(ack, t.sndNxt) &&
		(SeqLT(t.sndWl1, s.Seq) || (t.sndWl1 == s.Seq && SeqLEQ(t.sndWl2, ack))) {
		wnd := c.segWindow(s)
		opened := t.sndWnd == 0 && wnd > 0
		t.maxSndWnd = max(t.maxSndWnd, wnd)
		if SeqLT(ack+max(wnd, 1), t.sndNxt) {
			// The window shrank below what we already sent (a
			// reordered older update, or a peer that shrinks: RFC
			// 9293 3.8.6 MUST-34). Send nothing new until it grows,
			// keeping SND.NXT =< SND.UNA + max(SND.WND, 1) (invariant
			// 3; a one-byte zero-window probe may be outstanding).
			wnd = t.sndNxt - ack
		}
		t.sndWnd, t.sndWl1, t.sndWl2 = wnd, s.Seq, ack
		if opened && t.sndUna != t.sndNxt && t.synAcked {
			// The window reopened under a probe the peer could not
			// take: send it again now rather than at the backed-off
			// timeout, so new data does not arrive out of order.
			c.resendHead()
		}
	}
	if t.sndWnd == 0 && t.isArmed(timerUser) {
		// Probing a zero window: the peer answers, so it is alive
		// (RFC 9293 3.8.6.1: keep probing while it does).
		t.arm(timerUser, c.now+c.userTimeout())
	}
	if c.state == StateFinWait2 && t.isArmed(timerFinWait2) {
		t.arm(timerFinWait2, c.now+c.cfg.finWait2())
	}
}

// AcceptText is action accept_text: in-order text is appended to the
// receive buffer and RCV.NXT advances over it and over any held text it
// joins; out-of-order text is held for reassembly. Text (or an
// out-of-order FIN) is acknowledged at once.
func (c *Conn) AcceptText() { c.acceptText() }

// AcceptFin is action accept_fin: RCV.NXT += 1 for the FIN, end of data for
// the application, and an ACK.
func (c *Conn) AcceptFin() {
	t := &c.t
	t.rcvNxt++
	t.finRcvd, t.finPending = true, false
	c.ackPending = true
}

// QueueSend is action queue_send: copy what fits of the user's data into
// the send buffer; it is sent (when the event ends) as the window allows.
func (c *Conn) QueueSend() {
	limit := c.cfg.sndBuf()
	k := min(len(c.ubuf), limit-c.snd.n)
	if k <= 0 {
		return
	}
	c.snd.reserve(c.snd.n+k, c.snd.n, limit)
	c.snd.write(c.snd.n, c.ubuf[:k])
	c.snd.n += k
	c.un = k
}

// QueueFin is action queue_fin: a FIN follows the queued data, at the
// sequence number after its last byte.
func (c *Conn) QueueFin() {
	t := &c.t
	t.finQueued = true
	t.finSeq = t.sndBufSeq + uint32(c.snd.n)
}

// Deliver is action deliver: copy readable bytes to the user (io.EOF once
// the peer's FIN is consumed and nothing remains), and announce the window
// the reading opened.
func (c *Conn) Deliver() { c.deliver() }

// ErrClosing is action err_closing: the user call fails with ErrClosing.
func (c *Conn) ErrClosing() { c.callErr = ErrClosing }

// SignalReset is action signal_reset: flush the queues and report
// ErrReset (also after the local user's ABORT: sync_abort runs it).
func (c *Conn) SignalReset() {
	c.snd.empty()
	c.rcv.empty()
	c.t.ooo.n = 0
	c.err = ErrReset
}

// SignalRefused is action signal_refused: report ErrRefused.
func (c *Conn) SignalRefused() { c.err = ErrRefused }

// SignalTimeout is action signal_timeout: report ErrTimeout.
func (c *Conn) SignalTimeout() { c.err = ErrTimeout }

// Retransmit is action retransmit (RFC 6298 5.4-5.6): resend the first
// unacknowledged segment (SYN, SYN+ACK, up to one MSS of data, FIN), or
// probe a zero window with one byte (RFC 9293 3.8.6.1), then back off the
// RTO and restart the timer.
func (c *Conn) Retransmit() { c.retransmit() }

// Start2msl is action start_2msl: stop every other timer and (re)start the
// 2*MSL TIME-WAIT timer.
func (c *Conn) Start2msl() {
	t := &c.t
	for k := timerKind(0); k < numTimers; k++ {
		t.disarm(k)
	}
	t.arm(timer2MSL, c.now+2*c.cfg.msl())
	// TIME-WAIT carries no more text: give the buffers' storage back (the
	// receive buffer once the application has read it all), so that a
	// server's many TIME-WAITs hold a TCB each, not its buffers.
	if c.snd.n == 0 {
		c.snd = ring{}
	}
	if c.rcv.n == 0 && c.t.ooo.n == 0 {
		c.rcv = ring{}
	}
}

// Reincarnate is action reincarnate: TIME-WAIT gives way to a new
// connection as if a listener had taken the SYN. The old SND.NXT is kept so
// the new ISS starts above it.
func (c *Conn) Reincarnate() {
	prev := c.t.sndNxt
	c.clearTCB()
	c.t.prevSndNxt, c.t.prevValid = prev, true
	c.err = nil
}

// DeleteTcb is action delete_tcb: the TCB, its queues and its timers go.
// The buffers' storage is kept, empty, for reuse.
func (c *Conn) DeleteTcb() { c.clearTCB() }

func (c *Conn) clearTCB() {
	ooo, sacked := c.t.ooo, c.t.sacked
	ooo.clear()
	sacked.clear()
	// Zeroed in place, then the storage put back: a composite literal
	// would build the 600-byte TCB on the stack first, in every frame
	// this is inlined into (the generated dispatcher's, once per rule).
	c.t = tcb{}
	c.t.ooo, c.t.sacked = ooo, sacked
	c.snd.empty()
	c.rcv.empty()
	c.ackPending, c.sackOwed = false, false
}

// learnMSS sets the effective send MSS: the smaller of ours and the peer's
// MSS option, or 536 without one (RFC 9293 3.7.1). The peer's value is
// raised to Config.MinPeerMSS first: a peer announcing MSS=1 would
// otherwise make every write a stream of one-byte segments (the
// CVE-2019-11479 class of amplification).
func (c *Conn) learnMSS(peer uint16) {
	t := &c.t
	t.peerMSS = peer
	if peer == 0 {
		peer = DefaultPeerMSS
	}
	peer = max(peer, c.cfg.minPeerMSS())
	t.sndMSS = max(min(peer, c.cfg.mss()), 1)
}
