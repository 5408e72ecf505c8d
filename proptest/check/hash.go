package check

import (
	"encoding/binary"
	"math/bits"
)

// hashKey is a 64-bit hash of a state key (wyhash's mix of 16-byte
// blocks: one 64x64-bit multiply per block). The checker identifies states
// by it: with n states the chance of any collision is about n^2 / 2^65,
// under 10^-5 for ten million states.
func hashKey(b []byte) uint64 {
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
		p3 = 0x589965cc75374cc3
	)
	n := uint64(len(b))
	h := mix(n^p0, p1)
	for len(b) > 16 {
		h = mix(binary.LittleEndian.Uint64(b)^p1, binary.LittleEndian.Uint64(b[8:])^h)
		b = b[16:]
	}
	// The last 1 to 16 bytes (none for an empty key), as two words.
	var lo, hi uint64
	switch {
	case len(b) >= 8:
		lo = binary.LittleEndian.Uint64(b)
		hi = binary.LittleEndian.Uint64(b[len(b)-8:]) // overlaps lo when len(b) < 16
	case len(b) > 0:
		var last [8]byte
		copy(last[:], b)
		lo = binary.LittleEndian.Uint64(last[:])
	}
	h = mix(lo^p2, hi^h)
	return mix(h^n, p3)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// slot is one entry of a stateSet: a state's hash (split in two words, so
// that a slot is 12 bytes) and its number, side by side so that a lookup
// touches one cache line.
type slot struct {
	lo, hi uint32
	id     int32
}

// stateSet maps state hashes to state numbers: open addressing with linear
// probing; hash 0 is stored as 1 (0 marks an empty slot).
type stateSet struct {
	slots []slot
	n     int
}

func newStateSet() *stateSet {
	return &stateSet{slots: make([]slot, 1<<16)}
}

// insert returns the number of the state with hash h, adding it as id if
// it is new.
func (s *stateSet) insert(h uint64, id int32) (int32, bool) {
	if h == 0 {
		h = 1
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	lo, hi := uint32(h), uint32(h>>32)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &s.slots[i]
		if e.lo == lo && e.hi == hi {
			return e.id, false
		}
		if e.lo == 0 && e.hi == 0 {
			*e = slot{lo, hi, id}
			s.n++
			return id, true
		}
	}
}

func (s *stateSet) grow() {
	old := s.slots
	s.slots = make([]slot, 2*len(old))
	s.n = 0
	for _, e := range old {
		if e.lo != 0 || e.hi != 0 {
			s.insert(uint64(e.hi)<<32|uint64(e.lo), e.id)
		}
	}
}
