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

// TestWorkerAlloc: a freed snapshot is the next one handed out, and one
// not freed is never handed out twice.
func TestWorkerAlloc(t *testing.T) {
	var w worker
	live := map[*proptest.Snapshot]bool{}
	var held []*proptest.Snapshot
	for round := 0; round < 3000; round++ {
		for k := 0; k < 1+round%3; k++ { // more taken than freed: slabs grow
			s := w.alloc()
			if live[s] {
				t.Fatalf("round %d: snapshot %p handed out twice", round, s)
			}
			live[s] = true
			held = append(held, s)
		}
		s := held[0]
		held = held[1:]
		delete(live, s)
		w.free = append(w.free, s)
		if got := w.alloc(); got != s {
			t.Fatalf("alloc after free got %p, want the freed %p", got, s)
		}
		live[s] = true
		held = append(held, s)
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
