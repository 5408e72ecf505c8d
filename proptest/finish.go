// The end of a run: Finish brings both sides to CLOSED fairly (liveness)
// and checks that every byte written arrived.

package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Finish ends a run fairly: faults stop, both applications read what is
// left and close, segments are delivered in order and time passes until
// both sides are CLOSED (invariant 18, liveness). Then, if both last
// connections ended normally, every byte written on them must have been
// received (invariant 17). It returns the first violation.
func (w *World) Finish() error {
	w.net.SetFaults(simnet.Faults{})
	deadline := w.net.Now() + 20*w.cfg.UserTimeout + 4*w.cfg.MSL + 4*w.cfg.FinWait2
	var last progress
	idle := 0 // deliveries since the last progress
	for steps := 0; w.err == nil; steps++ {
		w.drainReads()
		// The applications have read what there is; they close whatever
		// they have open (a listener may have taken a new connection).
		// A closes first; B waits for A's FIN (or for the network to go
		// quiet), so that the ending takes the textbook active/passive
		// close whenever the run left it possible.
		if w.State(simnet.A) != machine.StateClosed && !w.side[simnet.A].closed {
			w.Close(simnet.A)
		}
		if b := w.State(simnet.B); b != machine.StateClosed && !w.side[simnet.B].closed &&
			(b == machine.StateCloseWait || !isSync(b) || w.State(simnet.A) == machine.StateClosed || w.net.InFlight() == 0) {
			w.Close(simnet.B)
		}
		if w.State(simnet.A) == machine.StateClosed && w.State(simnet.B) == machine.StateClosed {
			break
		}
		if p := w.progress(); p != last {
			last, idle = p, 0
		}
		if idle > maxIdleDeliveries {
			w.fail(18, "livelock: %d segments exchanged without progress (no state, sequence number or byte read changed): A is %v, B is %v; an ACK loop?",
				idle, w.State(simnet.A), w.State(simnet.B))
			break
		}
		if steps > 50000 || w.net.Now() > deadline {
			w.fail(18, "liveness: after %d fair steps and %v of time, A is %v and B is %v (%d segments in flight, next timer %v)",
				steps, w.net.Now(), w.State(simnet.A), w.State(simnet.B), w.net.InFlight(), w.nextTimer())
			break
		}
		// Fair delivery: in order, alternating directions, each segment
		// taking fairDelay; timers fire when they fall due.
		switch {
		case len(w.net.Link(simnet.A)) > 0 && (steps%2 == 0 || len(w.net.Link(simnet.B)) == 0):
			w.Deliver(simnet.A, 0)
			idle++
			w.AdvanceBy(fairDelay)
		case len(w.net.Link(simnet.B)) > 0:
			w.Deliver(simnet.B, 0)
			idle++
			w.AdvanceBy(fairDelay)
		default:
			if !w.Advance() {
				w.fail(18, "liveness: A is %v and B is %v with nothing in flight and no timer armed: stuck forever",
					w.State(simnet.A), w.State(simnet.B))
			}
		}
	}
	w.check()
	w.checkDelivered()
	return w.err
}

// CheckDelivered checks, once both sides are CLOSED, that every byte one
// application wrote on the last connection reached the other (invariant
// 17), if both ended normally. Finish calls it; the exhaustive checker
// calls it at every state where both sides are CLOSED.
func (w *World) CheckDelivered() error {
	w.checkDelivered()
	return w.err
}

// checkDelivered: when both sides' last connections ended normally (the
// FIN handshake done both ways: TIME-WAIT's timeout, LAST-ACK's ACK), every
// byte one application wrote on it reached the other: read, or still
// queued when the TCB was deleted.
func (w *World) checkDelivered() {
	if w.err != nil || !w.side[simnet.A].normalEnd || !w.side[simnet.B].normalEnd {
		return
	}
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		st, peer := &w.side[s], &w.side[s.Peer()]
		want := peer.written[peer.streams-1]
		if got := st.read + st.discarded; got != want || (st.read > 0 && st.cand&(1<<(peer.streams-1)) == 0) {
			w.fail(17, "both connections closed normally, but %v received %d bytes (%d read, %d left unread) of the %d %v wrote",
				s, got, st.read, st.discarded, want, s.Peer())
			return
		}
	}
}

// fairDelay is the one-way delay of the fair ending.
const fairDelay = time.Millisecond

// maxIdleDeliveries is how many segments the fair ending may exchange
// without progress before it calls the exchange a livelock.
const maxIdleDeliveries = 500

// progress is what must change, now and then, while segments flow.
type progress struct {
	state      [2]machine.State
	una, rcv   [2]uint32
	read       [2]uint32
	finA, finB bool
}

func (w *World) progress() progress {
	var p progress
	for s := range p.state {
		c := w.conn(simnet.Side(s))
		v := c.Vars()
		p.state[s], p.una[s], p.rcv[s], p.read[s] = c.State(), v.SndUna, v.RcvNxt, w.side[s].read
	}
	p.finA, p.finB = w.conn(simnet.A).PeerClosed(), w.conn(simnet.B).PeerClosed()
	return p
}

func (w *World) nextTimer() string {
	if t, ok := w.net.NextTimer(); ok {
		return t.String()
	}
	return "none"
}

// drainReads reads everything readable on both sides.
func (w *World) drainReads() {
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		for i := 0; i < 64 && w.err == nil && w.conn(s).Readable() > 0; i++ {
			if k, err := w.Read(s, 64); k == 0 || err != nil {
				break
			}
		}
		c := w.conn(s)
		if w.err == nil && !w.side[s].eof && c.PeerClosed() && c.Readable() == 0 && canReceive(c.State()) {
			w.Read(s, 1)
		}
	}
}
