package proptest

import (
	"slices"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges SACK (RFC 2018, RFC 2883) from the segments: what the
// blocks a receiver sends report (invariant 40), which blocks it chooses
// and in what order, and that every segment's options fit the TCP header
// (invariant 44).

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

// optionSpace is the TCP header's room for options: a data offset of at
// most 15 words less the 20-byte header (RFC 9293 3.1).
const optionSpace = 40

// optionBytes is how many bytes seg's options take on the wire, each
// padded to a 4-byte boundary with NOPs as senders lay them out (RFC 7323
// Appendix A): MSS 4, window scale 3+1, SACK-permitted 2+2, timestamps
// 10+2, and SACK 2+8 per block, +2.
func optionBytes(seg *machine.Segment) int {
	n := 0
	if seg.MSS != 0 {
		n += 4
	}
	if seg.Opts.Has(machine.OptWScale) {
		n += 4
	}
	if seg.Opts.Has(machine.OptSACKPermitted) {
		n += 4
	}
	if seg.Opts.Has(machine.OptTimestamps) {
		n += 12
	}
	if seg.NumSACK > 0 {
		n += 4 + 8*int(seg.NumSACK)
	}
	return n
}

// sackRoom is how many SACK blocks fit beside the other options of a
// pure ACK: four alone, three beside timestamps.
func sackRoom(seg *machine.Segment) int {
	free := optionSpace
	if seg.Opts.Has(machine.OptTimestamps) {
		free -= 12
	}
	return (free - 4) / 8
}

// sackGhost is the receive side's recently received out-of-order
// segments, most recent first, as the segments show them: RFC 2018 4 has
// their blocks reported first, most recent first.
type sackGhost struct {
	recent [sackRecent]uint32 // where each segment started
	n      int
}

// sackRecent is how many recent segments decide the order of the blocks:
// as many as one ACK can report.
const sackRecent = 4

// noteReceived records that text from seq on arrived out of order.
func (g *sackGhost) noteReceived(seq uint32) {
	copy(g.recent[1:], g.recent[:sackRecent-1])
	g.recent[0] = seq
	g.n = min(g.n+1, sackRecent)
}

// heldOutOfOrder reports whether r is an input whose text a side took out
// of order: text starting past RCV.NXT, inside the window and before any
// FIN held, on a segment a rule took with accept_text (it is held, or
// dropped when all ranges are in use).
func heldOutOfOrder(r *simnet.Record) bool {
	in, b := &r.In, &r.Before
	if r.Kind != simnet.Input || len(in.Payload) == 0 || in.Flags.Has(machine.RST) || in.Flags.Has(machine.SYN) ||
		r.From == machine.StateClosed || r.From == machine.StateListen || r.From == machine.StateSynSent {
		return false
	}
	if !machine.SeqGT(in.Seq, b.RcvNxt) || in.Seq-b.RcvNxt >= b.RcvWnd || b.PeerFinHeld && machine.SeqGEQ(in.Seq, b.PeerFinSeq) {
		return false // in order, or trimmed away: beyond the window or a FIN held
	}
	for i := range r.Steps {
		if does(r.Steps[i].Rule, "accept_text") {
			return true
		}
	}
	return false
}

// checkOptionSpace is invariant 44: every segment's options fit the TCP
// header's 40 bytes, and SACK blocks ride on pure ACKs only (a data
// segment's size never depends on them).
func (w *World) checkOptionSpace(r *simnet.Record) {
	for i := range r.Out {
		seg := &r.Out[i]
		if n := optionBytes(seg); n > optionSpace {
			w.fail(44, "%v sent %s with %d bytes of options; the TCP header holds %d (RFC 9293 3.1)", r.Side, simnet.FormatSegment(seg), n, optionSpace)
			return
		}
		if seg.NumSACK > 0 && (seg.Flags != machine.ACK || len(seg.Payload) > 0) {
			w.fail(44, "%v sent %d SACK blocks on %s: they ride on pure ACKs only", r.Side, seg.NumSACK, simnet.FormatSegment(seg))
			return
		}
	}
}

// checkSACKChoice is invariant 44: a pure ACK reports as many distinct
// blocks as fit (RFC 2018 4: "as many distinct SACK blocks as possible"),
// in the order RFC 2018 4 and RFC 2883 4 give: a D-SACK block first,
// then the blocks holding the most recently received segments, most
// recent first, then the other held ranges in sequence order.
func (w *World) checkSACKChoice(r *simnet.Record, g *flowGhost) {
	if heldOutOfOrder(r) {
		g.sack.noteReceived(r.In.Seq)
	}
	a := &r.After
	c := w.conn(r.Side)
	if !g.opt.on(machine.OptSACKPermitted) || !isSync(r.To) || c.Vars() != *a {
		return // later records of the move changed the Conn: its ranges are not this record's
	}
	// The held ranges as the blocks should list them.
	want := make([]machine.SACKBlock, 0, 8)
	n := 0
	add := func(b machine.SACKBlock) {
		for _, x := range want[:n] {
			if x == b {
				return
			}
		}
		want = append(want, b)
		n++
	}
	for _, seq := range g.sack.recent[:g.sack.n] {
		for i := range a.RcvHeldRanges {
			if s, e := c.HeldRange(i); machine.SeqLEQ(s, seq) && machine.SeqLT(seq, e) {
				add(machine.SACKBlock{Left: s, Right: e})
			}
		}
	}
	for i := range a.RcvHeldRanges {
		s, e := c.HeldRange(i)
		add(machine.SACKBlock{Left: s, Right: e})
	}
	in := &r.In
	for i := range r.Out {
		seg := &r.Out[i]
		if seg.Flags != machine.ACK || len(seg.Payload) > 0 {
			continue
		}
		got := seg.SACK[:seg.NumSACK]
		list := want[:n]
		// A first block that is not the expected one must be a D-SACK
		// block: text of this record's segment received before
		// (invariant 40 judges which), listed once.
		if len(got) > 0 && (n == 0 || got[0] != want[0]) && r.Kind == simnet.Input &&
			machine.SeqLEQ(in.Seq, got[0].Left) && machine.SeqLEQ(got[0].Right, in.Seq+uint32(len(in.Payload))) {
			d := got[0]
			got = got[1:]
			rest := make([]machine.SACKBlock, 0, len(list))
			for _, b := range list {
				if b != d {
					rest = append(rest, b)
				}
			}
			list = rest
			list = list[:min(len(list), sackRoom(seg)-1)]
		} else {
			list = list[:min(len(list), sackRoom(seg))]
		}
		if !slices.Equal(got, list) {
			w.fail(44, "%v sent %s with SACK blocks %v; holding %v, most recently received from %v, it must report %v (RFC 2018 4: as many distinct blocks as fit, the most recent first, then the rest in sequence order)",
				r.Side, simnet.FormatSegment(seg), seg.SACK[:seg.NumSACK], want[:n], g.sack.recent[:g.sack.n], list)
			return
		}
	}
}
