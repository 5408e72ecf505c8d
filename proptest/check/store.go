package check

import "github.com/tcpfsm/tcpfsm/proptest"

// chunkBits sizes the blocks of a chunked sequence: 2^16 elements.
const chunkBits = 16

// chunked is an append-only sequence stored in fixed-size blocks: growing
// it never copies what it holds (a plain slice of ten million states would
// be copied again and again as append grows it, and need twice its size
// while it does).
type chunked[T any] struct {
	blocks [][]T
	n      int
}

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) *T { return &c.blocks[i>>chunkBits][i&(1<<chunkBits-1)] }

func (c *chunked[T]) append(v T) {
	if c.n>>chunkBits == len(c.blocks) {
		c.blocks = append(c.blocks, make([]T, 1<<chunkBits))
	}
	c.blocks[c.n>>chunkBits][c.n&(1<<chunkBits-1)] = v
	c.n++
}

// slabSize is how many snapshots the queue allocates at once.
const slabSize = 256

// queued is a state waiting in the BFS queue.
type queued struct {
	snap *proptest.Snapshot
	id   int32
}

// snapQueue is the BFS frontier: a FIFO (a ring that grows) of saved
// states. A snapshot whose state has been expanded goes back to a free
// list, storage and all; the next state saved takes the most recently
// freed one, whose memory is still in the cache (saving into a cold
// snapshot costs as much as the rest of a state's work). New snapshots
// come in slabs.
type snapQueue struct {
	ring       []queued // len is a power of two
	head, size int
	free       []*proptest.Snapshot
}

func (q *snapQueue) len() int { return q.size }

// push adds state id at the tail and returns its snapshot: save into it.
func (q *snapQueue) push(id int32) *proptest.Snapshot {
	if len(q.free) == 0 {
		slab := make([]proptest.Snapshot, slabSize)
		for i := range slab {
			q.free = append(q.free, &slab[len(slab)-1-i])
		}
	}
	s := q.free[len(q.free)-1]
	q.free = q.free[:len(q.free)-1]
	if q.size == len(q.ring) {
		ring := make([]queued, max(2*len(q.ring), 1024))
		for i := 0; i < q.size; i++ {
			ring[i] = q.ring[(q.head+i)&(len(q.ring)-1)]
		}
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.size)&(len(q.ring)-1)] = queued{s, id}
	q.size++
	return s
}

// pop removes the head (the queue must not be empty) and returns it.
// Release its snapshot when done with it.
func (q *snapQueue) pop() (*proptest.Snapshot, int32) {
	e := q.ring[q.head]
	q.ring[q.head] = queued{}
	q.head = (q.head + 1) & (len(q.ring) - 1)
	q.size--
	return e.snap, e.id
}

// release makes a popped snapshot the next one push returns.
func (q *snapQueue) release(s *proptest.Snapshot) { q.free = append(q.free, s) }

// each calls f with the state number of every queued state.
func (q *snapQueue) each(f func(int32)) {
	for i := 0; i < q.size; i++ {
		f(q.ring[(q.head+i)&(len(q.ring)-1)].id)
	}
}
