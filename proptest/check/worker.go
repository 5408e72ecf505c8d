package check

import (
	"slices"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// worker is one goroutine of the search: a World of its own, into which it
// restores the states it expands, and what it found in the current level.
type worker struct {
	_      [128]byte // see the end
	c      *checker
	world  *proptest.World
	gaveUp bool // the current move fired a user timeout
	key    []byte
	moves  []Move
	succ   []int32 // the successors of the state being expanded

	// The current level's findings, gathered between levels.
	next                       []queued // new states to expand at the next level, saved
	transitions, pruned, bound int
	bad                        *violationAt // the first violation

	free     []*proptest.Snapshot // snapshots of expanded states, to reuse
	expanded int

	_ [128]byte // no cache line shared with another worker's counters
}

// queued is a state waiting to be expanded, saved.
type queued struct {
	snap *proptest.Snapshot
	id   int32
}

// violationAt is a violation: move m from state id.
type violationAt struct {
	id   int32
	rank uint64
	move Move
	err  error
}

// discovery is a state found in the current level: the rank of the path
// kept to it and, unless it lies at the depth bound, its snapshot.
type discovery struct {
	rank uint64
	snap *proptest.Snapshot
}

// rankOf orders the discoveries of a level: the position of the state
// expanded in its level, then the move's index. Of the paths that reach
// one state in a level, the search keeps the one with the lowest rank (the
// first a one-worker search meets), so that the states kept, and what
// they reach, do not depend on which worker got there first: states with
// one key can still differ in what the key leaves out (time).
func rankOf(pos, k int) uint64 { return uint64(pos)<<16 | uint64(k) }

func newWorker(c *checker) (*worker, error) {
	w := &worker{c: c}
	world, err := newWorld(&c.o, func(r *simnet.Record) {
		for _, t := range r.Steps {
			if t.Rule == machine.RuleAnyUserTimeout {
				w.gaveUp = true
			}
		}
	}, true)
	if err != nil {
		return nil, err
	}
	w.world = world
	return w, nil
}

// slabSize is how many snapshots a worker allocates at once.
const slabSize = 256

// alloc returns a snapshot to save into: the most recently freed one,
// whose memory is still in the cache (saving into a cold snapshot costs as
// much as the rest of a state's work), else one of a new slab.
func (w *worker) alloc() *proptest.Snapshot {
	if len(w.free) == 0 {
		slab := make([]proptest.Snapshot, slabSize)
		for i := range slab {
			w.free = append(w.free, &slab[len(slab)-1-i])
		}
	}
	s := w.free[len(w.free)-1]
	w.free = w.free[:len(w.free)-1]
	return s
}

// expand takes every move from state q (at position pos of the level at
// depth), adds the states it reaches and records q's successors.
func (w *worker) expand(q queued, pos, depth int) {
	c, o, world := w.c, &w.c.o, w.world
	world.Restore(q.snap)
	w.moves = enumerate(world, o, w.moves[:0])
	var flags uint8
	if len(w.moves) > 0 {
		flags |= flagMoves
	}
	w.succ = w.succ[:0]
	for k, m := range w.moves {
		if k > 0 {
			world.Restore(q.snap) // the first move starts from the restore above
		}
		w.gaveUp = false
		m.apply(world, o)
		w.transitions++
		err := world.Err()
		goal := bothClosed(world)
		if err == nil && goal {
			err = world.CheckDelivered()
		}
		if err != nil {
			w.bad = &violationAt{q.id, rankOf(pos, k), m, err}
			c.stop.Store(true)
			return
		}
		if world.Net().InFlight() > o.InFlight {
			w.pruned++
			flags |= flagIncomplete
			continue
		}
		w.key = world.AppendKey(w.key[:0])
		h := hashKey(w.key)
		atBound := depth+1 >= o.Depth
		rank := rankOf(pos, k)
		c.mu.Lock()
		nid, fresh := c.seen.insert(h, int32(c.states.len()))
		keep := fresh
		if fresh {
			c.add(q.id, m, depth+1, goal, atBound)
			c.discovered = append(c.discovered, discovery{rank: rank})
		} else if i := int(nid) - c.levelStart; i >= 0 && rank < c.discovered[i].rank {
			// Found in this level before, by a path of higher rank.
			c.discovered[i].rank = rank
			st := c.states.at(int(nid))
			st.parent, st.move = q.id, m
			keep = true
		}
		c.mu.Unlock()
		if fresh && atBound {
			w.bound++
		}
		if keep && !atBound {
			s := w.alloc()
			world.Save(s)
			c.mu.Lock()
			d := &c.discovered[int(nid)-c.levelStart]
			if d.rank == rank { // no lower rank came meanwhile
				s, d.snap = d.snap, s
			}
			c.mu.Unlock()
			if s != nil {
				w.free = append(w.free, s)
			}
		}
		if !w.gaveUp && nid != q.id && !slices.Contains(w.succ, nid) {
			w.succ = append(w.succ, nid)
		}
	}
	w.free = append(w.free, q.snap)
	w.expanded++
	checkMem := w.expanded&1023 == 0

	c.mu.Lock()
	defer c.mu.Unlock()
	c.states.at(int(q.id)).flags |= flags
	c.succ.append(q.id)
	c.succ.append(int32(len(w.succ)))
	for _, s := range w.succ {
		c.succ.append(s)
	}
	c.progress(depth)
	switch {
	case o.MaxStates > 0 && c.states.len() >= o.MaxStates:
		c.halt("max-states")
	case checkMem && c.overBudget():
		c.halt("memory")
	}
}
