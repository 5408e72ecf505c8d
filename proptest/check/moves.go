package check

import (
	"fmt"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// MoveKind is what a move does.
type MoveKind uint8

// Moves.
const (
	MoveConnect   MoveKind = iota + 1 // the application's active OPEN
	MoveListen                        // passive OPEN
	MoveWrite                         // SEND of the next bytes of the application's data
	MoveRead                          // RECEIVE of what is readable
	MoveClose                         // CLOSE
	MoveDeliver                       // the network delivers a segment in flight
	MoveDrop                          // the network loses one
	MoveDuplicate                     // the network duplicates one
	MoveTimer                         // the side's next timer fires
)

// Move is one step of the composed system.
type Move struct {
	Kind  MoveKind
	Side  simnet.Side // the application's side, the timer's side, or the segment's sender
	Index uint8       // the segment's position in its direction's queue
}

func (m Move) String() string {
	switch m.Kind {
	case MoveConnect:
		return m.Side.String() + " connect"
	case MoveListen:
		return m.Side.String() + " listen"
	case MoveWrite:
		return m.Side.String() + " write"
	case MoveRead:
		return m.Side.String() + " read"
	case MoveClose:
		return m.Side.String() + " close"
	case MoveDeliver:
		return fmt.Sprintf("deliver %v->%v #%d", m.Side, m.Side.Peer(), m.Index)
	case MoveDrop:
		return fmt.Sprintf("drop %v->%v #%d", m.Side, m.Side.Peer(), m.Index)
	case MoveDuplicate:
		return fmt.Sprintf("duplicate %v->%v #%d", m.Side, m.Side.Peer(), m.Index)
	case MoveTimer:
		return m.Side.String() + " timer"
	}
	return fmt.Sprintf("Move(%d)", m.Kind)
}

var sides = [...]simnet.Side{simnet.A, simnet.B}

// enumerate appends the moves possible in w's state to out, in a fixed
// order: applications (A, then B), then the network, then timers.
func enumerate(w *proptest.World, o *Options, out []Move) []Move {
	for _, s := range sides {
		if !w.Opened(s) {
			// A opens actively; B passively or actively (simultaneous
			// open).
			out = append(out, Move{Kind: MoveConnect, Side: s})
			if s == simnet.B {
				out = append(out, Move{Kind: MoveListen, Side: s})
			}
			continue
		}
		if written(w, s) < o.Writes*o.WriteLen && w.Writable(s) > 0 {
			out = append(out, Move{Kind: MoveWrite, Side: s})
		}
		if w.Readable(s) {
			out = append(out, Move{Kind: MoveRead, Side: s})
		}
		if !w.Closed(s) && w.State(s) != machine.StateClosed {
			out = append(out, Move{Kind: MoveClose, Side: s})
		}
	}
	net := w.Net()
	for _, s := range sides {
		n := len(net.Link(s))
		if n == 0 {
			continue
		}
		if o.Reorder {
			for i := 0; i < n; i++ {
				out = append(out, Move{Kind: MoveDeliver, Side: s, Index: uint8(i)})
			}
		} else {
			out = append(out, Move{Kind: MoveDeliver, Side: s})
		}
		if o.Loss {
			for i := 0; i < n; i++ {
				out = append(out, Move{Kind: MoveDrop, Side: s, Index: uint8(i)})
			}
		}
		if o.Dup && net.InFlight() < o.InFlight {
			for i := 0; i < n; i++ {
				out = append(out, Move{Kind: MoveDuplicate, Side: s, Index: uint8(i)})
			}
		}
	}
	for _, s := range sides {
		if _, ok := w.Conn(s).NextDeadline(); ok {
			out = append(out, Move{Kind: MoveTimer, Side: s})
		}
	}
	return out
}

// written is how many bytes side s's application has written.
func written(w *proptest.World, s simnet.Side) int { return w.Written(s) }

// apply performs m on w.
func (m Move) apply(w *proptest.World, o *Options) {
	switch m.Kind {
	case MoveConnect:
		w.Connect(m.Side)
	case MoveListen:
		w.Listen(m.Side)
	case MoveWrite:
		w.Write(m.Side, min(o.WriteLen, o.Writes*o.WriteLen-written(w, m.Side)))
	case MoveRead:
		w.Read(m.Side, 64)
	case MoveClose:
		w.Close(m.Side)
	case MoveDeliver:
		w.Deliver(m.Side, int(m.Index))
	case MoveDrop:
		w.Drop(m.Side, int(m.Index))
	case MoveDuplicate:
		w.Duplicate(m.Side, int(m.Index))
	case MoveTimer:
		w.FireTimer(m.Side)
	}
}
