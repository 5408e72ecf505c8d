package proptest

import (
	"errors"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges what a TCP must say, from RFC 9293 rather than from the
// spec's rows (so that a row that loses its action is caught): the RSTs
// that answer segments belonging to no connection (invariant 13), the RST
// of an ABORT and the errors of refused calls (30), the MSS a handshake
// sets (4), and the timers TIME-WAIT keeps (25).

// wantRSTReply returns the RST RFC 9293 3.10.7.1-3.10.7.4 sends for in,
// and whether one is due: in CLOSED for any segment but an RST; in LISTEN
// for one with ACK that made no connection; in SYN-SENT for an
// unacceptable ACK; in SYN-RECEIVED for an ACK that is not acceptable.
func wantRSTReply(r *simnet.Record) (machine.Segment, bool) {
	in, b := &r.In, &r.Before
	if r.Kind != simnet.Input || in.Flags.Has(machine.RST) || len(r.Steps) == 0 {
		return machine.Segment{}, false
	}
	ack := in.Flags.Has(machine.ACK)
	due := false
	switch r.From {
	case machine.StateClosed:
		due = true
	case machine.StateListen:
		due = ack && r.To == machine.StateListen
	// (A bad ACK that was taken instead is invariant 5's and 6's to judge.)
	case machine.StateSynSent:
		due = ack && !(machine.SeqLT(b.ISS, in.Ack) && machine.SeqLEQ(in.Ack, b.SndNxt)) && r.To == r.From
	case machine.StateSynReceived:
		due = ack && !in.Flags.Has(machine.SYN) && !(machine.SeqLT(b.SndUna, in.Ack) && machine.SeqLEQ(in.Ack, b.SndNxt)) && !droppedUnread(r) && r.To == r.From
	}
	if !due {
		return machine.Segment{}, false
	}
	if ack {
		return machine.Segment{Seq: in.Ack, Flags: machine.RST}, true
	}
	return machine.Segment{Seq: 0, Ack: in.Seq + in.Len(), Flags: machine.RST | machine.ACK}, true
}

// checkReplies runs the checks of this file on one record.
func (w *World) checkReplies(r *simnet.Record, g *flowGhost) {
	s, b, a := r.Side, &r.Before, &r.After
	// Invariant 13: the RST for a segment that belongs to no connection
	// (RFC 9293 3.10.7.1-3.10.7.4).
	if want, ok := wantRSTReply(r); ok {
		found := false
		for i := range r.Out {
			o := &r.Out[i]
			found = found || o.Flags == want.Flags && o.Seq == want.Seq && (!want.Flags.Has(machine.ACK) || o.Ack == want.Ack)
		}
		if !found {
			w.fail(13, "%v in %v got %s, which RFC 9293 3.10.7 answers with %s; sent %v",
				s, r.From, simnet.FormatSegment(&r.In), simnet.FormatSegment(&want), formatSegs(r.Out))
			return
		}
	}
	if r.Kind == simnet.Call {
		switch r.Call {
		case "abort":
			// Invariant 30: ABORT of a synchronized connection sends
			// <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5); in CLOSING,
			// LAST-ACK and TIME-WAIT it sends nothing.
			switch r.From {
			case machine.StateSynReceived, machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2, machine.StateCloseWait:
				if len(r.Out) != 1 || r.Out[0].Flags != machine.RST || r.Out[0].Seq != b.SndNxt {
					w.fail(30, "%v aborted in %v and sent %v; RFC 9293 3.10.5 sends <SEQ=SND.NXT %d><CTL=RST>", s, r.From, formatSegs(r.Out), b.SndNxt)
					return
				}
			case machine.StateClosing, machine.StateLastAck, machine.StateTimeWait:
				if len(r.Out) != 0 {
					w.fail(30, "%v aborted in %v and sent %v; RFC 9293 3.10.5 sends nothing there", s, r.From, formatSegs(r.Out))
					return
				}
			}
		case "write", "close":
			// Invariant 30: SEND and CLOSE after our FIN fail with
			// "connection closing" (RFC 9293 3.10.2, 3.10.4).
			switch r.From {
			case machine.StateFinWait1, machine.StateFinWait2, machine.StateClosing, machine.StateLastAck, machine.StateTimeWait:
				if !errors.Is(r.Err, machine.ErrClosing) && !(r.Call == "write" && r.Asked == 0) {
					w.fail(30, "%v: %s in %v returned %v, want %v", s, r.Call, r.From, r.Err, machine.ErrClosing)
					return
				}
			}
		}
	}
	for i := range r.Steps {
		// Invariant 30: a new incarnation out of TIME-WAIT starts with no
		// error of the old one.
		if r.Steps[i].Rule == machine.RuleTimeWaitRcvSynNew && r.ConnErr != nil && r.To == machine.StateSynReceived {
			w.fail(30, "%v opened a new incarnation from TIME-WAIT still reporting the old one's error %v", s, r.ConnErr)
			return
		}
	}
	// Invariant 25: TIME-WAIT keeps the 2MSL timer only.
	if r.To == machine.StateTimeWait && a.RexmtArmed {
		w.fail(25, "%v is in TIME-WAIT with the retransmission timer armed: 2MSL is the only timer left", s)
		return
	}
	// Invariant 4: the handshake sets the send MSS from the peer's SYN:
	// its MSS option (536 without one, RFC 9293 3.7.1) raised to
	// MinPeerMSS, at most ours, less the timestamps option when on.
	if o := &g.opt; o.synIn && !o.cookie && isSync(r.To) && a.MSS != 0 {
		cfg := w.net.Config(s)
		want := withTimestamps(uint32(learnedMSS(cfg, o.inMSS)), o.on(machine.OptTimestamps))
		if uint32(a.MSS) != want {
			w.fail(4, "%v's send MSS is %d; the peer's SYN offered %d (MinPeerMSS %d, ours %d, timestamps %v): want %d",
				s, a.MSS, o.inMSS, minPeerMSS(cfg), cfg.MSS, o.on(machine.OptTimestamps), want)
		}
	}
}
