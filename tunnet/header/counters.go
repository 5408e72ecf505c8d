package header

import (
	"errors"
	"sync/atomic"
)

// Counters counts dropped packets, one counter per [Reason].
//
// The counters are atomic: the runtime may run one reader loop per TUN
// queue, all sharing one Counters, and a metrics reader may load them while
// the loops write. Counting happens only on the drop path, so the cost of
// an uncontended atomic add (a few nanoseconds) does not matter, and plain
// ints would be a data race. The zero value is ready to use; a Counters must
// not be copied after first use.
type Counters struct {
	Short          atomic.Uint64
	BadVersion     atomic.Uint64
	BadHeaderLen   atomic.Uint64
	BadLength      atomic.Uint64
	Fragment       atomic.Uint64
	BadIPChecksum  atomic.Uint64
	NotTCP         atomic.Uint64
	BadExtHeader   atomic.Uint64
	BadDataOffset  atomic.Uint64
	BadTCPChecksum atomic.Uint64
	BadOptions     atomic.Uint64
	Other          atomic.Uint64 // errors not from this package
}

// Count adds one to the counter for err's reason. A nil err counts nothing.
// It does not allocate.
func (c *Counters) Count(err error) {
	if err == nil {
		return
	}
	c.counter(ReasonOf(err)).Add(1)
}

// Get returns the current value of the counter for r.
func (c *Counters) Get(r Reason) uint64 {
	return c.counter(r).Load()
}

// Snapshot returns the current values of all counters, indexed by Reason.
func (c *Counters) Snapshot() [NumReasons]uint64 {
	var s [NumReasons]uint64
	for r := range NumReasons {
		s[r] = c.counter(r).Load()
	}
	return s
}

func (c *Counters) counter(r Reason) *atomic.Uint64 {
	switch r {
	case ReasonShort:
		return &c.Short
	case ReasonBadVersion:
		return &c.BadVersion
	case ReasonBadHeaderLen:
		return &c.BadHeaderLen
	case ReasonBadLength:
		return &c.BadLength
	case ReasonFragment:
		return &c.Fragment
	case ReasonBadIPChecksum:
		return &c.BadIPChecksum
	case ReasonNotTCP:
		return &c.NotTCP
	case ReasonBadExtHeader:
		return &c.BadExtHeader
	case ReasonBadDataOffset:
		return &c.BadDataOffset
	case ReasonBadTCPChecksum:
		return &c.BadTCPChecksum
	case ReasonBadOptions:
		return &c.BadOptions
	default:
		return &c.Other
	}
}

// ReasonOf returns the drop reason of err: that of the first *Error in its
// chain, or ReasonOther. It does not allocate.
func ReasonOf(err error) Reason {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.reason
		}
		err = errors.Unwrap(err)
	}
	return ReasonOther
}
