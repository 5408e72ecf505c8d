package faults

import (
	"math/rand/v2"
	"time"
)

// EmitFunc receives a packet that leaves the injector in direction dir. The
// packet is only valid during the call: emit must copy what it keeps.
type EmitFunc func(dir Direction, pkt []byte)

// Counters count what happened to packets in one direction.
type Counters struct {
	Packets    uint64 // packets given to Process
	Dropped    uint64 // of those, dropped
	Duplicated uint64 // of those, sent twice
	Reordered  uint64 // copies held back for reordering
	Delayed    uint64 // copies delayed
	Emitted    uint64 // copies handed to emit (now or later)
}

// Injector applies a Config. It is not safe for concurrent use: one loop
// owns it (or the caller serializes).
type Injector struct {
	cfg     Config
	now     func() time.Time
	rng     [2]*rand.Rand
	held    [2][]heldPkt
	delayed delayHeap
	seq     uint64
	free    [][]byte
	count   [2]Counters
}

type heldPkt struct {
	buf   []byte
	left  int       // later packets still to pass before release
	until time.Time // release at the latest then
}

// maxFree bounds the free list of packet copies.
const maxFree = 4096

// New returns an Injector for cfg that reads the time from now.
func New(cfg Config, now func() time.Time) *Injector {
	inj := &Injector{cfg: cfg, now: now}
	for d := range inj.rng {
		inj.rng[d] = rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15^uint64(d)))
	}
	return inj
}

// Config returns the injector's configuration.
func (inj *Injector) Config() Config { return inj.cfg }

// Counters returns the counters for one direction.
func (inj *Injector) Counters(dir Direction) Counters { return inj.count[dir&1] }

// Pending is the number of packet copies held or delayed.
func (inj *Injector) Pending() int {
	return len(inj.held[In]) + len(inj.held[Out]) + len(inj.delayed)
}

// Process decides the fate of pkt travelling in direction dir: it is dropped,
// emitted (once or twice), held back for reordering or delayed. Packets
// released by this arrival (reordered ones whose gap has passed) are emitted
// after it. Process copies what it keeps; pkt may be reused once it returns.
func (inj *Injector) Process(dir Direction, pkt []byte, emit EmitFunc) {
	dir &= 1
	r := &inj.cfg.Dir[dir]
	c := &inj.count[dir]
	c.Packets++
	if !r.Active() {
		c.Emitted++
		emit(dir, pkt)
		return
	}
	rng := inj.rng[dir]
	if r.Loss > 0 && rng.Float64() < r.Loss {
		c.Dropped++
		return
	}
	// This arrival counts toward the gap of packets held before it.
	ready := 0
	for i := range inj.held[dir] {
		inj.held[dir][i].left--
		if inj.held[dir][i].left <= 0 {
			ready++
		}
	}
	copies := 1
	if r.Dup > 0 && rng.Float64() < r.Dup {
		copies = 2
		c.Duplicated++
	}
	for range copies {
		switch {
		case r.Reorder > 0 && rng.Float64() < r.Reorder:
			c.Reordered++
			inj.held[dir] = append(inj.held[dir], heldPkt{
				buf:   inj.clone(pkt),
				left:  r.ReorderGap,
				until: inj.now().Add(r.ReorderHold),
			})
		case r.DelayMax > 0:
			c.Delayed++
			d := r.DelayMin
			if span := r.DelayMax - r.DelayMin; span > 0 {
				d += time.Duration(rng.Int64N(int64(span) + 1))
			}
			inj.seq++
			inj.delayed.push(delayedPkt{at: inj.now().Add(d), seq: inj.seq, dir: dir, buf: inj.clone(pkt)})
		default:
			c.Emitted++
			emit(dir, pkt)
		}
	}
	if ready > 0 {
		inj.release(dir, emit, func(h *heldPkt) bool { return h.left <= 0 })
	}
}

// Flush emits every delayed packet due at or before now, in due order, and
// every reordered packet held for its maximum time.
func (inj *Injector) Flush(now time.Time, emit EmitFunc) {
	for d := range inj.held {
		inj.release(Direction(d), emit, func(h *heldPkt) bool { return !h.until.After(now) })
	}
	for len(inj.delayed) > 0 && !inj.delayed[0].at.After(now) {
		p := inj.delayed.pop()
		inj.count[p.dir].Emitted++
		emit(p.dir, p.buf)
		inj.recycle(p.buf)
	}
}

// NextDeadline is when Flush next has something to release; ok is false
// when nothing is pending.
func (inj *Injector) NextDeadline() (t time.Time, ok bool) {
	if len(inj.delayed) > 0 {
		t, ok = inj.delayed[0].at, true
	}
	for d := range inj.held {
		for _, h := range inj.held[d] {
			if !ok || h.until.Before(t) {
				t, ok = h.until, true
			}
		}
	}
	return t, ok
}

// release emits, in arrival order, the held packets of dir that due accepts.
func (inj *Injector) release(dir Direction, emit EmitFunc, due func(*heldPkt) bool) {
	held := inj.held[dir]
	kept := held[:0]
	for i := range held {
		if !due(&held[i]) {
			kept = append(kept, held[i])
			continue
		}
		inj.count[dir].Emitted++
		emit(dir, held[i].buf)
		inj.recycle(held[i].buf)
	}
	clear(held[len(kept):])
	inj.held[dir] = kept
}

func (inj *Injector) clone(pkt []byte) []byte {
	var b []byte
	if n := len(inj.free); n > 0 && cap(inj.free[n-1]) >= len(pkt) {
		b = inj.free[n-1][:len(pkt)]
		inj.free[n-1] = nil
		inj.free = inj.free[:n-1]
	} else {
		b = make([]byte, len(pkt), max(len(pkt), 2048))
	}
	copy(b, pkt)
	return b
}

func (inj *Injector) recycle(b []byte) {
	if len(inj.free) < maxFree {
		inj.free = append(inj.free, b)
	}
}

type delayedPkt struct {
	at  time.Time
	seq uint64 // arrival order: equal deadlines leave in arrival order
	dir Direction
	buf []byte
}

// delayHeap is a binary min-heap on (at, seq), written out so that pushing
// and popping values does not allocate (container/heap boxes them).
type delayHeap []delayedPkt

func (h delayHeap) less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *delayHeap) push(p delayedPkt) {
	*h = append(*h, p)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *delayHeap) pop() delayedPkt {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = delayedPkt{}
	s = s[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r := l + 1; r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
