package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// planted is a named bug, written by hand: what a reviewer found the
// checks missed, and what each invariant of docs/checking.md is shown to
// catch. `go run ./internal/mutate -planted` runs them; each must be killed,
// by the invariant named.
type planted struct {
	name      string
	invariant int // the invariant expected to catch it (docs/checking.md)
	doc       string
	edits     []edit
}

// plantedTests are the go test arguments that judge a planted bug aimed at
// a check outside the property suite and the checker.
var plantedTests = map[string][]string{
	"cc-additive-decrease":   {"./proptest/pathsim", "-run", "TestFairness"},
	"lost-again-not-noticed": {"./proptest/pathsim", "-run", "TestLostRetransmissions"},
}

// edit replaces old, which must occur exactly once, in a file of machine/,
// or, when file has a directory ("cc/reno.go"), in that file of the module.
type edit struct{ file, old, new string }

// path is where the edited file is, under root.
func (e edit) path(root string) string {
	if strings.Contains(e.file, "/") {
		return filepath.Join(root, filepath.FromSlash(e.file))
	}
	return filepath.Join(root, machineDir, e.file)
}

var plantedBugs = []planted{
	// Invariants 1-20 (design.md).
	{"closed-keeps-timers", 1, "delete_tcb leaves the timers armed: a CLOSED connection still has a timer",
		[]edit{{"tcb.go", "\tc.t = tcb{}\n\tc.t.ooo, c.t.sacked = ooo, sacked\n", "\tarmed, deadline := c.t.armed, c.t.deadline\n\tc.t = tcb{}\n\tc.t.ooo, c.t.sacked = ooo, sacked\n\tc.t.armed, c.t.deadline = armed, deadline\n"}}},
	{"no-wrap", 5, "sequence comparisons are plain integer comparisons, not modulo 2^32 (invariant 2 is how the runs are built, next to 2^32; the bug shows where they cross it)",
		[]edit{{"segment.go", "func SeqLT(a, b uint32) bool { return int32(a-b) < 0 }", "func SeqLT(a, b uint32) bool { return a < b }"}}},
	{"synack-acks-x", 4, "the SYN+ACK acknowledges the peer's ISN x, not x+1",
		[]edit{{"output.go", "\t\tseg.Ack = t.rcvNxt\n", "\t\tseg.Ack = t.rcvNxt - 1\n"}}},
	{"established-early", 5, "the SYN+ACK's acknowledgment is taken one short: ESTABLISHED with SND.UNA = ISS",
		[]edit{{"tcb.go", "\tc.learnMSS(s.MSS)\n\tc.ackNew(s.Ack)\n", "\tc.learnMSS(s.MSS)\n\tc.ackNew(s.Ack - 1)\n"}}},
	{"ack-beyond-nxt", 6, "RFC 5961's upper bound removed: an ACK beyond SND.NXT is processed",
		[]edit{{"tcb.go", "SeqLEQ(t.sndUna-t.maxSndWnd, s.Ack) && SeqLEQ(s.Ack, t.sndNxt)", "SeqLEQ(c.t.sndUna-c.t.maxSndWnd, s.Ack)"}}},
	{"fin-counts-two", 7, "accepting a FIN advances RCV.NXT by 2: the FIN is acknowledged with its seq + 2",
		[]edit{{"tcb.go", "\tt.rcvNxt++\n", "\tt.rcvNxt += 2\n"}}},
	{"short-time-wait", 9, "TIME-WAIT lasts 1*MSL, not 2*MSL",
		[]edit{{"tcb.go", "t.arm(timer2MSL, c.now+2*c.cfg.msl())", "t.arm(timer2MSL, c.now+c.cfg.msl())"}}},
	{"timewait-ignores-fin", 10, "a retransmitted FIN in TIME-WAIT is taken for a plain ACK: not ACKed, 2MSL not restarted",
		[]edit{{"classify.go", "return EventRcvFin // the peer's FIN again: our ACK was lost", "return EventRcvAck"}}},
	{"closing-skips-time-wait", 11, "the dispatcher takes CLOSING's ACK of our FIN straight to CLOSED: a simultaneous close skips TIME-WAIT",
		[]edit{{"dispatch_conn_gen.go", "return StateTimeWait, RuleClosingRcvAckOfFin", "return StateClosed, RuleClosingRcvAckOfFin"}}},
	{"active-remembered-passive", 12, "a simultaneous open is remembered as passive: an RST in SYN-RECEIVED returns to LISTEN",
		[]edit{{"tcb.go", "func (c *Conn) RememberActive() { c.t.passive = false }", "func (c *Conn) RememberActive() { c.t.passive = true }"}}},
	{"rst-for-rst", 13, "an RST+ACK to a closed port is answered with an RST",
		[]edit{
			{"classify.go", "\t\tcase f&RST != 0:\n\t\t\treturn EventRcvRst\n\t\tcase f&(SYN|ACK) == SYN|ACK:", "\t\tcase f&RST != 0 && f&ACK == 0:\n\t\t\treturn EventRcvRst\n\t\tcase f&(SYN|ACK) == SYN|ACK:"},
			{"tcb.go", "if s == nil || s.Flags&RST != 0 {", "if s == nil {"},
		}},
	{"rst-in-window-resets", 14, "any RST in the window resets (RFC 5961 3.2 undone)",
		[]edit{{"tcb.go", "return s != nil && s.Flags&RST != 0 && s.Seq == c.t.rcvNxt", "return s != nil && s.Flags&RST != 0 && SeqInWindow(s.Seq, c.t.rcvNxt, max(c.rcvWindow(), 1))"}}},
	{"challenge-acks-unlimited", 15, "challenge ACKs ignore their per-connection budget",
		[]edit{{"tcb.go", "\tif c.takeACKBudget() {\n\t\tc.count.ChallengeACKs++", "\tif c.takeACKBudget() || true {\n\t\tc.count.ChallengeACKs++"}}},
	{"isn-no-clock", 16, "the ISN ignores the clock: a new connection on the same 4-tuple reuses the old ISN",
		[]edit{{"tcb.go", "iss := ISN(&c.cfg.ISNKey, c.tuple, c.now)", "iss := ISN(&c.cfg.ISNKey, c.tuple, 0)"}}},
	{"wrong-bytes", 17, "a data segment carries the bytes one place later than its sequence number",
		[]edit{{"output.go", "p := c.snd.slice(int(seq-t.sndBufSeq), int(n))", "p := c.snd.slice(int(seq-t.sndBufSeq)+1, int(n))"}}},
	{"dispatcher-differs", 19, "the generated Step takes FIN-WAIT-2's FIN to CLOSING, unlike the spec (and the stateless machine)",
		[]edit{{"machine_gen.go", "return StateTimeWait, RuleFinWait2RcvFin", "return StateClosing, RuleFinWait2RcvFin"}}},
	{"synack-never-classified", 20, "a SYN+ACK in a synchronized state is classified rcv_syn: rule time_wait_rcv_synack can never fire",
		[]edit{{"classify.go", "\tcase f&(SYN|ACK) == SYN|ACK:\n\t\treturn EventRcvSynack\n\tcase f&SYN != 0:\n\t\treturn EventRcvSyn\n\tcase f&ACK == 0:\n\t\treturn EventRcvNoack\n\t}\n\tc.trim(v)", "\tcase f&SYN != 0:\n\t\treturn EventRcvSyn\n\tcase f&ACK == 0:\n\t\treturn EventRcvNoack\n\t}\n\tc.trim(v)"}}},
	// Invariants 21-28 (docs/checking.md).
	{"ack-lower-bound", 27, "RFC 5961 5.2's lower bound SND.UNA - MAX.SND.WND removed from the ACK check (blind data injection with an old ACK)",
		[]edit{{"tcb.go", "SeqLEQ(t.sndUna-t.maxSndWnd, s.Ack) && SeqLEQ(s.Ack, t.sndNxt)", "SeqLEQ(s.Ack, c.t.sndNxt)"}}},
	{"no-wl-check", 23, "the SND.WL1/SND.WL2 test of the window update removed: an older segment sets SND.WND",
		[]edit{{"tcb.go", "(SeqLT(t.sndWl1, s.Seq) || (t.sndWl1 == s.Seq && SeqLEQ(t.sndWl2, ack)))", "true"}}},
	{"sndwnd-not-updated", 23, "SND.WND not taken from an ACK (only WL1/WL2 move)",
		[]edit{{"tcb.go", "t.sndWnd, t.sndWl1, t.sndWl2 = wnd, s.Seq, ack", "t.sndWl1, t.sndWl2 = s.Seq, ack"}}},
	{"no-right-trim", 26, "text beyond the right edge of the receive window is not trimmed",
		[]edit{{"classify.go", "if end := v.seq + uint32(len(v.payload)); SeqGT(end, limit) {", "if end := v.seq + uint32(len(v.payload)); false && SeqGT(end, limit) {"}}},
	{"accept-right-edge", 28, "the acceptability test is off by one at the window's right edge",
		[]edit{{"classify.go", "return SeqInWindow(seg.Seq, nxt, wnd) || SeqInWindow(seg.Seq+n-1, nxt, wnd)", "return SeqInWindow(seg.Seq, nxt, wnd+1) || SeqInWindow(seg.Seq+n-1, nxt, wnd+1)"}}},
	{"rto-not-doubled", 25, "the RTO is not doubled on consecutive timeouts (RFC 6298 5.5)",
		[]edit{{"rto.go", "\t\tr.backoff++\n", "\n"}}},
	{"backoff-kept", 25, "the backoff is not cleared by a valid RTT sample",
		[]edit{{"rto.go", "\tr.base = min(max(r.base, cfg.minRTO()), cfg.maxRTO())\n\tr.backoff = 0\n", "\tr.base = min(max(r.base, cfg.minRTO()), cfg.maxRTO())\n"}}},
	{"karn", 25, "an RTT sample is taken across a retransmission (Karn's rule broken)",
		[]edit{
			{"output.go", "\tt.timing = false // Karn: no sample across a retransmission\n", "\n"},
			{"output.go", "\tt.timing = false\n\tsent := len(c.outbox)", "\tsent := len(c.outbox)"},
		}},
	{"ooo-dropped", 26, "out-of-order text is dropped (never held for reassembly)",
		[]edit{{"recv.go", "\tc.holdOOO(v.seq, v.seq+uint32(n))\n", "\n"}}},
	{"one-range", 26, "reassembly holds a single out-of-order range",
		[]edit{{"tcb.go", "func (c *Conn) maxOOO() int { return max(16, c.cfg.rcvBuf()/int(c.cfg.mss())) }", "func (c *Conn) maxOOO() int { return 1 }"}}},
	{"no-fast-retransmit", 35, "fast retransmit disabled: the third duplicate ACK does nothing",
		[]edit{{"congestion.go", "\tresend = t.cc.Retransmit\n\tt.cc.Retransmit = false\n\treturn resend\n}\n\n// ccTimeout", "\tresend = false\n\tt.cc.Retransmit = false\n\treturn resend\n}\n\n// ccTimeout"}}},
	{"window-not-reduced", 22, "the advertised window is never reduced as the buffer fills",
		[]edit{{"recv.go", "return uint32(max(c.cfg.rcvBuf()-c.rcv.n, 0))", "return uint32(c.cfg.rcvBuf())"}}},
	{"no-receiver-sws", 22, "no receiver-side silly-window avoidance: the right edge moves by any amount",
		[]edit{{"recv.go", "if free-old >= min(uint32(c.cfg.rcvBuf()/2), uint32(c.cfg.mss())) {", "if true {"}}},
	{"sender-beyond-window", 3, "the sender sends one segment beyond the peer's window (its SND.NXT shows it)",
		[]edit{{"output.go", "usable := min(t.sndUna+t.sndWnd-t.sndNxt, c.quota()) // U: usable window, within cwnd", "usable := min(t.sndUna+t.sndWnd-t.sndNxt, c.quota()) + uint32(t.sndMSS)"}}},
	{"no-sender-sws", 29, "no sender-side silly-window avoidance: a window smaller than the MSS is filled at once",
		[]edit{{"output.go", "if n < mss && d > usable && n < t.maxSndWnd/2 {", "if false {"}}},
	{"wrong-refusal", 30, "a call no rule takes in CLOSED fails as illegal, not as \"connection does not exist\"",
		[]edit{{"conn.go", "\t\t\treturn 0, ErrNotExist\n", "\t\t\treturn 0, ErrIllegalInState\n"}}},
	{"wire-beyond-window", 24, "a segment ending at the window's edge carries one byte more, while the TCB's counters stay right",
		[]edit{{"output.go", "\tc.emit(seq, t.rcvNxt, flags, p)\n",
			"\tif fresh && k == n && end == t.sndUna+t.sndWnd && c.snd.n > int(end-t.sndBufSeq) {\n\t\tp = c.snd.slice(int(seq-t.sndBufSeq), int(n)+1)\n\t}\n\tc.emit(seq, t.rcvNxt, flags, p)\n"}}},
	{"rcv-storage-unbounded", 21, "the receive ring may grow to twice RcvBuf",
		[]edit{{"recv.go", "c.rcv.reserve(want, keep, limit)", "c.rcv.reserve(want, keep, 2*limit)"}}},
	// Invariants 31-35.
	{"stale-range", 31, "merging out-of-order ranges forgets to shrink the count: a stale range stays behind the merged one",
		[]edit{{"ranges.go", "\t\tb.n -= j - i - 1\n", "\n"}}},
	{"time-wait-keeps-buffers", 21, "TIME-WAIT keeps the send ring's storage: every TIME-WAIT of a server holds its buffers",
		[]edit{{"tcb.go", "\tif c.snd.n == 0 {\n\t\tc.snd = ring{}\n\t}\n", "\n"}}},
	{"no-window-update", 32, "a RECEIVE that opens the window sends no window update",
		[]edit{{"recv.go", "\t\tc.ackPending = true // a window update (RFC 9293 3.8.6.2.2)\n", "\n"}}},
	{"window-update-every-read", 32, "every read that moves the window's right edge sends a window update, even with half the window or more still open to the peer",
		[]edit{{"recv.go", "\treturn uint64(wnd) >= 2*uint64(left)\n", "\treturn uint64(wnd) >= 0*uint64(left)\n"}}},
	{"zero-window-silent", 33, "text refused by a zero window is not acknowledged",
		[]edit{{"recv.go", "\t\tc.ackPending = true // text refused by a zero window: say so\n", "\n"}}},
	{"no-rtt-sample", 34, "no segment is ever timed: the RTO never learns the path",
		[]edit{{"output.go", "\tif !t.timing {\n\t\tt.timing, t.rttSeq, t.rttStart = true, end, c.now", "\tif false {\n\t\tt.timing, t.rttSeq, t.rttStart = true, end, c.now"}}},
	{"dupack-counts-data", 35, "segments carrying text count as duplicate ACKs (RFC 5681 2 says they do not): fast retransmit starts early",
		[]edit{{"output.go", "dup := t.sndUna != t.sndNxt && len(s.Payload) == 0 && s.Flags&(SYN|FIN) == 0", "dup := t.sndUna != t.sndNxt && s.Flags&(SYN|FIN) == 0"}}},
	{"user-timer-not-restarted", 36, "an ACK of new data does not restart the user timer: a slow but moving connection is given up",
		[]edit{{"output.go", "\t\tt.arm(timerRexmt, c.now+t.rto.current(c.cfg))\n\t\tt.arm(timerUser, c.now+c.userTimeout())\n", "\t\tt.arm(timerRexmt, c.now+t.rto.current(c.cfg))\n"}}},
	{"fin-not-piggybacked", 29, "the FIN never rides on the last text: a bare FIN follows it",
		[]edit{{"output.go", "\t\t\t\tflags |= FIN\n", "\n"}}},
	// Invariants 37-40: options.
	{"synack-echoes-config", 37, "a SYN+ACK carries every option Config allows, whether or not the peer's SYN offered it",
		[]edit{{"options.go", "\tif synack {\n\t\to = t.opts\n\t}\n", "\n"}}},
	{"shift-off-by-one", 38, "windows are sent scaled by one less than the shift our SYN announced: the peer reads twice the free space",
		[]edit{{"options.go", "min(s.WScale, MaxShift), c.cfg.rcvShift()", "min(s.WScale, MaxShift), max(c.cfg.rcvShift(), 1)-1"}}},
	{"no-paws", 39, "PAWS is off: a segment with an older timestamp than TS.Recent is processed",
		[]edit{{"options.go", "SeqLT(s.TSVal, t.tsRecent) && c.tsRecentValid()", "false"}}},
	{"delack-unbounded", 41, "the ACK of in-order text waits for the timer however much text arrives (no ACK of every second full-sized segment)",
		[]edit{{"delack.go", " || t.rcvNxt-t.lastAckSent >= 2*c.rcvEffMSS()", ""}}},
	{"delack-too-long", 41, "the delayed-ACK timer is armed for ten times DelayedACK",
		[]edit{{"delack.go", "t.arm(timerDelACK, c.now+d)", "t.arm(timerDelACK, c.now+10*d)"}}},
	{"nagle-always", 29, "Nagle's algorithm holds a short segment back even with nothing unacknowledged",
		[]edit{{"output.go", "if n < mss && c.nagle() && t.sndUna != t.sndNxt && !(n == d && t.finQueued) {", "if n < mss && c.nagle() && !(n == d && t.finQueued) {"}}},
	{"keepalive-early", 42, "the first keepalive probe goes out after half the idle time",
		[]edit{{"keepalive.go", "at := t.kaHeard + c.ka.Idle\n", "at := t.kaHeard + c.ka.Idle/2\n"}}},
	{"keepalive-gives-up-early", 42, "the connection is given up after Count-1 unanswered probes",
		[]edit{{"keepalive.go", "return c.t.kaProbes >= c.ka.Count", "return c.t.kaProbes >= c.ka.Count-1"}}},
	{"cookie-mss-next", 43, "a cookie connection takes the MSS table's next entry, not the one its cookie encoded",
		[]edit{{"cookie.go", "c.learnMSS(cookieMSS[idx])", "c.learnMSS(cookieMSS[min(idx+1, 7)])"}}},
	{"cookie-keeps-timer", 43, "answering a SYN with a cookie arms a retransmission timer (state for a SYN that should leave none)",
		[]edit{{"cookie.go", "\tc.outbox = append(c.outbox, seg)\n}", "\tc.outbox = append(c.outbox, seg)\n\tc.t.arm(timerRexmt, c.now+time.Second)\n}"}}},
	{"cookie-any-ack", 43, "any ACK at a listener using cookies is taken for a valid cookie",
		[]edit{{"cookie.go", "c.cookieHash(s.Seq-1, count, idx, bits)&0xffffff == cookie&0xffffff", "bits|1 != 0"}}},
	{"no-dsack", 40, "text received twice is not reported in a D-SACK block (RFC 2883)",
		[]edit{{"sack.go", "\tif t.opts.Has(OptSACKPermitted) && SeqLT(start, end) {\n\t\tt.dsack", "\tif false && SeqLT(start, end) {\n\t\tt.dsack"}}},
	{"cookie-no-sack", 43, "a cookie connection forgets SACK-permitted from the echoed timestamp",
		[]edit{{"cookie.go", "\t\tif bits&cookieSACK != 0 && !c.cfg.NoSACK {", "\t\tif false && bits&cookieSACK != 0 && !c.cfg.NoSACK {"}}},
	{"no-scoreboard", 40, "the SACK blocks of an ACK are never taken into the sender's scoreboard",
		[]edit{{"sack.go", "\t\t\tt.sacked.add(seqRange{b.Left, b.Right}, c.maxSACKed())\n", "\n"}}},
	{"rttm-stale-echo", 25, "an RTT sample is taken from a timestamp echo older than the flight it acknowledges (a stale or forged TSecr inflates the RTO)",
		[]edit{{"options.go", "if SeqGT(s.TSEcr, now) || SeqLT(s.TSEcr, tsClockAt(t.flightAt, t.tsOffset)) {", "if SeqGT(s.TSEcr, now) {"}}},
	{"rttm-future-echo", 25, "an RTT sample is taken from a timestamp echo ahead of the clock (a wrapped, huge sample)",
		[]edit{{"options.go", "if SeqGT(s.TSEcr, now) || SeqLT(s.TSEcr, tsClockAt(t.flightAt, t.tsOffset)) {", "if SeqLT(s.TSEcr, tsClockAt(t.flightAt, t.tsOffset)) {"}}},
	{"rttm-unweighted", 25, "timestamp RTT samples, one per ACK, are folded in with the full gains (RFC 7323 Appendix G)",
		[]edit{{"options.go", "(flight+2*smss-1)/(2*smss), c.cfg)", "1+0*flight*smss, c.cfg)"}}},
	{"rttm-off", 34, "with timestamps on, the RTT is still timed one segment per round trip (Karn) and echoes are ignored",
		[]edit{{"output.go", "\tcase t.opts.Has(OptTimestamps):\n", "\tcase false && t.opts.Has(OptTimestamps):\n"}}},
	{"rttm-flight-kept", 25, "a new flight does not restart the bound on echoes: one from an earlier flight gives a sample",
		[]edit{{"output.go", "\tif t.sndUna == t.sndNxt {\n\t\tt.flightAt = c.now\n\t}\n", ""}}},
	{"max-window-not-kept", 27, "MAX.SND.WND is not raised by window updates after the handshake (RFC 5961 5.2's lower bound stays too tight)",
		[]edit{{"tcb.go", "\t\tt.maxSndWnd = max(t.maxSndWnd, wnd)\n", "\n"}}},
	{"sack-in-seq-order", 40, "SACK blocks are reported in sequence order, not the most recently received first (RFC 2018 4)",
		[]edit{{"sack.go", "\tfor _, seq := range t.recent[:t.nRecent] {", "\tfor _, seq := range t.recent[:0] {"}}},
	{"synack-text-dropped", 26, "text on a SYN+ACK is not taken (RFC 9293 3.10.7.3 processes it)",
		[]edit{{"tcb.go", "c.view = segView{seq: s.Seq + 1, payload: s.Payload}", "c.view = segView{seq: s.Seq + 1}"}}},
	{"paws-forever", 39, "TS.Recent never goes invalid: after 24 days of silence the peer's timestamps, past half their range, are taken for old ones (RFC 7323 5.5)",
		[]edit{{"options.go", "func (c *Conn) tsRecentValid() bool { return c.now-c.t.tsRecentAt < pawsIdle }", "func (c *Conn) tsRecentValid() bool { return true }"}}},
	{"iss-below-old-snd-nxt", 16, "a new incarnation's ISS is the clock's alone, below the old connection's SND.NXT when it sent faster than the clock ran (RFC 1122 4.2.2.13)",
		[]edit{{"tcb.go", "\t\tiss = t.prevSndNxt\n", "\n"}}},
	{"quickack-one-more", 41, "one in-order segment more than QuickACKs is ACKed at once",
		[]edit{{"delack.go", "t.dataSegs <= uint32(c.cfg.quickACKs())", "t.dataSegs <= uint32(c.cfg.quickACKs())+1"}}},
	{"delack-timer-kept", 41, "an ACK sent does not disarm the delayed-ACK timer, which later sends an ACK with nothing new",
		[]edit{{"delack.go", "\tc.t.disarm(timerDelACK)\n", "\n"}}},
	{"gap-ack-delayed", 41, "text that fills a gap waits for a delayed ACK",
		[]edit{{"recv.go", "if gap || !c.delayACK() {", "if !c.delayACK() && gap == gap {"}}},
	{"ack-sent-twice", 41, "a pending ACK goes out twice: a second pure ACK in one call says nothing new",
		[]edit{{"output.go", "\t\t\tc.emit(t.sndNxt, t.rcvNxt, ACK, nil)\n", "\t\t\tc.emit(t.sndNxt, t.rcvNxt, ACK, nil)\n\t\t\tc.emit(t.sndNxt, t.rcvNxt, ACK, nil)\n"}}},
	{"keepalive-not-armed", 42, "SetKeepAlive on an idle connection arms no timer: no probe until some other event",
		[]edit{{"keepalive.go", "\tif c.state != StateClosed {\n\t\tc.armKeepalive()\n\t}\n", "\n"}}},
	{"keepalive-one-more-probe", 42, "a probe more than Count before giving up",
		[]edit{{"keepalive.go", "return c.t.kaProbes >= c.ka.Count", "return c.t.kaProbes > c.ka.Count"}}},
	{"cookie-ts-ahead", 39, "a cookie SYN+ACK's timestamp may be ahead of the clock, so the connection's later TSvals go back",
		[]edit{{"cookie.go", "\t\t\tts -= cookieTSBits + 1\n", "\n"}}},
	{"cookie-hash-no-bits", 43, "the cookie's hash leaves out the option bits its timestamp carries: an ACK echoing other bits is taken",
		[]edit{{"cookie.go", "\tmsg[tupleLen+9] = bits\n", "\n"}}},
	{"incarnation-ts-one-side", 16, "RFC 6191's timestamp test applied when only one of the connection and the SYN has timestamps",
		[]edit{{"tcb.go", "if c.t.opts.Has(OptTimestamps) && s.Opts.Has(OptTimestamps) {\n\t\treturn SeqGT(s.TSVal, c.t.tsRecent)", "if c.t.opts.Has(OptTimestamps) || s.Opts.Has(OptTimestamps) {\n\t\treturn SeqGT(s.TSVal, c.t.tsRecent)"}}},
	{"sack-four-beside-ts", 44, "four SACK blocks beside the timestamps option: 48 bytes of options",
		[]edit{{"options.go", "room = MaxSACKBlocks - 1 //", "room = MaxSACKBlocks //"}}},
	{"sack-one-block", 44, "a pure ACK reports one SACK block, not as many as fit",
		[]edit{{"sack.go", "\t\tif n < room {", "\t\tif n < min(room, 1) {"}}},
	{"sack-duplicate-blocks", 44, "a held range reported twice on one ACK (the most recent, then again in sequence order)",
		[]edit{{"sack.go", "if b.Left == r.start && b.Right == r.end {", "if b.Left == r.start && b.Right == r.end && n < 0 {"}}},
	{"sack-on-data", 44, "SACK blocks on data segments too",
		[]edit{{"options.go", "seg.Flags&ACK != 0 && len(seg.Payload) == 0 &&", "seg.Flags&ACK != 0 &&"}}},

	// Invariants 45-50: the congestion control machine (cc/) and the
	// TCB's use of it.
	{"syn-rexmit-full-window", 48, "a connection whose SYN was sent again still starts with the full initial window, not one segment (RFC 6298 5.7)",
		[]edit{{"congestion.go", "\tif t.synRexmitted {\n\t\tt.cc.LossWindow()\n\t}\n", "\n"}}},
	{"idle-no-restart", 48, "after an idle period the sender keeps the window it had: no restart window (RFC 5681 4.1)",
		[]edit{{"output.go", "\t\t\t\tc.ccIdle()\n", "\n"}}},
	{"sender-ignores-cwnd", 48, "the sender fills the peer's window whatever cwnd says",
		[]edit{{"output.go", "usable := min(t.sndUna+t.sndWnd-t.sndNxt, c.quota()) // U: usable window, within cwnd", "usable := t.sndUna + t.sndWnd - t.sndNxt"}}},
	{"quota-no-limited-transmit", 48, "the quota the TCB reports and uses ignores the duplicate ACKs of limited transmit",
		[]edit{{"congestion.go", "\treturn t.cc.Quota(inFlight, t.sndWnd)\n", "\treturn min(t.cc.Cwnd(), t.sndWnd) - min(t.cc.Cwnd(), t.sndWnd, inFlight)\n"}}},
	{"pipe-is-flight", 48, "RFC 6675 recovery counts FlightSize, lost segments included, instead of pipe: the quota it reports is not the RFC's",
		[]edit{{"congestion.go", "\tif c.holeRecovery() {\n\t\tinFlight = c.pipe()\n\t}\n", "\n"}}},
	{"resend-sacked", 35, "recovery resends from HighRxt whatever is not SACKed, lost or not (RFC 6675 NextSeg's rule 3 in place of rule 1): segments in flight are sent twice",
		[]edit{{"recovery.go", "\t\tif SeqLT(s, h.lostEnd) {\n\t\t\tstart, end, ok = s, h.lostEnd, true", "\t\tif SeqLT(s, h.end) {\n\t\t\tstart, end, ok = s, h.end, true"}}},
	{"holes-held-back", 35, "recovery never resends beyond the head: the other lost holes wait for the timeout",
		[]edit{{"output.go", "\t\t\tif c.holeRecovery() {\n\t\t\t\tc.repairHoles()\n\t\t\t}\n", "\n"}}},
	{"highrxt-lags", 35, "an ACK does not carry HighRxt along: it lags SND.UNA, and 2^31 bytes later compares as ahead of every hole",
		[]edit{{"output.go", "\tt.highRxt = seqMax(t.highRxt, ack)\n", "\n"}}},
	{"highrxt-ahead", 35, "a resend once the FIN is sent counts the FIN whether it rode along or not: HighRxt passes what was resent, skipping a byte of a lost hole",
		[]edit{{"recovery.go", "\t\tif t.finSent && start+n == t.finSeq {\n", "\t\tif t.finSent || start+n == t.finSeq {\n"}}},
	{"fast-recovery-uncounted", 35, "a fast retransmit is not counted: the operator's FastRecovery counter stays behind",
		[]edit{{"congestion.go", "\t\tc.count.FastRecovery++\n", "\n"}}},
	{"sack-loss-ignored", 35, "the scoreboard never declares the head lost: with SACK, fast retransmit waits for the third duplicate ACK (RFC 6675 5)",
		[]edit{{"congestion.go", "SACKLoss: dup && c.headLost()", "SACKLoss: false"}}},
	{"rto-not-told", 35, "a retransmission timeout is not passed to congestion control: no loss recovery, and duplicate ACKs of data sent before it start a fast retransmit (RFC 6582 3.2 step 2)",
		[]edit{{"output.go", "\t\tc.ccTimeout()\n", "\n"}}},
	{"cc-partial-deflates-all", 45, "NewReno's partial ACK deflates cwnd by everything ACKed, to zero",
		[]edit{{"cc/controller.go", "\tc.cwnd -= min(c.acked, c.cwnd-c.smss)\n", "\tc.cwnd -= min(c.acked, c.cwnd)\n"}}},
	{"cc-exit-to-avoidance", 45, "fast recovery always exits to congestion avoidance: a window deflated below ssthresh then grows a segment per round trip instead of slow-starting back",
		[]edit{{"cc/controller.go", "func (c *Controller) ExitsBelowSsthresh() bool { return c.exitWindow() < c.ssthresh }", "func (c *Controller) ExitsBelowSsthresh() bool { return false }"}}},
	{"cc-ssthresh-one-smss", 45, "a reduction's floor is one SMSS, not two",
		[]edit{{"cc/controller.go", "\treturn max(w, 2*c.smss)\n", "\treturn max(w, c.smss)\n"}}},
	{"cc-grows-unused-window", 46, "cwnd grows on every ACK, used or not: an application-limited sender's window inflates (RFC 7661)",
		[]edit{{"cc/controller.go", "func (c *Controller) CwndLimited() bool {\n", "func (c *Controller) CwndLimited() bool {\n\tif true {\n\t\treturn true\n\t}\n"}}},
	{"cc-dupack-grows", 46, "limited transmit grows cwnd by one SMSS per early duplicate ACK",
		[]edit{{"cc/controller.go", "func (c *Controller) LimitedTransmit() {}", "func (c *Controller) LimitedTransmit() { c.grow(c.smss) }"}}},
	{"cc-reduce-twice", 47, "the recovery point is ignored: duplicate ACKs of data sent before the last loss event start another reduction",
		[]edit{{"cc/controller.go", "\treturn !c.recoverSet || seqGT(c.in.SegAck-1, c.recover)\n", "\treturn true\n"}}},
	{"cc-rto-reduces-again", 47, "every RTO recomputes ssthresh, in recovery too, not only outside one",
		[]edit{{"cc/controller.go", "\tif c.state != StateLossRecovery && c.state != StateFastRecovery {\n\t\tc.ssthresh = c.reduced()", "\tif true {\n\t\tc.ssthresh = c.reduced()"}}},
	{"cc-rto-in-fast-recovery-reduces", 47, "a timeout in fast recovery sets ssthresh again from FlightSize, lost segments included: a second reduction in one loss event (and a raise)",
		[]edit{{"cc/controller.go", "\tif c.state != StateLossRecovery && c.state != StateFastRecovery {\n\t\tc.ssthresh = c.reduced()", "\tif c.state != StateLossRecovery {\n\t\tc.ssthresh = c.reduced()"}}},
	{"cc-cubic-beta-half", 47, "CUBIC reduces by 1/2 like Reno, not to 0.7",
		[]edit{{"cc/cubic.go", "\tcubicBetaNum = 7\n", "\tcubicBetaNum = 5\n"}}},
	{"cc-no-cwnd-limit", 48, "the quota ignores cwnd: the sender fills the peer's window",
		[]edit{{"cc/controller.go", "\tw := c.cwnd\n", "\tw := c.cwnd + sndWnd\n"}}},
	{"cc-limited-transmit-unbounded", 48, "limited transmit keeps adding a segment per duplicate ACK past the second",
		[]edit{{"cc/controller.go", "c.dupAcks > 0 && c.dupAcks < DupThresh {", "c.dupAcks > 0 {"}}},
	{"cc-step-wrong-target", 49, "the generated Step keeps slow start on its third duplicate ACK instead of entering FAST-RECOVERY",
		[]edit{{"cc/machine_gen.go", "\t\t\t\treturn StateSlowStart, RuleOpenDupack\n\t\t\t}\n\t\t\t// open_third_dupack (RFC 5681 3.2)\n\t\t\tif a.ThirdDupack() && a.CoversRecover() {\n\t\t\t\ta.CountDupack()\n\t\t\t\ta.EnterRecovery()\n\t\t\t\treturn StateFastRecovery,", "\t\t\t\treturn StateSlowStart, RuleOpenDupack\n\t\t\t}\n\t\t\t// open_third_dupack (RFC 5681 3.2)\n\t\t\tif a.ThirdDupack() && a.CoversRecover() {\n\t\t\t\ta.CountDupack()\n\t\t\t\ta.EnterRecovery()\n\t\t\t\treturn StateSlowStart,"}}},
	{"cc-additive-decrease", 51, "Reno decreases additively on a loss (two segments less), not by half: two flows never converge to a fair share",
		[]edit{{"cc/controller.go", "\t\tw = f / 2\n", "\t\tw = f - min(f, 2*c.smss)\n"}}},
	{"lost-again-not-noticed", 52, "a retransmission lost again waits for the timer: SACKs of text sent after it do not start a new pass",
		[]edit{{"tcb.go", "\tc.lostAgain()\n", "\n"}}},
	{"cc-abc-unbounded", 50, "slow start grows by all the bytes ACKed, without RFC 3465's L = 2",
		[]edit{{"cc/controller.go", "func (c *Controller) slowStartStep() uint32 { return min(c.acked, abcL*c.smss) }", "func (c *Controller) slowStartStep() uint32 { return c.acked }"}}},
	{"cc-reno-per-ack", 50, "Reno's congestion avoidance adds one SMSS per ACK, not per window",
		[]edit{{"cc/reno.go", "\tif c.bytesAcked >= c.cwnd {\n", "\tif c.bytesAcked > 0 {\n"}}},
	{"cc-cubic-no-cube", 50, "CUBIC's curve is quadratic",
		[]edit{{"cc/cubic.go", "\treturn cubicC*d*d*d + s.wMax\n", "\treturn cubicC*d*d + s.wMax\n"}}},
}

