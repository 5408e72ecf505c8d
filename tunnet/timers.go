package tunnet

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/tunnet/timerwheel"
)

// timers is the stack's one timer loop: one goroutine, one wheel for the
// timers of every connection, plus the fault injector's held packets.
//
// A connection asks for one wakeup at the machine's NextDeadline. To keep
// the wheel (and its lock) off the per-segment path, a later deadline does
// not move an armed timer: the timer fires at the earlier time, Tick finds
// nothing due, and the connection re-arms at its real deadline. Only an
// earlier deadline reschedules. (An RTO restarted by every ACK thus costs
// one spurious wakeup per RTO, not one wheel operation per ACK.) Going
// idle likewise leaves the wakeup in place; only freeing stops it.
type timers struct {
	s     *Stack
	mu    sync.Mutex // guards wheel
	wheel *timerwheel.Wheel
	fired []*endpoint // loop-owned
	fire  func(*timerwheel.Timer)

	wake       chan struct{}
	sleepUntil atomic.Int64 // when the loop will next wake, ns since epoch
}

// wheelTick is the timer resolution; wheelSlots*wheelTick is one rotation.
const (
	wheelTick  = time.Millisecond
	wheelSlots = 4096
	idleSleep  = time.Hour
)

// connTimer is a connection's timer; its fields are guarded by ep.mu.
type connTimer struct {
	t     timerwheel.Timer
	ep    *endpoint
	armed bool          // what the connection believes: a wakeup is pending at at
	at    time.Duration // since the stack's epoch
}

func (ct *connTimer) init(ep *endpoint) {
	ct.ep = ep
	ct.t.Owner = ep
}

func (tm *timers) init(s *Stack) {
	tm.s = s
	w, err := timerwheel.New(wheelTick, wheelSlots, s.epoch)
	if err != nil {
		panic(err) // constant arguments: cannot fail
	}
	tm.wheel = w
	tm.wake = make(chan struct{}, 1)
	tm.fire = tm.collect
	tm.sleepUntil.Store(math.MaxInt64)
}

// arm asks for a wakeup at deadline at (since the epoch); ok false cancels.
// ep.mu is held.
func (ct *connTimer) arm(at time.Duration, ok bool) {
	if ct.ep == nil { // scratch connections have no timer
		return
	}
	if !ok {
		// Nothing due: leave a pending wakeup in the wheel rather than
		// take the shared lock to stop it; if it fires, Tick finds nothing
		// to do. A connection going idle and busy again (request, reply)
		// then takes the lock at most once. stop really stops.
		return
	}
	tm := &ct.ep.s.timers
	if ct.armed && ct.at <= at {
		return // fires early; Tick re-arms
	}
	ct.armed, ct.at = true, at
	tm.mu.Lock()
	tm.wheel.Schedule(&ct.t, tm.s.epoch.Add(at))
	tm.mu.Unlock()
	if int64(at) < tm.sleepUntil.Load() {
		tm.kick()
	}
}

// stop removes the connection's wakeup from the wheel: it is being freed.
func (ct *connTimer) stop() {
	if ct.ep == nil || !ct.armed {
		return
	}
	ct.armed = false
	tm := &ct.ep.s.timers
	tm.mu.Lock()
	tm.wheel.Stop(&ct.t)
	tm.mu.Unlock()
}

// kick wakes the loop to recompute its sleep.
func (tm *timers) kick() {
	select {
	case tm.wake <- struct{}{}:
	default:
	}
}

// faultsChanged wakes the loop if the injector now holds a packet due
// before the loop's planned wakeup.
func (tm *timers) faultsChanged() {
	t, ok := tm.s.faultsNext()
	if ok && int64(t.Sub(tm.s.epoch)) < tm.sleepUntil.Load() {
		tm.kick()
	}
}

func (tm *timers) collect(t *timerwheel.Timer) {
	tm.fired = append(tm.fired, t.Owner.(*endpoint))
}

// loop fires due connection timers and releases due fault-held packets.
func (tm *timers) loop() {
	s := tm.s
	defer s.wg.Done()
	rx := &rxState{s: s, tx: s.newTx()}
	rx.emit = rx.emitFlushed
	sleep := time.NewTimer(idleSleep)
	defer sleep.Stop()
	spins := 0
	for {
		// Until this pass stores its wakeup, any packet the injector
		// takes, and any timer armed, kicks the loop: a packet delayed
		// while the pass computes its sleep would otherwise wait for the
		// next timer (seconds) instead of its own deadline.
		tm.sleepUntil.Store(math.MaxInt64)
		now := s.clock()
		tm.mu.Lock()
		tm.wheel.Advance(now, tm.fire)
		tm.mu.Unlock()
		d := now.Sub(s.epoch)
		rx.now = d
		for i, ep := range tm.fired {
			ep.mu.Lock()
			ep.timer.armed = false
			ep.tick(d, rx.tx)
			ep.mu.Unlock()
			tm.fired[i] = nil
			if len(rx.tx.pkts) >= 64 {
				s.flushTx(rx.tx)
			}
		}
		tm.fired = tm.fired[:0]
		next := time.Duration(math.MaxInt64)
		if s.faults.inj != nil {
			if t, ok := s.faultsFlush(s.clock(), rx); ok {
				next = t.Sub(s.epoch)
			}
		}
		s.flushTx(rx.tx)
		tm.mu.Lock()
		if t, ok := tm.wheel.Next(); ok {
			next = min(next, t.Sub(s.epoch))
		}
		tm.sleepUntil.Store(int64(next))
		tm.mu.Unlock()
		wait := idleSleep
		if next != math.MaxInt64 {
			wait = next - s.now()
			if wait <= 0 {
				if spins++; spins < 3 {
					continue
				}
				wait = wheelTick // a deadline that will not fire: do not spin
			}
		}
		spins = 0
		sleep.Reset(wait)
		select {
		case <-sleep.C:
		case <-tm.wake:
		case <-s.done:
			return
		}
	}
}

// stopAll empties the wheel after the loop ended.
func (tm *timers) stopAll() {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	w, _ := timerwheel.New(wheelTick, wheelSlots, tm.s.epoch)
	tm.wheel = w
}
