package tunnet

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// endpoint is one connection inside the stack: the machine.Conn, the lock
// that serializes every call into it (the reader, the timer loop and the
// application all call in), its timer, and the application's wakeups.
type endpoint struct {
	s     *Stack
	mu    sync.Mutex
	mc    *machine.Conn
	cfg   *machine.Config // shared, or ownCfg when observing
	tuple machine.Tuple
	queue uint8 // the device queue its segments last arrived on (see MultiQueueDevice)
	timer connTimer
	state atomic.Uint32 // mc.State(), readable without mu (Snapshot)
	since atomic.Int64  // when it entered that state (stack clock)
	// warned: Config.Warn has heard of this stay in CLOSE-WAIT.
	warned atomic.Bool
	// counted is the machine's counters already added to the stack's.
	counted machine.Counters

	// Application wakeups: a waiter sets rdWait/wrWait under mu, unlocks
	// and waits on rd/wr (capacity 1, so a wakeup between the unlock and
	// the wait is kept).
	rd, wr         chan struct{}
	rdWait, wrWait bool

	l         *Listener // the listener a passive connection belongs to until accepted
	queued    bool      // handed to l's accept queue
	dead      bool      // reached CLOSED and left the demux
	appClosed bool      // the application called Close: discard what arrives
	// tail holds text the peer sent before its FIN that the application
	// has not read yet, moved out of the machine once nothing more can
	// arrive (LAST-ACK, CLOSING, TIME-WAIT), because reaching CLOSED
	// deletes the TCB and its buffers. Nil unless that happens.
	tail []byte
	gen  uint32 // incarnation: a TIME-WAIT connection reborn by a SYN gets a new one

	// On l's half-open list (guarded by l.mu): reserved, not yet queued.
	hoPrev, hoNext *endpoint
	hoLinked       bool

	// Observer support (only when Config.Observer is set).
	ownCfg  machine.Config
	curSeg  *machine.Segment
	trans   []observed
	sentBuf []SegmentInfo
	scratch bool
}

// observed is a transition recorded during a call, reported after it.
type observed struct {
	from, to machine.State
	ev       machine.Event
	rule     machine.Rule
	recv     SegmentInfo
	hasRecv  bool
}

func (s *Stack) newEndpoint(t machine.Tuple) *endpoint {
	ep := &endpoint{s: s, tuple: t, rd: make(chan struct{}, 1), wr: make(chan struct{}, 1)}
	ep.initMachine(t)
	ep.timer.init(ep)
	return ep
}

func (ep *endpoint) initMachine(t machine.Tuple) {
	ep.cfg = ep.s.machineConfig(t.RemoteAddr)
	if ep.s.cfg.Observer != nil {
		ep.ownCfg = *ep.cfg
		ep.ownCfg.Observer = ep
		ep.cfg = &ep.ownCfg
	}
	if ep.mc == nil {
		ep.mc = machine.NewConn(ep.cfg, t)
	} else {
		ep.mc.Reset(ep.cfg, t)
	}
	ep.counted = machine.Counters{}
}

// Transition implements machine.Observer: record, report after the call.
func (ep *endpoint) Transition(_ *machine.Conn, from machine.State, ev machine.Event, rule machine.Rule, to machine.State) {
	o := observed{from: from, to: to, ev: ev, rule: rule}
	if ep.curSeg != nil && ev.Kind() == machine.KindSegment {
		o.recv, o.hasRecv = segmentInfo(ep.curSeg), true
	}
	ep.trans = append(ep.trans, o)
}

func (ep *endpoint) clearObserved() { ep.trans = ep.trans[:0] }

// input steps the machine with a segment and does the bookkeeping.
// ep.mu is held.
func (ep *endpoint) input(now time.Duration, seg *machine.Segment, tx *txBatch) {
	if tx.rxQueue >= 0 {
		ep.queue = uint8(tx.rxQueue)
	}
	ep.curSeg = seg
	rule := ep.mc.Input(now, seg)
	ep.curSeg = nil
	if rule == machine.RuleTimeWaitRcvSynNew {
		ep.reincarnate(now)
	}
	ep.after(now, tx)
}

// tick fires the machine's due timers. ep.mu is held.
func (ep *endpoint) tick(now time.Duration, tx *txBatch) {
	if ep.dead {
		return
	}
	ep.mc.Tick(now)
	ep.after(now, tx)
}

// reincarnate makes a TIME-WAIT connection that a new SYN reopened (RFC
// 6191) a fresh passive connection of the port's listener; the old
// application handle, if any, sees a closed connection.
func (ep *endpoint) reincarnate(now time.Duration) {
	ep.gen++
	ep.appClosed = false
	ep.tail = nil
	if ep.l != nil && !ep.queued {
		ep.l.unlinkHalfOpen(ep)
	}
	ep.queued = false
	ep.l = nil
	ep.wakeAll()
	l := ep.s.demux.listener(ep.tuple.LocalAddr, ep.tuple.LocalPort)
	if l == nil || !l.reserve() {
		ep.mc.Abort(now)
		return
	}
	ep.l = l
	if !l.linkHalfOpen(ep) { // closed since the lookup
		ep.mc.Abort(now)
	}
}

