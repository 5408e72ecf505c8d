package machine

// seqRange is the sequence space [start, end).
type seqRange struct{ start, end uint32 }

// rangeSet is sorted, disjoint, non-touching sequence ranges: the
// receive side's out-of-order text, the send side's SACK scoreboard. Its
// storage grows on demand, never past the limit add is given (which the
// configuration sets, not the peer), and is kept when the set empties.
type rangeSet struct {
	r []seqRange // r[:n] are in use
	n int
}

// add merges r into the set, joining the ranges it overlaps or touches.
// With limit ranges in use, a range that would need another is not
// recorded.
func (b *rangeSet) add(r seqRange, limit int) {
	i := 0
	for i < b.n && SeqLT(b.r[i].end, r.start) {
		i++
	}
	j := i
	for j < b.n && SeqLEQ(b.r[j].start, r.end) {
		if SeqLT(b.r[j].start, r.start) {
			r.start = b.r[j].start
		}
		if SeqGT(b.r[j].end, r.end) {
			r.end = b.r[j].end
		}
		j++
	}
	switch {
	case i == j: // a new range before r[i]
		if b.n >= limit {
			return
		}
		if b.n == len(b.r) {
			b.r = append(b.r, seqRange{})
		}
		copy(b.r[i+1:b.n+1], b.r[i:b.n])
		b.n++
	case j > i+1: // r[i:j] merge into one
		copy(b.r[i+1:], b.r[j:b.n])
		b.n -= j - i - 1
	}
	b.r[i] = r
}

// copyTo makes dst a copy of b, reusing dst's storage.
func (b *rangeSet) copyTo(dst *rangeSet) {
	dst.r = append(dst.r[:0], b.r[:b.n]...)
	dst.n = b.n
}

// clear empties the set, keeping its storage.
func (b *rangeSet) clear() { b.n = 0 }

// dropFirst removes the first k ranges.
func (b *rangeSet) dropFirst(k int) {
	copy(b.r[:], b.r[k:b.n])
	b.n -= k
}

// ackedTo drops the sequence space before una (the scoreboard, once
// SND.UNA passes it).
func (b *rangeSet) ackedTo(una uint32) {
	k := 0
	for _, r := range b.r[:b.n] {
		if SeqLEQ(r.end, una) {
			continue
		}
		if SeqLT(r.start, una) {
			r.start = una
		}
		b.r[k] = r
		k++
	}
	b.n = k
}
