package timerwheel

import (
	"fmt"
	"math/bits"
	"time"
)

type place uint8

const (
	idle     place = iota
	inSlot         // in slots[expire&mask]
	inHeap         // in the overflow heap at heapIdx
	inDue          // in the list Advance is firing
	maxSlots = 1 << 22
)

// Timer is one timer. Embed it in the caller's state and set Owner once, e.g.
// to the connection, to find that state again in the fire callback. The zero
// Timer is idle. A Timer belongs to one Wheel while pending.
type Timer struct {
	Owner any

	expire     int64 // tick
	prev, next *Timer
	heapIdx    int32
	where      place
	w          *Wheel
}

// Pending reports whether t is scheduled and has not fired or been stopped.
func (t *Timer) Pending() bool { return t.where != idle }

// list is an intrusive doubly-linked list of Timers.
type list struct{ head, tail *Timer }

func (l *list) pushBack(t *Timer) {
	t.prev, t.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = t
	} else {
		l.head = t
	}
	l.tail = t
}

func (l *list) remove(t *Timer) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		l.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		l.tail = t.prev
	}
	t.prev, t.next = nil, nil
}

// Wheel is a hashed timing wheel with an overflow heap.
type Wheel struct {
	start    time.Time
	tick     time.Duration
	mask     int64
	cur      int64 // every timer due before tick cur has fired
	slots    []list
	occupied []uint64 // bit i set iff slots[i] is non-empty
	inWheel  int
	overflow []*Timer // min-heap on expire
	due      list
	n        int
}

// New returns a wheel whose tick 0 begins at start, with the given tick
// length and at least slots slots (rounded up to a power of two, at least
// 64). One rotation spans slots*tick; longer deadlines wait in the overflow
// heap.
func New(tick time.Duration, slots int, start time.Time) (*Wheel, error) {
	if tick <= 0 {
		return nil, fmt.Errorf("timerwheel: tick %v is not positive", tick)
	}
	if slots < 1 || slots > maxSlots {
		return nil, fmt.Errorf("timerwheel: %d slots outside [1, %d]", slots, maxSlots)
	}
	size := max(64, 1<<bits.Len(uint(slots-1)))
	return &Wheel{
		start:    start,
		tick:     tick,
		mask:     int64(size - 1),
		slots:    make([]list, size),
		occupied: make([]uint64, size/64),
	}, nil
}

// Len is the number of pending timers.
func (w *Wheel) Len() int { return w.n }

// Tick is the wheel's tick length.
func (w *Wheel) Tick() time.Duration { return w.tick }

// Schedule sets t to fire at deadline, moving it if it is already pending.
// A deadline in the past fires on the next Advance. Scheduling a Timer that
// is pending on another Wheel panics: a Timer belongs to one Wheel.
func (w *Wheel) Schedule(t *Timer, deadline time.Time) {
	if t.where != idle {
		if t.w != w {
			panic("timerwheel: Schedule of a Timer pending on another Wheel")
		}
		w.remove(t)
		w.n--
	}
	t.w = w
	t.expire = max(w.expireOf(deadline), w.cur)
	w.insert(t)
	w.n++
}

// Stop cancels t and reports whether it was pending on w.
func (w *Wheel) Stop(t *Timer) bool {
	if t.where == idle || t.w != w {
		return false
	}
	w.remove(t)
	w.n--
	return true
}

// Next is the earliest time at which Advance will fire a timer (the tick
// boundary at or after the earliest deadline, or a past time if a timer is
// overdue); ok is false when no timer is pending.
func (w *Wheel) Next() (t time.Time, ok bool) {
	if w.due.head != nil { // called from fire
		return w.timeOf(w.cur), true
	}
	tick, ok := w.nextOccupied(w.cur, w.cur+w.mask)
	if len(w.overflow) > 0 && (!ok || w.overflow[0].expire < tick) {
		tick, ok = w.overflow[0].expire, true
	}
	if !ok {
		return time.Time{}, false
	}
	return w.timeOf(tick), true
}

// Advance fires, in tick order, every timer due at or before now. fire may
// Schedule or Stop any timer, including the one it was given; a timer it
// schedules for now or earlier fires on the next Advance at the latest.
func (w *Wheel) Advance(now time.Time, fire func(*Timer)) {
	end := w.tickOf(now)
	if end < w.cur {
		return
	}
	for {
		w.migrate()
		t, ok := w.nextOccupied(w.cur, end)
		if !ok {
			if w.inWheel == 0 && len(w.overflow) > 0 && w.overflow[0].expire <= end {
				w.cur = w.overflow[0].expire // nothing due before it
				continue
			}
			w.cur = end
			w.migrate()
			return
		}
		// Take the whole slot, then fire one by one: fire may stop or
		// reschedule timers still waiting in w.due.
		s := &w.slots[t&w.mask]
		for x := s.head; x != nil; x = x.next {
			x.where = inDue
			w.inWheel--
		}
		w.due = *s
		*s = list{}
		w.occupied[(t&w.mask)>>6] &^= 1 << (t & 63)
		w.cur = t
		if t < end {
			w.cur = t + 1
		}
		for w.due.head != nil {
			x := w.due.head
			w.due.remove(x)
			x.where = idle
			w.n--
			fire(x)
		}
		if t == end {
			w.migrate()
			return
		}
	}
}

// insert places t (expire set, not yet counted) in its slot or the heap.
func (w *Wheel) insert(t *Timer) {
	if t.expire > w.cur+w.mask {
		w.heapPush(t)
		return
	}
	i := t.expire & w.mask
	w.slots[i].pushBack(t)
	w.occupied[i>>6] |= 1 << (i & 63)
	t.where = inSlot
	w.inWheel++
}

func (w *Wheel) remove(t *Timer) {
	switch t.where {
	case inSlot:
		i := t.expire & w.mask
		w.slots[i].remove(t)
		if w.slots[i].head == nil {
			w.occupied[i>>6] &^= 1 << (i & 63)
		}
		w.inWheel--
	case inHeap:
		w.heapRemove(int(t.heapIdx))
	case inDue:
		w.due.remove(t)
	}
	t.where = idle
}

// migrate moves overflow timers that now fall within one rotation into the
// wheel.
func (w *Wheel) migrate() {
	for len(w.overflow) > 0 && w.overflow[0].expire <= w.cur+w.mask {
		t := w.overflow[0]
		w.heapRemove(0)
		w.insert(t)
	}
}

// nextOccupied returns the first tick in [from, to], within one rotation of
// from, whose slot is non-empty.
func (w *Wheel) nextOccupied(from, to int64) (int64, bool) {
	span := min(to-from, w.mask)
	for d := int64(0); d <= span; {
		i := (from + d) & w.mask
		if word := w.occupied[i>>6] >> (i & 63); word != 0 {
			if d += int64(bits.TrailingZeros64(word)); d <= span {
				return from + d, true
			}
			return 0, false
		}
		d += 64 - i&63
	}
	return 0, false
}

// tickOf is the tick containing t (-1 before start).
func (w *Wheel) tickOf(t time.Time) int64 {
	d := t.Sub(w.start)
	if d < 0 {
		return -1
	}
	return int64(d / w.tick)
}

// expireOf is the first tick boundary at or after deadline.
func (w *Wheel) expireOf(deadline time.Time) int64 {
	d := deadline.Sub(w.start)
	if d <= 0 {
		return 0
	}
	e := int64(d / w.tick)
	if d%w.tick != 0 {
		e++
	}
	return e
}

func (w *Wheel) timeOf(tick int64) time.Time {
	return w.start.Add(time.Duration(tick) * w.tick)
}
