package proptest

import (
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// vars is the part of machine.Vars the invariants read.
type vars struct {
	una, nxt, wnd, iss uint32 // SND.UNA, SND.NXT, SND.WND, ISS
	rcvNxt, rcvWnd     uint32 // RCV.NXT, RCV.WND
	irs                uint32 // IRS
	wndField           uint16 // SND.WND as the peer's window field would carry it (scaled by its shift)
}

func varsOf(v *machine.Vars) vars {
	return vars{
		una: v.SndUna, nxt: v.SndNxt, wnd: v.SndWnd, iss: v.ISS,
		rcvNxt: v.RcvNxt, rcvWnd: v.RcvWnd, irs: v.IRS,
		wndField: uint16(min(v.SndWnd>>v.SndShift, machine.MaxWindow)),
	}
}

// droppedUnread reports an input record whose segment was dropped before
// its ACK or text were looked at: by the sequence test or by PAWS.
func droppedUnread(r *simnet.Record) bool {
	if len(r.Steps) == 0 {
		return false
	}
	rule := r.Steps[0].Rule
	return rule == machine.RuleSyncRcvUnacceptable || rule == machine.RuleSyncRcvPaws
}

// ackInRange is RFC 5961 5.2's ACK test as the machine applies it in
// ESTABLISHED .. LAST-ACK: SND.UNA - MAX.SND.WND =< ack =< SND.NXT, and,
// while the SYN is unacknowledged (a CLOSE in SYN-RECEIVED), ack > SND.UNA.
func ackInRange(v *machine.Vars, ack uint32) bool {
	return machine.SeqLEQ(v.SndUna-v.MaxSndWnd, ack) && machine.SeqLEQ(ack, v.SndNxt) &&
		(v.SynAcked || machine.SeqLT(v.SndUna, ack))
}

// States in which the send sequence variables are defined.
func hasSendSeq(s machine.State) bool {
	return s != machine.StateClosed && s != machine.StateListen
}

// isSync reports a synchronized state (SYN-RECEIVED .. TIME-WAIT): the
// receive sequence variables are defined.
func isSync(s machine.State) bool {
	return s >= machine.StateSynReceived
}

// acksData reports a state in which ACKs are processed against SND.UNA and
// SND.NXT (RFC 5961 5.2): ESTABLISHED .. LAST-ACK.
func acksData(s machine.State) bool {
	return s >= machine.StateEstablished && s <= machine.StateLastAck
}

// seqInWindow reports start <= x < start+size modulo 2^32: RFC 9293's
// window test, written here rather than taken from machine, so that a bug
// in machine.SeqInWindow cannot hide from the checks that use it.
func seqInWindow(x, start, size uint32) bool { return x-start < size }
