package tunnet

import (
	"sync"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// scratch answers segments that match no connection. It steps one reusable
// machine.Conn, reset to CLOSED (or CLOSED then LISTEN) for every such
// segment, so the spec's CLOSED and LISTEN rows decide the reply (an RST, or
// nothing) rather than code here.
type scratch struct {
	mu sync.Mutex
	ep *endpoint
}

func (sc *scratch) init(s *Stack) {
	ep := &endpoint{s: s, scratch: true}
	sc.ep = ep
}

// reset puts the scratch machine into state (CLOSED or LISTEN) for tuple t.
func (sc *scratch) reset(now time.Duration, state machine.State, t machine.Tuple) {
	ep := sc.ep
	ep.tuple = t
	ep.initMachine(t)
	if state == machine.StateListen {
		ep.mc.Listen(now) // cannot fail from CLOSED
	}
	ep.clearObserved()
}

// validCookie reports whether seg, for a listener using SYN cookies,
// returns a valid one.
func (sc *scratch) validCookie(now time.Duration, t machine.Tuple, seg *machine.Segment) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.reset(now, machine.StateListen, t)
	sc.ep.mc.SetSynCookies(true)
	return sc.ep.mc.ValidCookie(now, seg)
}

// classifyListen says what event seg would be for a connection in LISTEN.
func (sc *scratch) classifyListen(now time.Duration, t machine.Tuple, seg *machine.Segment) machine.Event {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.reset(now, machine.StateListen, t)
	return sc.ep.mc.Classify(seg)
}

// input answers seg as a connection in state would, then forgets it;
// cookies says a listener answers SYNs with SYN cookies.
func (sc *scratch) input(now time.Duration, state machine.State, t machine.Tuple, seg *machine.Segment, cookies bool, tx *txBatch) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.reset(now, state, t)
	ep := sc.ep
	ep.queue = uint8(max(tx.rxQueue, 0)) // answer on the queue asked
	ep.mc.SetSynCookies(cookies)
	ep.curSeg = seg
	ep.mc.Input(now, seg)
	ep.curSeg = nil
	ep.flushOutbox(tx)
	ep.mc.Abort(now) // leave no TCB behind (LISTEN -> CLOSED)
	ep.clearObserved()
}
