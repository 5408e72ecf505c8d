package check

import "iter"

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

// span yields the k elements from i on.
func (c *chunked[T]) span(i, k int) iter.Seq[T] {
	return func(yield func(T) bool) {
		for j := range k {
			if !yield(*c.at(i + j)) {
				return
			}
		}
	}
}
