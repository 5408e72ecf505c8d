package check

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/proptest"
)

// TestChunked: elements keep their values and addresses across block
// boundaries.
func TestChunked(t *testing.T) {
	var c chunked[int32]
	const n = 3<<chunkBits + 5
	for i := 0; i < n; i++ {
		c.append(int32(i))
	}
	first := c.at(0)
	for i := 0; i < n; i++ {
		c.append(-1)
	}
	if c.len() != 2*n || c.at(0) != first {
		t.Fatalf("len %d (want %d); first element moved: %v", c.len(), 2*n, c.at(0) != first)
	}
	for i := 0; i < n; i++ {
		if got := *c.at(i); got != int32(i) {
			t.Fatalf("element %d = %d", i, got)
		}
	}
}

// TestSnapQueue: first in, first out, across growth of the ring; a
// released snapshot is the next one handed out, and one not released is
// never handed out twice.
func TestSnapQueue(t *testing.T) {
	var q snapQueue
	live := map[*proptest.Snapshot]bool{}
	next, want := int32(0), int32(0)
	for round := 0; round < 5000; round++ {
		for k := 0; k < 1+round%3; k++ { // the queue grows: more pushes than pops
			s := q.push(next)
			if live[s] {
				t.Fatalf("push %d: snapshot %p is already queued", next, s)
			}
			live[s] = true
			next++
		}
		s, id := q.pop()
		if id != want {
			t.Fatalf("pop = %d, want %d", id, want)
		}
		want++
		delete(live, s)
		q.release(s)
		if got := q.push(next); got != s {
			t.Fatalf("push after release got %p, want the released %p", got, s)
		}
		live[s] = true
		next++
	}
	if q.len() != int(next-want) {
		t.Fatalf("len %d, want %d", q.len(), next-want)
	}
	var ids []int32
	q.each(func(id int32) { ids = append(ids, id) })
	for i, id := range ids {
		if id != want+int32(i) {
			t.Fatalf("each: element %d is %d, want %d", i, id, want+int32(i))
		}
	}
	for i := 0; q.len() > 0; i++ {
		if _, id := q.pop(); id != want+int32(i) {
			t.Fatalf("draining: pop = %d, want %d", id, want+int32(i))
		}
	}
}

// TestHashKeyDistinct: keys that differ in one byte, or only in length
// (trailing zeros), hash apart.
func TestHashKeyDistinct(t *testing.T) {
	seen := map[uint64]string{}
	add := func(b []byte) {
		h := hashKey(b)
		if prev, ok := seen[h]; ok && prev != string(b) {
			t.Fatalf("hashKey(%x) = hashKey(%x) = %#x", b, prev, h)
		}
		seen[h] = string(b)
	}
	for n := 0; n <= 48; n++ {
		add(make([]byte, n))
		for i := 0; i < n; i++ {
			for _, v := range []byte{1, 0x80, 0xff} {
				b := make([]byte, n)
				b[i] = v
				add(b)
			}
		}
	}
}
