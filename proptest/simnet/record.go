package simnet

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Kind says what made a Conn run.
type Kind uint8

// Record kinds.
const (
	Call  Kind = iota // an application call
	Input             // a segment arrived
	Tick              // timers were due
)

func (k Kind) String() string {
	switch k {
	case Call:
		return "call"
	case Input:
		return "input"
	case Tick:
		return "tick"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Transition is one step of a Conn's machine, as its Observer saw it.
type Transition struct {
	From  machine.State
	Event machine.Event
	Rule  machine.Rule
	To    machine.State
}

// Record is one call into a Conn and everything it did.
type Record struct {
	Side     Side
	Kind     Kind
	Call     string          // for Call: listen, connect, write, read, close, abort
	Now      time.Duration   // the clock at the call
	In       machine.Segment // for Input: the segment (payload owned)
	Injected bool            // for Input: Inject, not the peer, sent it
	From, To machine.State   // the Conn's state before and after
	Before   machine.Vars    // RFC 9293 variables before
	After    machine.Vars    // and after
	Steps    []Transition    // every transition taken, in order
	Out      []machine.Segment
	Asked    int   // for Call write and read: the buffer's length
	N        int   // for Call: bytes written or read
	Err      error // for Call: the error returned
	// Deadline is the Conn's next timer after the call.
	Deadline time.Duration
	HasTimer bool
	// CountersBefore and Counters are Conn.Counters() before and after
	// the call.
	CountersBefore, Counters machine.Counters
	Readable                 int  // Conn.Readable() after the call
	PeerClosed               bool // Conn.PeerClosed() after the call
	ConnErr                  error
}

func (r *Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v@%v", r.Side, r.Kind, r.Now)
	switch r.Kind {
	case Call:
		fmt.Fprintf(&b, " %s", r.Call)
		if r.N != 0 {
			fmt.Fprintf(&b, " n=%d", r.N)
		}
		if r.Err != nil {
			fmt.Fprintf(&b, " err=%v", r.Err)
		}
	case Input:
		if r.Injected {
			b.WriteString(" injected")
		}
		fmt.Fprintf(&b, " %s", FormatSegment(&r.In))
	}
	fmt.Fprintf(&b, " %v->%v", r.From, r.To)
	for _, t := range r.Steps {
		fmt.Fprintf(&b, " [%v]", t.Rule)
	}
	for i := range r.Out {
		fmt.Fprintf(&b, " out:%s", FormatSegment(&r.Out[i]))
	}
	return b.String()
}

// FormatSegment renders a segment as "SYN+ACK seq=1 ack=2 win=10 len=3",
// then its options ("ws=2 sackOK ts=5/9 sack=10-20").
func FormatSegment(s *machine.Segment) string {
	var b strings.Builder
	b.WriteString(s.Flags.String())
	fmt.Fprintf(&b, " seq=%d", s.Seq)
	if s.Flags.Has(machine.ACK) {
		fmt.Fprintf(&b, " ack=%d", s.Ack)
	}
	fmt.Fprintf(&b, " win=%d", s.Window)
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, " len=%d", len(s.Payload))
	}
	if s.Opts.Has(machine.OptWScale) {
		fmt.Fprintf(&b, " ws=%d", s.WScale)
	}
	if s.Opts.Has(machine.OptSACKPermitted) {
		b.WriteString(" sackOK")
	}
	if s.Opts.Has(machine.OptTimestamps) {
		fmt.Fprintf(&b, " ts=%d/%d", s.TSVal, s.TSEcr)
	}
	for _, k := range s.SACK[:s.NumSACK] {
		fmt.Fprintf(&b, " sack=%d-%d", k.Left, k.Right)
	}
	return b.String()
}

// Records is what was recorded since the last ClearRecords (Options.Record).
// The records, their segments and payloads are reused after ClearRecords.
func (n *Net) Records() []Record { return n.records }

// ClearRecords forgets the records, keeping their storage.
func (n *Net) ClearRecords() {
	n.records = n.records[:0]
}

func (n *Net) begin(s Side, k Kind, call string) *Record {
	if !n.record {
		return nil
	}
	c := n.conn[s]
	if len(n.records) < cap(n.records) {
		n.records = n.records[:len(n.records)+1]
	} else {
		n.records = append(n.records, Record{})
	}
	r := &n.records[len(n.records)-1]
	steps, out := r.Steps[:0], r.Out[:0]
	*r = Record{Side: s, Kind: k, Call: call, Now: n.now, From: c.State(), Before: c.Vars(), Steps: steps, Out: out,
		CountersBefore: c.Counters()}
	n.cur = r
	return r
}

func (n *Net) end(s Side, r *Record, k int, err error) {
	n.cur = nil
	if r != nil {
		c := n.conn[s]
		r.To, r.After = c.State(), c.Vars()
		r.N, r.Err = k, err
		r.Deadline, r.HasTimer = c.NextDeadline()
		r.Readable, r.PeerClosed, r.ConnErr = c.Readable(), c.PeerClosed(), c.Err()
		r.Counters = c.Counters()
	}
	n.flush(s, r)
}
