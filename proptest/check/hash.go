package check

import (
	"encoding/binary"
	"math/bits"
)

// hashKey is a 64-bit hash of a state key (a wyhash-style mix of 8-byte
// words). The checker identifies states by it: with n states the chance of
// any collision is about n^2 / 2^65, under 10^-5 for ten million states.
func hashKey(b []byte) uint64 {
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
	)
	h := uint64(len(b)) * p0
	for len(b) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(b), p1)
		b = b[8:]
	}
	var last [8]byte
	copy(last[:], b)
	h = mix(h^binary.LittleEndian.Uint64(last[:])^uint64(len(b))<<56, p2)
	return mix(h, p1)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// stateSet maps state hashes to state numbers: open addressing with linear
// probing; hash 0 is stored as 1 (0 marks an empty slot).
type stateSet struct {
	keys []uint64
	ids  []int32
	n    int
}

func newStateSet() *stateSet {
	return &stateSet{keys: make([]uint64, 1<<16), ids: make([]int32, 1<<16)}
}

// insert returns the number of the state with hash h, adding it as id if
// it is new.
func (s *stateSet) insert(h uint64, id int32) (int32, bool) {
	if h == 0 {
		h = 1
	}
	if 4*(s.n+1) > 3*len(s.keys) {
		s.grow()
	}
	mask := uint64(len(s.keys) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case 0:
			s.keys[i], s.ids[i] = h, id
			s.n++
			return id, true
		case h:
			return s.ids[i], false
		}
	}
}

func (s *stateSet) grow() {
	keys, ids := s.keys, s.ids
	s.keys = make([]uint64, 2*len(keys))
	s.ids = make([]int32, 2*len(keys))
	s.n = 0
	for i, k := range keys {
		if k != 0 {
			s.insert(k, ids[i])
		}
	}
}