// plantedMutant builds the overlay of p.
func plantedMutant(root string, p planted) (Mutant, error) {
	pos := p.edits[0].file
	if !strings.Contains(pos, "/") {
		pos = machineDir + "/" + pos
	}
	m := Mutant{ID: "planted:" + p.name, Pos: pos, Desc: p.doc, Files: map[string][]byte{}, Tests: plantedTests[p.name]}
	for _, e := range p.edits {
		path := e.path(root)
		src, ok := m.Files[path]
		if !ok {
			var err error
			if src, err = os.ReadFile(path); err != nil {
				return m, err
			}
		}
		if n := bytes.Count(src, []byte(e.old)); n != 1 {
			return m, fmt.Errorf("planted bug %s: %q occurs %d times in %s, want once (the code changed: update planted.go)", p.name, e.old, n, e.file)
		}
		m.Files[path] = bytes.Replace(src, []byte(e.old), []byte(e.new), 1)
	}
	return m, nil
}

// plantedAlso are the other invariants that may catch a planted bug first:
// the suite runs its tests in order and reports the first failure, and a
// few bugs break two invariants at once.
var plantedAlso = map[string][]int{
	// Plain comparisons go wrong where sequence numbers cross 2^32: on
	// the handshake (5) or where the SACK scoreboard meets the wrap (40).
	"no-wrap": {40},
	// Text beyond the right edge taken whole: the segment is refused (26)
	// or, where it fits the buffer's room, taken past the edge advertised
	// (21), whichever a run meets first.
	"no-right-trim": {21},
	// A stale echo's sample breaks the RTO's bounds (25) or the count of
	// samples per round trip (34), whichever a run meets first.
	"rttm-flight-kept": {34},
	// Ignoring the recovery point breaks the Controller's count of
	// reductions (47) and the TCB's fast retransmits, which invariant 35
	// judges by RFC 6582's rule, whichever a run meets first.
	"cc-reduce-twice": {35},
	// Sequence order breaks the rule for the first block (40) and for
	// those after it (44).
	"sack-in-seq-order": {44},
	// Text on a SYN+ACK dropped: the peer's bytes arrive later, and the
	// first check to see the difference may be the ACKs (4) or the
	// text's place (26).
	"synack-text-dropped": {4},
	// A Step that stays in SLOW-START while its actions ran the fast
	// retransmit: the FastRecovery counter rises without the state
	// entering FAST-RECOVERY (35), unless the cross-check (49) sees it
	// first.
	"cc-step-wrong-target": {35},
}

