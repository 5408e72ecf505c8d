package proptest

import (
	"encoding/binary"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Snapshot is a saved World: the Net and both sides' application and
// ghost state. It may be restored into any World built from the same
// Options (each keeps its own hooks).
type Snapshot struct {
	net  simnet.Snapshot
	side [2]sideState
}

// Save copies w into s.
func (w *World) Save(s *Snapshot) {
	w.net.Save(&s.net)
	s.side = w.side
}

// Restore makes w as it was when s was saved, with no violation.
func (w *World) Restore(s *Snapshot) {
	w.net.Restore(&s.net)
	w.side = s.side
	w.err = nil
}

// AppendKey appends a canonical encoding of w's state (time left out) to
// b: the Net's key and the parts of each side's application and ghost
// state that decide what happens next and what the invariants will say.
func (w *World) AppendKey(b []byte) []byte {
	b = w.net.AppendKey(b)
	for i := range w.side {
		st := &w.side[i]
		var flags uint16
		for j, f := range [...]bool{st.eof, st.closed, st.passiveOrigin, st.activeOrigin, st.activeCloser,
			st.passiveCloser, st.simClose, st.finSent, st.shrunk, st.issSet, st.normalEnd} {
			if f {
				flags |= 1 << j
			}
		}
		b = binary.BigEndian.AppendUint16(b, flags)
		b = append(b, byte(st.streams), byte(st.opens), byte(st.nchal))
		for _, v := range [...]uint32{st.read, st.discarded, st.finSeq, st.iss, uint32(st.cand), uint32(st.finsSent)} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		for j := 0; j < st.streams && j < maxStreams; j++ {
			b = binary.BigEndian.AppendUint32(b, st.written[j])
			b = binary.BigEndian.AppendUint32(b, st.finSeqs[j])
		}
		b = st.flow.appendKey(b)
	}
	return b
}

// FireTimer lets time pass to side s's next timer deadline and fires what
// is due on side s only: in the exhaustive checker the two sides' clocks
// are independent (time is abstract). It reports false if s has no timer.
func (w *World) FireTimer(s simnet.Side) bool {
	d, ok := w.conn(s).NextDeadline()
	if !ok {
		return false
	}
	w.net.SetNow(d)
	w.net.Tick(s)
	if !w.quiet {
		w.note("%v timer", s)
	}
	w.moved()
	return true
}

// Writable is what side s's application may write now.
func (w *World) Writable(s simnet.Side) int { return w.conn(s).Writable() }

// Readable reports whether a Read on side s returns data or end of data.
func (w *World) Readable(s simnet.Side) bool {
	c := w.conn(s)
	return c.Readable() > 0 || (c.PeerClosed() && !w.side[s].eof && canReceive(c.State()))
}

// Opened reports whether side s's application has opened.
func (w *World) Opened(s simnet.Side) bool { return w.side[s].opens > 0 }

// Closed reports whether side s's application has closed its connection.
func (w *World) Closed(s simnet.Side) bool { return w.side[s].closed }

// Conn is side s's Conn, for inspection only.
func (w *World) Conn(s simnet.Side) *machine.Conn { return w.conn(s) }

// Written is how many bytes side s's application has written, over all its
// connections.
func (w *World) Written(s simnet.Side) int {
	n := 0
	for _, k := range w.side[s].written {
		n += int(k)
	}
	return n
}
