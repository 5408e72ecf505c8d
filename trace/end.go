package trace

import (
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// end is one side of a connection as the capture shows it: its state in
// the generated machine and the TCB variables a capture can reconstruct.
// Sequence variables are in the end's own terms: snd* are the sequence
// numbers it sends, rcv* those it receives.
type end struct {
	addr    netip.AddrPort
	state   machine.State
	since   time.Time // when it entered state
	synSeen bool      // its SYN (or SYN+ACK) was seen: its options are known
	passive bool      // its open was passive (came from LISTEN)

	issSet bool
	iss    uint32 // its initial sequence number (the first seen, mid-connection)
	sndUna uint32 // oldest of its sequence numbers the peer has acknowledged
	sndNxt uint32 // one past the highest sequence number it has sent
	sndMax uint32 // the peer's largest window, in bytes (RFC 5961 MAX.SND.WND)

	rcvNxt uint32 // next sequence number it expects from the peer
	// rcvEdge is the right edge of the window it last advertised (ACK +
	// window): text beyond it is beyond the window.
	rcvEdge    uint32
	rcvEdgeSet bool
	// rcvSeen is one past the in-order text (and FIN) the capture saw go
	// to it. Its ACKs set rcvNxt back when they are older than that text
	// (a capture away from its end sees them late); the text is then in
	// flight, not lost, and a segment that follows it is in order.
	rcvSeen      uint32
	rcvSeenSet   bool
	inOrder      bool   // the capture sees its segments in the order it sent them (Options.At)
	lastAck      uint32 // the highest ACK number it has sent
	ackSent      bool
	lastAckTS    uint32 // the timestamp that ACK carried
	lastAckTSSet bool

	wscale   int8 // the shift its window scale option offered; -1: none
	scaleOn  bool // both SYNs carried window scale: its windows are shifted by wscale
	sackOK   bool // its SYN offered SACK-permitted
	tsOK     bool // its SYN carried timestamps
	tsRecent uint32
	tsSeen   bool

	finSent    bool
	finSeq     uint32 // its FIN's sequence number
	finAck     uint32 // the ACK its FIN carried
	finTS      uint32 // and the timestamp
	finTSSet   bool
	tsMax      uint32 // the newest timestamp it has sent
	tsMaxSet   bool
	rstSent    bool // it sent a RST, at rstSentSeq
	rstSentSeq uint32
	finRcvd    bool // the peer's FIN is accepted

	owe        owed         // replies the spec requires of it, not yet seen
	oweRule    machine.Rule // the rule that made the latest of them owed
	rstSeq     uint32       // the RST it owes: <SEQ=rstSeq>, or <SEQ=0><ACK=rstAck> if rstNoAck
	rstAck     uint32
	rstNoAck   bool
	lastIn     machine.Rule  // the rule its latest input fired
	lastInRst  bool          // that input was a RST
	lastInFrom machine.State // its state before that input
	dupAcks    int           // duplicate ACKs received in a row (for a retransmission's cause)
	sackedNew  bool          // the latest ACK it received SACKed new data

	// Its congestion control, as the second generated machine sees the
	// ACKs it receives and the timeouts its retransmissions show (CUBIC,
	// Linux's default; the capture does not say).
	cc      cc.Controller
	ccOn    bool
	ccRule  cc.Rule // the latest rule its ACKs or timeouts fired
	ccFired cc.Rule // the rule the segment being judged fired
	ccEnter cc.Rule // the rule that began its latest fast recovery
	gotDup  bool    // the segment being judged is a duplicate ACK to it
	mssOpt  uint16  // the MSS option of its SYN
	lastWin uint16  // the window field of the latest ACK it received
	rtoUna  uint32  // SND.UNA at its latest inferred timeout

	// Scratch for stepping its machine (receive.go, send.go).
	rx    rx
	probe probe

	// windowKnown: its window scale is known (both SYNs seen), so the
	// windows it advertises can be judged; false from a mid-connection
	// start.
	windowKnown bool
}

// owed is a set of replies an end owes its peer after an input.
type owed uint8

const (
	oweAck    owed = 1 << iota // an ACK (send_ack, accept_text, accept_fin, send_dupack, send_challenge_ack)
	oweRst                     // a RST (send_rst_reply)
	oweSynack                  // a SYN+ACK (send_synack, send_cookie_synack)
)

// window returns the window its segment s advertises, in bytes.
func (e *end) window(s *Segment) uint32 {
	w := uint32(s.Window)
	if e.scaleOn && s.Flags&machine.SYN == 0 && e.wscale > 0 {
		w <<= uint(e.wscale)
	}
	return w
}

// enter moves the end to state st at t.
func (e *end) enter(st machine.State, t time.Time) {
	if st != e.state {
		e.state, e.since = st, t
	}
}

// synchronized reports whether the end's state is one of RFC 9293's
// synchronized states.
func synchronized(s machine.State) bool {
	switch s {
	case machine.StateEstablished, machine.StateFinWait1, machine.StateFinWait2,
		machine.StateCloseWait, machine.StateClosing, machine.StateLastAck, machine.StateTimeWait:
		return true
	}
	return false
}
