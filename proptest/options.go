package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the TCP options (invariants 37-39 of docs/checking.md)
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

	tsValid    bool
	tsRecent   uint32        // TS.Recent, from the peer's segments
	tsRecentAt time.Duration // when it was last set
	lastAck    uint32        // Last.ACK.sent: the ACK field of this side's latest ACK
	lastValid  bool

	synWnd uint32 // the window of this side's SYN (no ACK): it starts at the peer's ISN+1

	tsOutValid bool
	tsOut      uint32        // the latest TSval this side sent on the connection
	tsOutAt    time.Duration // and when
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
		return min(o.inShift, rfcMaxShift)
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

// Figures the option checks take from the RFCs and docs, not from
// machine, so that a change there shows.
const (
	rfcMaxShift       = 14  // the largest window scale; a larger one is taken as 14 (RFC 7323 2.3)
	rfcDefaultMSS     = 536 // the MSS without an MSS option (RFC 9293 3.7.1)
	defaultMinPeerMSS = 216 // Config.MinPeerMSS's default (FreeBSD's floor)
)

// minPeerMSS is Config.MinPeerMSS with its default.
func minPeerMSS(cfg *machine.Config) uint16 {
	if cfg.MinPeerMSS == 0 {
		return defaultMinPeerMSS
	}
	return cfg.MinPeerMSS
}

// learnedMSS is the send MSS a side with Config cfg takes from the MSS
// option of its peer's SYN: 536 without one (RFC 9293 3.7.1), raised to
// MinPeerMSS, at most its own.
func learnedMSS(cfg *machine.Config, peer uint16) uint16 {
	if peer == 0 {
		peer = rfcDefaultMSS
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
	s := min(cfg.WindowShift, rfcMaxShift)
	for s < rfcMaxShift && uint64(cfg.RcvBuf) > uint64(machine.MaxWindow)<<s {
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
				o.tsValid, o.tsRecent, o.tsRecentAt = in.Opts.Has(machine.OptTimestamps), in.TSVal, r.Now
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
			o.synOut, o.outOpts, o.outShift, o.synWnd = true, seg.Opts, seg.WScale, uint32(seg.Window)
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
			if want := wantShift(cfg); seg.Opts.Has(machine.OptWScale) && seg.WScale != want {
				w.fail(38, "%v's SYN+ACK offers window scale %d; RcvBuf %d and WindowShift %d call for %d (RFC 7323 2.3)", s, seg.WScale, cfg.RcvBuf, cfg.WindowShift, want)
				return
			}
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
		// RFC 7323 5.4: the timestamp clock is monotone, so the TSvals
		// of one side's connection never decrease (within half their
		// range: after weeks of silence they may have wrapped), from
		// its SYN or SYN+ACK on, a cookie's SYN+ACK included (its
		// baseline is set when the cookie makes the connection).
		if seg.Opts.Has(machine.OptTimestamps) && !cookieSYN(r) {
			if o.tsOutValid && r.Now-o.tsOutAt < rfcPAWSIdle && machine.SeqLT(seg.TSVal, o.tsOut) {
				w.fail(39, "%v sent TSval %d on %s after TSval %d at %v: its timestamp clock went back (RFC 7323 5.4)",
					s, seg.TSVal, simnet.FormatSegment(seg), o.tsOut, o.tsOutAt)
				return
			}
			o.tsOutValid, o.tsOut, o.tsOutAt = true, seg.TSVal, r.Now
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
	if w.checkOptionSpace(r); w.err != nil {
		return
	}
	if w.checkSACKBlocks(r, g); w.err != nil {
		return
	}
	w.checkSACKChoice(r, g)
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
	// RFC 7323 5.5: after 24 days without an update TS.Recent is invalid
	// (the peer's clock may have run half its range since): a segment is
	// not old by it, and updates it.
	old := in.Opts.Has(machine.OptTimestamps) && machine.SeqLT(in.TSVal, o.tsRecent) && r.Now-o.tsRecentAt < rfcPAWSIdle
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
		o.tsRecent, o.tsRecentAt = in.TSVal, r.Now
	}
}

// rfcPAWSIdle is how long TS.Recent stays valid without an update (RFC
// 7323 5.5: 24 days).
const rfcPAWSIdle = 24 * 24 * time.Hour

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