// plantedPanics are the planted bugs that may also be caught by a panic
// of the machine itself before any invariant sees them.
var plantedPanics = map[string]bool{
	// Plain comparisons break the send ring's offsets where a run
	// crosses 2^32: a scenario's segment can make it slice out of range.
	"no-wrap": true,
}

// caughtBy reports whether why names p's invariant or one of its others.
func caughtBy(p planted, why string) bool {
	if why == "panic" && plantedPanics[p.name] {
		return true
	}
	for _, inv := range append([]int{p.invariant}, plantedAlso[p.name]...) {
		if why == fmt.Sprintf("invariant %d", inv) {
			return true
		}
	}
	return false
}

// runPlanted tests every planted bug, r.o.jobs at a time; each must be
// killed by its invariant. Results print in the table's order.
func runPlanted(w io.Writer, r *runner) int {
	lines := make([]string, len(plantedBugs))
	failed := make([]bool, len(plantedBugs))
	sem := make(chan struct{}, r.o.jobs)
	var wg sync.WaitGroup
	for i, p := range plantedBugs {
		if r.o.run != nil && !r.o.run.MatchString(p.name) {
			lines[i] = fmt.Sprintf("skipped  %-26s (not matched by -run)", p.name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			m, err := plantedMutant(r.root, p)
			if err != nil {
				lines[i], failed[i] = fmt.Sprintf("ERROR    %v", err), true
				return
			}
			res := r.test(m, i+1)
			want := fmt.Sprintf("invariant %d", p.invariant)
			switch {
			case res.verdict == killedMutant && caughtBy(p, res.why):
				lines[i] = fmt.Sprintf("caught   %-26s by the %s: %s  (%s)", p.name, res.by, res.why, p.doc)
			case res.verdict == killedMutant:
				lines[i], failed[i] = fmt.Sprintf("caught   %-26s by the %s: %s, not %s as documented  (%s)", p.name, res.by, res.why, want, p.doc), true
			default:
				lines[i], failed[i] = fmt.Sprintf("MISSED   %-26s %s: %s", p.name, res.verdict, p.doc), true
			}
		}()
	}
	wg.Wait()
	bad, tested := 0, 0
	for i, l := range lines {
		fmt.Fprintln(w, l)
		if failed[i] {
			bad++
		}
		if !strings.HasPrefix(l, "skipped") {
			tested++
		}
	}
	fmt.Fprintf(w, "planted: %d caught by their invariant of %d\n", tested-bad, tested)
	if bad > 0 {
		return 1
	}
	return 0
}