// after is called, with ep.mu held, after every call into the machine, with
// the time that call was given: it
// moves the outbox into tx, reports transitions, feeds the accept queue,
// re-arms the timer, frees a CLOSED connection and queues wakeups.
func (ep *endpoint) after(now time.Duration, tx *txBatch) {
	if ep.appClosed && ep.mc.Readable() > 0 {
		ep.discard(now)
	}
	st := ep.mc.State()
	if ep.mc.Readable() > 0 && (st == machine.StateLastAck || st == machine.StateClosing || st == machine.StateTimeWait) {
		ep.keepTail(now)
	}
	if ep.l != nil && !ep.queued {
		switch st {
		case machine.StateEstablished, machine.StateCloseWait:
			if !ep.l.enqueue(ep) {
				ep.l = nil
				ep.mc.Abort(now) // the listener closed meanwhile
				st = ep.mc.State()
			} else {
				ep.queued = true
			}
		case machine.StateListen:
			// RST in SYN-RECEIVED returned a passive connection to
			// LISTEN (syn_rcvd_rcv_rst_passive): the listener itself
			// still listens, so this child is done.
			ep.mc.Abort(now)
			st = ep.mc.State()
		}
	}
	ep.flushOutbox(tx)
	if k := ep.mc.Counters(); k != ep.counted {
		ep.s.counters.retransmits.Add(k.Retransmits - ep.counted.Retransmits)
		ep.s.counters.challengeACKs.Add(k.ChallengeACKs - ep.counted.ChallengeACKs)
		ep.s.counters.timeouts.Add(k.Timeouts - ep.counted.Timeouts)
		ep.s.counters.fastRecovery.Add(k.FastRecovery - ep.counted.FastRecovery)
		ep.counted = k
	}
	if uint32(st) != ep.state.Load() {
		ep.since.Store(int64(now))
		ep.warned.Store(false)
	}
	ep.state.Store(uint32(st))
	if st == machine.StateClosed {
		ep.free()
	} else {
		d, ok := ep.mc.NextDeadline()
		ep.timer.arm(d, ok)
	}
	if ep.rdWait || ep.wrWait {
		ep.rdWait, ep.wrWait = false, false
		tx.addWake(ep)
	}
}

// flushOutbox moves the machine's outbox into tx and reports the
// transitions recorded during the call, with the segments it sent.
func (ep *endpoint) flushOutbox(tx *txBatch) {
	out := ep.mc.Outbox()
	for i := range out {
		tx.addSegment(&ep.tuple, ep.queue, &out[i])
	}
	if len(ep.trans) > 0 {
		ep.report(out)
	}
	ep.mc.ClearOutbox()
}

// free takes a CLOSED connection out of the demux and the timer wheel.
func (ep *endpoint) free() {
	if ep.dead {
		return
	}
	ep.dead = true
	ep.timer.stop()
	if !ep.scratch {
		ep.s.demux.remove(ep)
	}
	if ep.l != nil && !ep.queued {
		ep.l.unlinkHalfOpen(ep)
		ep.l.release()
		ep.l = nil
	}
	ep.rdWait, ep.wrWait = false, false
	ep.wakeAll()
}

// keepTail moves the unread text into ep.tail, so the application can read
// it after the machine deletes the TCB on its way to CLOSED.
func (ep *endpoint) keepTail(now time.Duration) {
	for ep.mc.Readable() > 0 {
		at, need := len(ep.tail), ep.mc.Readable()
		ep.tail = slices.Grow(ep.tail, need)
		n, err := ep.mc.Read(now, ep.tail[at:at+need])
		ep.tail = ep.tail[:at+n]
		if n == 0 || err != nil {
			return
		}
	}
}

// discard reads and drops what arrived after the application closed, so
// the peer's data and FIN still fit in the window.
func (ep *endpoint) discard(now time.Duration) {
	var buf [4096]byte
	for ep.mc.Readable() > 0 {
		if n, err := ep.mc.Read(now, buf[:]); n == 0 || err != nil {
			return
		}
	}
}

// report hands the recorded transitions to the observer; the segments the
// call sent go with the last one.
func (ep *endpoint) report(out []machine.Segment) {
	obs := ep.s.cfg.Observer
	ep.sentBuf = ep.sentBuf[:0]
	for i := range out {
		ep.sentBuf = append(ep.sentBuf, segmentInfo(&out[i]))
	}
	at := ep.s.now()
	for i, o := range ep.trans {
		tr := Transition{
			At: at, Tuple: ep.tuple,
			From: o.from, Event: o.ev, Rule: o.rule, To: o.to,
			Recv: o.recv, HasRecv: o.hasRecv,
			Scratch: ep.scratch,
		}
		if i == len(ep.trans)-1 {
			tr.Sent = ep.sentBuf
		}
		obs(tr)
	}
	ep.trans = ep.trans[:0]
}

// notify wakes the application goroutines waiting on ep.
func (ep *endpoint) notify() {
	select {
	case ep.rd <- struct{}{}:
	default:
	}
	select {
	case ep.wr <- struct{}{}:
	default:
	}
}

// wakeAll wakes every waiter now (state changes they must see).
func (ep *endpoint) wakeAll() { ep.notify() }
