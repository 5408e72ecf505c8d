package proptest

import "github.com/tcpfsm/tcpfsm/machine"

// vars is the part of machine.Vars the invariants read.
type vars struct {
	una, nxt, wnd, iss uint32 // SND.UNA, SND.NXT, SND.WND, ISS
	rcvNxt, rcvWnd     uint32 // RCV.NXT, RCV.WND
	irs                uint32 // IRS
}

func varsOf(v *machine.Vars) vars {
	return vars{
		una: v.SndUna, nxt: v.SndNxt, wnd: v.SndWnd, iss: v.ISS,
		rcvNxt: v.RcvNxt, rcvWnd: v.RcvWnd, irs: v.IRS,
	}
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
