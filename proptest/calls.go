// The moves a run makes: the applications' calls on each side and the
// network's deliveries, losses, duplicates and the passing of time. Each
// is judged by the invariants before it returns.

package proptest

import (
	"errors"
	"io"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// streamByte is byte off of side s's stream i: every stream has its own
// content, so the receiver can tell which stream a byte came from and
// where in it.
func streamByte(s simnet.Side, stream int, off uint32) byte {
	x := off*0x9e3779b1 ^ uint32(s)<<28 ^ uint32(stream)<<20
	x ^= x >> 15
	x *= 0x85ebca6b
	x ^= x >> 13
	return byte(x)
}

// Listen is a passive OPEN on side s. It reports false if s is not CLOSED
// or has opened too often.
func (w *World) Listen(s simnet.Side) bool {
	if !w.canOpen(s) {
		return false
	}
	w.side[s].opens++
	w.side[s].closed = false
	w.quietTime(s)
	w.reuse(s)
	err := w.net.Listen(s)
	w.conn(s).SetAcceptIncarnation(true) // a listener exists (RFC 6191)
	w.side[s].listener = true
	if !w.quiet {
		w.note("%v listen: %v", s, err)
	}
	w.moved()
	return true
}

// Connect is an active OPEN on side s, reporting false as Listen does.
func (w *World) Connect(s simnet.Side) bool {
	if !w.canOpen(s) {
		return false
	}
	w.side[s].opens++
	w.side[s].closed = false
	w.quietTime(s)
	w.reuse(s)
	err := w.net.Connect(s)
	if !w.quiet {
		w.note("%v connect: %v", s, err)
	}
	w.moved()
	return true
}

// quietTime lets the ISN clock (4 us a tick) move on before side s opens a
// new TCB, if it chose an ISS in the same tick: two incarnations with the
// same ISS would take each other's old duplicates as their own, which no
// TCP can prevent (RFC 9293 3.4.3) and which is no bug of the machine.
func (w *World) quietTime(s simnet.Side) {
	if st := &w.side[s]; st.issSet && w.net.Now()-st.issAt < 8*time.Microsecond {
		w.net.AdvanceTo(st.issAt + 8*time.Microsecond)
	}
}

// reuse resets side s's Conn before every other open, as a runtime that
// pools Conns does (machine.Conn.Reset), so that both a fresh and a reused
// Conn are tested.
func (w *World) reuse(s simnet.Side) {
	if w.side[s].opens%2 == 0 {
		c := w.conn(s)
		c.Reset(c.Config(), c.Tuple())
		w.side[s].listener = false
		w.side[s].noDelay = c.Config().NoDelay
		w.side[s].keepalive = c.Config().KeepAlive
	}
}

// SetKeepAlive sets side s's keepalive, as an application would.
func (w *World) SetKeepAlive(s simnet.Side, k machine.KeepAlive) {
	c := w.conn(s)
	c.SetKeepAlive(w.net.Now(), k)
	w.side[s].keepalive = k
	if !w.quiet {
		w.note("%v SetKeepAlive(%+v)", s, k)
	}
	w.moved()
	v := c.Vars()
	at, armed := c.NextDeadline()
	w.checkKeepaliveArmed(s, c.State(), &v, w.net.Now(), at, armed)
}

// SetNoDelay turns Nagle's algorithm off (true) or on for side s's
// connection, as an application's SetNoDelay would.
func (w *World) SetNoDelay(s simnet.Side, on bool) {
	w.conn(s).SetNoDelay(on)
	w.side[s].noDelay = on
	if !w.quiet {
		w.note("%v SetNoDelay(%v)", s, on)
	}
	w.moved()
}

func (w *World) canOpen(s simnet.Side) bool {
	return w.State(s) == machine.StateClosed && w.side[s].streams < maxStreams-2 && w.side[s].opens < 6
}

// Write writes n bytes of side s's stream content.
func (w *World) Write(s simnet.Side, n int) (int, error) {
	st := &w.side[s]
	stream := st.streams - 1
	if w.State(s) == machine.StateListen {
		stream = st.streams // SEND in LISTEN starts a new TCB (listen_send)
	}
	if stream < 0 || stream >= maxStreams {
		stream = 0
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = streamByte(s, stream, st.written[stream]+uint32(i))
	}
	room := w.conn(s).Writable()
	k, err := w.net.Write(s, p)
	if k > 0 {
		st.written[stream] += uint32(k)
	}
	// Invariant 32, SEND's half: Writable says what Write takes (a
	// runtime sizes its writes by it), and nothing where Write fails.
	if w.err == nil && (k != min(n, room) || err != nil && room != 0) {
		w.fail(32, "%v in %v: Writable said %d, then a write of %d bytes took %d (%v)", s, w.State(s), room, n, k, err)
	}
	if !w.quiet {
		w.note("%v write %d: %d, %v", s, n, k, err)
	}
	w.moved()
	return k, err
}

// Read reads up to n bytes on side s and checks them against the peer's
// streams (invariant 17).
func (w *World) Read(s simnet.Side, n int) (int, error) {
	p := make([]byte, n)
	k, err := w.net.Read(s, p)
	w.received(s, p[:k])
	if errors.Is(err, io.EOF) {
		w.side[s].eof = true
	}
	if !w.quiet {
		w.note("%v read %d: %d, %v", s, n, k, err)
	}
	w.moved()
	return k, err
}

// received checks bytes read on side s: they must continue one of the
// peer's streams at exactly the offset read so far.
func (w *World) received(s simnet.Side, p []byte) {
	st, peer := &w.side[s], &w.side[s.Peer()]
	for _, b := range p {
		off := st.read
		var cand uint64
		for j := 0; j < maxStreams; j++ {
			if st.cand&(1<<j) != 0 && peer.written[j] > off && streamByte(s.Peer(), j, off) == b {
				cand |= 1 << j
			}
		}
		if cand == 0 {
			w.fail(17, "%v read byte %#02x at stream offset %d, which is not byte %d of any stream %v wrote (peer wrote %v): bytes lost, duplicated, reordered or invented",
				s, b, off, off, s.Peer(), peer.written[:peer.streams])
			return
		}
		st.cand = cand
		st.read++
	}
}

// Close is CLOSE on side s.
func (w *World) Close(s simnet.Side) error {
	err := w.net.Close(s)
	w.side[s].closed = true
	if !w.quiet {
		w.note("%v close: %v", s, err)
	}
	w.moved()
	return err
}

// Abort is ABORT on side s.
func (w *World) Abort(s simnet.Side) {
	w.net.Abort(s)
	w.side[s].closed = true
	if !w.quiet {
		w.note("%v abort", s)
	}
	w.moved()
}

// inFlight reports whether side from has an i-th segment in flight.
func (w *World) inFlight(from simnet.Side, i int) bool {
	return i >= 0 && i < len(w.net.Link(from))
}

// Deliver hands the i-th segment in flight from side `from` to its peer.
func (w *World) Deliver(from simnet.Side, i int) bool {
	if !w.inFlight(from, i) {
		return false
	}
	w.net.Deliver(from, i)
	if !w.quiet {
		w.note("deliver %v->%v #%d", from, from.Peer(), i)
	}
	w.moved()
	return true
}

// Drop loses the i-th segment in flight from side `from`.
func (w *World) Drop(from simnet.Side, i int) bool {
	if !w.inFlight(from, i) {
		return false
	}
	p := w.net.Link(from)[i]
	w.net.Drop(from, i)
	if !w.quiet {
		w.note("drop %v->%v #%d %s", from, from.Peer(), i, simnet.FormatSegment(&p.Seg))
	}
	w.moved()
	return true
}

// Duplicate copies the i-th segment in flight from side `from`.
func (w *World) Duplicate(from simnet.Side, i int) bool {
	if !w.inFlight(from, i) {
		return false
	}
	w.net.Duplicate(from, i)
	if !w.quiet {
		w.note("duplicate %v->%v #%d", from, from.Peer(), i)
	}
	w.moved()
	return true
}

// Advance lets time pass to the next timer deadline. It reports false if
// no timer is armed.
func (w *World) Advance() bool {
	if !w.net.Advance() {
		return false
	}
	if !w.quiet {
		w.note("advance to %v", w.net.Now())
	}
	w.moved()
	return true
}

// AdvanceBy lets d pass, firing what falls due at the end.
func (w *World) AdvanceBy(d time.Duration) {
	w.net.AdvanceTo(w.net.Now() + d)
	if !w.quiet {
		w.note("advance to %v", w.net.Now())
	}
	w.moved()
}
