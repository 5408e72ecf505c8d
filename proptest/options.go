package proptest

import (
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the TCP options (invariants 37-40 of docs/checking.md)
// from the segments alone: which options each SYN carried decides what is
// on, the window scale each side announced decides how its window fields
// read, and the timestamps seen decide TS.Recent.

// optGhost is what one side's SYNs said, and its TS.Recent as RFC 7323
// 4.3 keeps it.
type optGhost struct {
	synOut, synIn     bool         // this side sent its SYN (or SYN+ACK); took the peer's
	outOpts, inOpts   machine.Opts // the options on them
	outShift, inShift uint8        // their window scales
	inMSS             uint16       // the MSS option of the peer's SYN
	cookie            bool         // the connection came from a SYN cookie (cookies.go)

	tsValid   bool
	tsRecent  uint32 // TS.Recent, from the peer's segments
	lastAck   uint32 // Last.ACK.sent: the ACK field of this side's latest ACK
	lastValid bool
}

// on reports whether option x is on: both SYNs carried it.
func (o *optGhost) on(x machine.Opts) bool {
	return o.synOut && o.synIn && o.outOpts.Has(x) && o.inOpts.Has(x)
}

// sendShift is the shift this side applies to the windows it sends.
func (o *optGhost) sendShift() uint8 {
	if o.on(machine.OptWScale) {
		return o.outShift
	}
	return 0
}

// recvShift is the shift this side applies to the windows it receives.
func (o *optGhost) recvShift() uint8 {
	if o.on(machine.OptWScale) {
		return min(o.inShift, machine.MaxShift)
	}
	return 0
}

// outWindow is the window in bytes a segment this side sent announces.
func (o *optGhost) outWindow(s *machine.Segment) uint32 {
	if s.Flags.Has(machine.SYN) {
		return uint32(s.Window)
	}
	return uint32(s.Window) << o.sendShift()
}

// inWindow is the window in bytes a segment this side received announces.
func (o *optGhost) inWindow(s *machine.Segment) uint32 {
	if s.Flags.Has(machine.SYN) {
		return uint32(s.Window)
	}
	return uint32(s.Window) << o.recvShift()
}

// takesOptions reports the rules that run take_options on the peer's SYN.
func takesOptions(rule machine.Rule) bool {
	switch rule {
	case machine.RuleListenRcvSyn, machine.RuleSynSentRcvSyn, machine.RuleSynSentRcvSynack, machine.RuleTimeWaitRcvSynNew,
		machine.RuleListenRcvSynCookie:
		return true
	}
	return false
}

// minPeerMSS is Config.MinPeerMSS with its default.
func minPeerMSS(cfg *machine.Config) uint16 {
	if cfg.MinPeerMSS == 0 {
		return machine.DefaultMinPeerMSS
	}
	return cfg.MinPeerMSS
}

// learnedMSS is the send MSS a side with Config cfg takes from the MSS
// option of its peer's SYN: 536 without one (RFC 9293 3.7.1), raised to
// MinPeerMSS, at most its own.
func learnedMSS(cfg *machine.Config, peer uint16) uint16 {
	if peer == 0 {
		peer = machine.DefaultPeerMSS
	}
	return min(max(peer, minPeerMSS(cfg)), cfg.MSS)
}

// withTimestamps is the text a segment of an MSS of mss carries: less the
// 12 bytes of a timestamps option when ts, but not under half the MSS.
func withTimestamps(mss uint32, ts bool) uint32 {
	if ts {
		return max(mss-min(mss, 12), (mss+1)/2)
	}
	return mss
}

// cookieSYN reports whether the record answered a SYN with a cookie.
func cookieSYN(r *simnet.Record) bool {
	for i := range r.Steps {
		if r.Steps[i].Rule == machine.RuleListenRcvSynCookie {
			return true
		}
	}
	return false
}

// wantOffer is what a SYN from a side with Config cfg carries.
func wantOffer(cfg *machine.Config) machine.Opts {
	var o machine.Opts
	if !cfg.NoWindowScale {
		o |= machine.OptWScale
	}
	if !cfg.NoSACK {
		o |= machine.OptSACKPermitted
	}
	if !cfg.NoTimestamps {
		o |= machine.OptTimestamps
	}
	return o
}

// wantShift is the window scale a side with Config cfg offers: the
// smallest that covers RcvBuf, at least WindowShift, at most 14.
func wantShift(cfg *machine.Config) uint8 {
	s := min(cfg.WindowShift, machine.MaxShift)
	for s < machine.MaxShift && uint64(cfg.RcvBuf) > uint64(machine.MaxWindow)<<s {
		s++
	}
	return s
}

// checkOptions is invariants 37 (options only when offered) and 39
// (PAWS, TS.Recent and its echo), and keeps the ghost's view of the SYNs.
func (w *World) checkOptions(r *simnet.Record, g *flowGhost) {
	s := r.Side
	o := &g.opt
	cfg := w.net.Config(s)
	in := &r.In
	if r.Kind == simnet.Input {
		for i := range r.Steps {
			if takesOptions(r.Steps[i].Rule) {
				o.synIn, o.inOpts, o.inShift, o.inMSS = true, in.Opts, in.WScale, in.MSS
				o.tsValid, o.tsRecent = in.Opts.Has(machine.OptTimestamps), in.TSVal
			}
		}
		w.checkPAWS(r, g)
		if w.err != nil {
			return
		}
	}
	for i := range r.Out {
		seg := &r.Out[i]
		if seg.Flags.Has(machine.RST) {
			if seg.Opts != 0 || seg.NumSACK != 0 {
				w.fail(37, "%v sent an RST with options %v and %d SACK blocks (%s)", s, seg.Opts, seg.NumSACK, simnet.FormatSegment(seg))
				return
			}
			continue
		}
		offer := wantOffer(cfg)
		switch {
		case seg.Flags.Has(machine.SYN) && !seg.Flags.Has(machine.ACK):
			if seg.Opts != offer {
				w.fail(37, "%v's SYN carries options %v; its Config offers %v (%s)", s, seg.Opts, offer, simnet.FormatSegment(seg))
				return
			}
			o.synOut, o.outOpts, o.outShift = true, seg.Opts, seg.WScale
			if want := wantShift(cfg); seg.Opts.Has(machine.OptWScale) && seg.WScale != want {
				w.fail(38, "%v's SYN offers window scale %d; RcvBuf %d and WindowShift %d call for %d (RFC 7323 2.3)", s, seg.WScale, cfg.RcvBuf, cfg.WindowShift, want)
				return
			}
		case seg.Flags.Has(machine.SYN):
			if !o.synIn {
				w.fail(37, "%v sent a SYN+ACK before taking the peer's SYN (%s)", s, simnet.FormatSegment(seg))
				return
			}
			want := offer & o.inOpts
			if cookieSYN(r) && !want.Has(machine.OptTimestamps) {
				want = 0 // a cookie carries WS and SACK-permitted in the timestamp: without one, neither
			}
			if seg.Opts != want {
				w.fail(37, "%v's SYN+ACK carries options %v; the peer's SYN offered %v and its Config allows %v, so it must carry exactly %v (RFC 7323 2.2, 3.2; RFC 2018 2)",
					s, seg.Opts, o.inOpts, offer, want)
				return
			}
			o.synOut, o.outOpts, o.outShift = true, seg.Opts, seg.WScale
		default:
			if o.on(machine.OptTimestamps) != seg.Opts.Has(machine.OptTimestamps) || seg.Opts&^machine.OptTimestamps != 0 {
				w.fail(37, "%v sent %s with options %v; timestamps are on: %v, and WS and SACK-permitted belong on SYNs only",
					s, simnet.FormatSegment(seg), seg.Opts, o.on(machine.OptTimestamps))
				return
			}
			if seg.NumSACK > 0 && (!o.on(machine.OptSACKPermitted) || !seg.Flags.Has(machine.ACK)) {
				w.fail(37, "%v sent %d SACK blocks on %s, but SACK is not on (both SYNs must carry SACK-permitted)", s, seg.NumSACK, simnet.FormatSegment(seg))
				return
			}
		}
		if seg.Opts.Has(machine.OptTimestamps) && seg.Flags.Has(machine.ACK) && o.tsValid && seg.TSEcr != o.tsRecent {
			w.fail(39, "%v echoed TSecr %d on %s; TS.Recent, from the peer's timestamps, is %d (RFC 7323 4.3)",
				s, seg.TSEcr, simnet.FormatSegment(seg), o.tsRecent)
			return
		}
		if seg.Flags.Has(machine.ACK) {
			o.lastAck, o.lastValid = seg.Ack, true
		}
	}
	w.checkSACKBlocks(r, g)
}

// checkPAWS is invariant 39: with timestamps on, a segment (not RST) whose
// timestamp is older than TS.Recent is dropped and ACKed (RFC 7323 5.3
// R1), one that is not is never taken for an old duplicate, and TS.Recent
// follows RFC 7323 4.3.
func (w *World) checkPAWS(r *simnet.Record, g *flowGhost) {
	o := &g.opt
	in := &r.In
	b, a := &r.Before, &r.After
	if !isSync(r.From) || !o.on(machine.OptTimestamps) || !o.tsValid || in.Flags.Has(machine.RST) {
		return
	}
	paws := false
	for i := range r.Steps {
		paws = paws || r.Steps[i].Rule == machine.RuleSyncRcvPaws
	}
	old := in.Opts.Has(machine.OptTimestamps) && machine.SeqLT(in.TSVal, o.tsRecent)
	// In TIME-WAIT a SYN meets the incarnation test (RFC 6191) and the
	// peer's FIN sent again is recognized before PAWS.
	exempt := r.From == machine.StateTimeWait && (in.Flags.Has(machine.SYN) && !in.Flags.Has(machine.ACK) ||
		in.Flags.Has(machine.FIN|machine.ACK) && !in.Flags.Has(machine.SYN) && in.Seq+in.Len() == b.RcvNxt)
	if in.Flags.Has(machine.SYN) {
		return // a SYN in a synchronized state never updates TS.Recent
	}
	switch {
	case exempt:
	case old && !paws:
		w.fail(39, "%v took %s, whose timestamp %d is older than TS.Recent %d, by %v: PAWS drops it (RFC 7323 5.3 R1)",
			r.Side, simnet.FormatSegment(in), in.TSVal, o.tsRecent, stepRules(r))
		return
	case paws && !old:
		w.fail(39, "%v took %s, timestamp %d, for an old duplicate (TS.Recent %d)", r.Side, simnet.FormatSegment(in), in.TSVal, o.tsRecent)
		return
	case paws && (a.RcvNxt != b.RcvNxt || a.SndUna != b.SndUna || r.To != r.From):
		w.fail(39, "%v dropped %s by PAWS but it moved RCV.NXT %d->%d, SND.UNA %d->%d, state %v->%v",
			r.Side, simnet.FormatSegment(in), b.RcvNxt, a.RcvNxt, b.SndUna, a.SndUna, r.From, r.To)
		return
	case paws && !b.ACKBudgetSpent && !hasAck(r.Out, b.RcvNxt):
		w.fail(39, "%v dropped %s by PAWS without the ACK RFC 7323 5.3 R1 sends", r.Side, simnet.FormatSegment(in))
		return
	}
	// RFC 7323 4.3: an acceptable segment no older than TS.Recent that
	// starts at or before the ACK last sent updates TS.Recent.
	if !paws && in.Opts.Has(machine.OptTimestamps) && !old && o.lastValid && machine.SeqLEQ(in.Seq, o.lastAck) && acceptedAny(r) {
		o.tsRecent = in.TSVal
	}
}

// acceptedAny reports whether the record's segment passed the sequence
// test (its rule is not one for unacceptable segments or RSTs).
func acceptedAny(r *simnet.Record) bool {
	for i := range r.Steps {
		switch r.Steps[i].Rule {
		case machine.RuleSyncRcvUnacceptable, machine.RuleSyncRcvPaws, machine.RuleNone:
			return false
		}
	}
	return len(r.Steps) > 0
}

// checkSACKBlocks is invariant 40 (RFC 2018 4, RFC 2883): every SACK block
// reports text this side holds beyond RCV.NXT, except that the first may
// be a D-SACK block of text received twice; an ACK sent for an
// out-of-order segment reports, first (after any D-SACK block), the block
// holding it.
func (w *World) checkSACKBlocks(r *simnet.Record, g *flowGhost) {
	a := &r.After
	c := w.conn(r.Side)
	if cv := c.Vars(); cv != *a {
		return // later records of the move changed the Conn: its ranges are not this record's
	}
	// The scoreboard keeps only what lies beyond SND.UNA and was sent.
	for i := 0; i < a.SACKedRanges; i++ {
		if s, e := c.SACKed(i); machine.SeqLT(s, a.SndUna) || !machine.SeqLT(s, e) || machine.SeqGT(e, a.SndNxt) {
			w.fail(40, "%v's SACK scoreboard holds [%d, %d), outside [SND.UNA %d, SND.NXT %d]", r.Side, s, e, a.SndUna, a.SndNxt)
			return
		}
	}
	// A valid block the peer reports (within (SND.UNA, SND.NXT], on an
	// ACK in range) is on the scoreboard afterwards, unless all 16 ranges
	// are taken.
	if in := &r.In; r.Kind == simnet.Input && g.opt.on(machine.OptSACKPermitted) && acksData(r.From) && acksData(r.To) &&
		!droppedUnread(r) && !in.Flags.Has(machine.RST) && !in.Flags.Has(machine.SYN) && ackInRange(&r.Before, in.Ack) && a.SACKedRanges < 16 {
		for _, blk := range in.SACK[:in.NumSACK] {
			if !machine.SeqLT(a.SndUna, blk.Left) || !machine.SeqLT(blk.Left, blk.Right) || machine.SeqGT(blk.Right, r.Before.SndNxt) {
				continue
			}
			covered := false
			for i := 0; i < a.SACKedRanges; i++ {
				if s, e := c.SACKed(i); machine.SeqLEQ(s, blk.Left) && machine.SeqLEQ(blk.Right, e) {
					covered = true
				}
			}
			if !covered {
				w.fail(40, "%v was told SACK block [%d, %d) by %s but its scoreboard does not hold it", r.Side, blk.Left, blk.Right, simnet.FormatSegment(in))
				return
			}
		}
	}
	for i := range r.Out {
		seg := &r.Out[i]
		for j, blk := range seg.SACK[:seg.NumSACK] {
			if !machine.SeqLT(blk.Left, blk.Right) {
				w.fail(40, "%v sent an empty or inverted SACK block [%d, %d) (%s)", r.Side, blk.Left, blk.Right, simnet.FormatSegment(seg))
				return
			}
			// Held ranges only grow within a record, so a block sent
			// before later text arrived lies within one.
			held := machine.SeqLT(seg.Ack, blk.Left) && c.Holds(blk.Left, blk.Right)
			dsack := j == 0 && (machine.SeqLEQ(blk.Right, seg.Ack) || c.Holds(blk.Left, blk.Right))
			if !held && !dsack {
				w.fail(40, "%v reported SACK block %d [%d, %d) with ACK %d, but holds no such range beyond RCV.NXT (held to %d) and it is no D-SACK block (%s)",
					r.Side, j, blk.Left, blk.Right, seg.Ack, a.RcvHeldEnd, simnet.FormatSegment(seg))
				return
			}
		}
	}
	in := &r.In
	// RFC 2883 4: text received again is reported in a D-SACK block,
	// first, on the ACK that answers it.
	if b := &r.Before; r.Kind == simnet.Input && g.opt.on(machine.OptSACKPermitted) && len(in.Payload) > 0 &&
		r.From >= machine.StateSynReceived && r.From <= machine.StateLastAck && len(r.Steps) > 0 &&
		!in.Flags.Has(machine.RST) && !in.Flags.Has(machine.SYN) && machine.SeqLT(in.Seq, b.RcvNxt) {
		rule := r.Steps[0].Rule
		due := rule != machine.RuleSyncRcvPaws && rule != machine.RuleSyncRcvBadAck && !b.ACKBudgetSpent
		if rule != machine.RuleSyncRcvUnacceptable {
			due = due && ackInRange(b, in.Ack) && b.SynAcked
		}
		end := in.Seq + uint32(len(in.Payload))
		if machine.SeqGT(end, b.RcvNxt) {
			end = b.RcvNxt
		}
		if due {
			var ack *machine.Segment
			for i := len(r.Out) - 1; i >= 0 && ack == nil; i-- {
				if r.Out[i].Flags == machine.ACK && len(r.Out[i].Payload) == 0 {
					ack = &r.Out[i]
				}
			}
			if ack == nil || ack.NumSACK == 0 || ack.SACK[0] != (machine.SACKBlock{Left: in.Seq, Right: end}) {
				w.fail(40, "%v got text it had received before (%s, RCV.NXT %d) and did not report [%d, %d) in a D-SACK block first (RFC 2883 4): %v",
					r.Side, simnet.FormatSegment(in), b.RcvNxt, in.Seq, end, formatSegs(r.Out))
				return
			}
		}
	}
	// The block with the segment just held comes first.
	if r.Kind != simnet.Input || !g.opt.on(machine.OptSACKPermitted) || len(in.Payload) == 0 || !isSync(r.To) || droppedUnread(r) {
		return
	}
	start := in.Seq
	if machine.SeqLEQ(start, a.RcvNxt) || !c.Holds(start, start+1) {
		return // in order, or not held
	}
	// The last pure ACK the record sent (SACK blocks ride on pure ACKs;
	// one sent while the ACK was processed may precede the text).
	for i := len(r.Out) - 1; i >= 0; i-- {
		seg := &r.Out[i]
		if seg.Flags != machine.ACK || len(seg.Payload) > 0 {
			continue
		}
		k := 0
		if seg.NumSACK > 1 && machine.SeqLEQ(seg.SACK[0].Right, seg.Ack) {
			k = 1 // after a D-SACK block
		}
		if int(seg.NumSACK) <= k || !machine.SeqLEQ(seg.SACK[k].Left, start) || !machine.SeqLT(start, seg.SACK[k].Right) {
			w.fail(40, "%v held %s out of order but its ACK %s does not report the block holding it first (RFC 2018 4)",
				r.Side, simnet.FormatSegment(in), simnet.FormatSegment(seg))
		}
		return
	}
	if !a.ACKBudgetSpent {
		w.fail(40, "%v held %s out of order and sent no pure ACK with SACK blocks (%v)", r.Side, simnet.FormatSegment(in), formatSegs(r.Out))
	}
}
