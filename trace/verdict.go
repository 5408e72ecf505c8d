package trace

import (
	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// Verdict is what the spec says of one segment: the rule that explains it
// on each side and both ends' states after it.
type Verdict struct {
	Seg  *Segment
	Conn int // the connection's number, 1-based, in order of first segment
	// Dir is 0 when the segment goes from the connection's first end (the
	// one that sent its first segment: the opener, when the capture saw
	// the SYN) to the second, 1 the other way.
	Dir int

	// Send explains the segment as an output of the sender's machine:
	// the rule whose action sent it, fired by an earlier input (a reply)
	// or by a hidden event (a user call or a timer the capture cannot
	// show, named in Hidden).
	Send   machine.Rule
	Hidden machine.Event // the hidden event that fired Send; HiddenNone if a reply
	// Recv is the rule the segment fires at the receiver, for Event.
	Recv  machine.Event
	RecvR machine.Rule

	// CC is the congestion control rule the segment fired: at the
	// receiver of an ACK (the data's sender), or behind a retransmission
	// (fast retransmit, a timeout); CCStates are both ends' congestion
	// states after it.
	CC       cc.Rule
	CCStates [2]cc.State

	States [2]machine.State // both ends' states after the segment (end 0, end 1)
	Before [2]machine.State // and before it
	ISS    [2]uint32        // each end's initial sequence number (the first seen, mid-connection), for relative numbers
	Kind   Kind             // what else the segment is: a retransmission, a keepalive, ...

	Deviation *Deviation // nil when the spec explains the segment
}

// HiddenNone marks a segment sent as a reply to an earlier input.
const HiddenNone = machine.Event(255)

// Deviation is a segment no rule explains.
type Deviation struct {
	Side     int    // the end that deviated: 0 or 1 (Verdict.Dir for the sender)
	Expected string // the rule (or action) the spec expected there
	RFC      string // its section
	Why      string // what is wrong, in words
}

// Kind marks what a segment is beyond its rule, for the reports.
type Kind uint16

const (
	KindRetransmit     Kind = 1 << iota // text, SYN or FIN sent again
	KindFastRetransmit                  // ... after three duplicate ACKs or a SACK (RFC 5681 3.2, RFC 6675)
	KindKeepalive                       // a keepalive probe (SEQ = SND.NXT - 1)
	KindZeroWindow                      // advertises a zero window
	KindWindowProbe                     // one byte into a zero window
	KindChallengeAck                    // an ACK the spec sends to challenge (RFC 5961)
	KindGap                             // starts beyond what the sender was seen to send: segments missing from the capture
	KindOffload                         // its checksum does not verify: checksum offload on the capturing host
	KindCookie                          // a SYN+ACK carrying a SYN cookie
	KindDupAck                          // a duplicate ACK
	KindReordered                       // its ACK is below one its sender sent before: reordered on the way to the capture point
	KindUnseenCopy                      // a RST answering a copy of one of the peer's segments that the network duplicated or delayed after the capture point
	KindInputLost                       // its sender acts as if the peer's segment that closed it never came: lost after the capture point
)

var kindNames = [...]string{"retransmit", "fast-retransmit", "keepalive", "zero-window", "window-probe", "challenge-ack", "gap", "checksum-offload", "syn-cookie", "dup-ack", "reordered", "unseen-copy", "input-lost"}

// Names returns the kinds set in k.
func (k Kind) Names() []string {
	var out []string
	for i, n := range kindNames {
		if k&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// ruleRFC returns a rule's RFC section ("" for RuleNone).
func ruleRFC(r machine.Rule) string {
	if r == machine.RuleNone {
		return ""
	}
	return r.Info().RFC
}
