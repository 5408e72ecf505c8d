package proptest

import (
	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges the TCP machine's sender against its congestion window
// (invariant 48): package cc's own properties check cwnd's arithmetic; here
// the question is whether the TCB sends within it.

// cwndRoom is what congestion control lets the sender have in flight,
// recomputed from the variables (not from Vars.Quota, which is what is
// judged): cwnd, plus one SMSS per early duplicate ACK outside recovery
// (limited transmit, RFC 3042), never more than the peer's window.
func cwndRoom(v *machine.Vars) uint32 {
	w := v.Cwnd
	inRecovery := v.CCState == cc.StateFastRecovery || v.CCState == cc.StateLossRecovery
	if !inRecovery && v.DupAcks > 0 && v.DupAcks < cc.DupThresh {
		w += uint32(v.DupAcks) * uint32(v.MSS)
	}
	return min(w, v.SndWnd)
}

// checkCongestionWindow is invariant 48 for the TCB: a call that sends new
// text leaves at most cwndRoom of text in flight (the FIN's one
// sequence number aside, and a one-byte probe of a zero window); the
// retransmissions recovery sends repeat what is in flight and add nothing.
// Vars.Quota, what output used, must be that room less the flight.
func (w *World) checkCongestionWindow(r *simnet.Record) {
	b, a := &r.Before, &r.After
	if !a.SynAcked || !hasSendSeq(r.To) {
		return
	}
	room := cwndRoom(a)
	flight := a.SndNxt - a.SndUna
	if a.FinSent && flight > 0 {
		flight-- // the FIN: no text
	}
	if want := room - min(room, a.SndNxt-a.SndUna); a.Quota != want {
		w.fail(48, "%v reports a send quota of %d; cwnd %d, %d duplicate ACKs in %v, SND.WND %d and %d in flight give %d",
			r.Side, a.Quota, a.Cwnd, a.DupAcks, a.CCState, a.SndWnd, a.SndNxt-a.SndUna, want)
		return
	}
	newText := false
	for i := range r.Out {
		o := &r.Out[i]
		newText = newText || len(o.Payload) > 0 && machine.SeqGT(o.Seq+uint32(len(o.Payload)), b.SndNxt)
	}
	if !b.SynAcked || !newText {
		return // no new text went out (a FIN alone may follow text sent under a larger cwnd)
	}
	if flight > room && !(flight == 1 && a.SndWnd == 0) {
		w.fail(48, "%v has %d bytes of text in flight after %v, beyond min(cwnd %d (+%d duplicate ACKs), SND.WND %d) = %d",
			r.Side, flight, describe(r), a.Cwnd, a.DupAcks, a.SndWnd, room)
	}
}
