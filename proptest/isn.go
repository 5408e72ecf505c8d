package proptest

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// NearWrapKey is an ISN key under which the ISN offsets F of simnet's
// default tuple, as A and as B see it, differ by NearWrapGap: at a clock
// value where A's ISS is 2^32 - k, B's (chosen when A's SYN arrives, with
// no time passed) is 2^32 - k + NearWrapGap. With k in (NearWrapGap, 1000]
// both sides start within 1000 of 2^32 and both byte streams cross the wrap
// (invariant 2). FindNearWrapKey derives it (a search of about a second);
// TestNearWrapKey checks the constant against the search.
func NearWrapKey() [16]byte { return keyFromIndex(9532428) }

// NearWrapGap is ISS(B) - ISS(A) under NearWrapKey at the same clock.
const NearWrapGap = 309

func keyFromIndex(i uint64) [16]byte {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], i)
	return key
}

// FindNearWrapKey returns the first key (counting up from index 1) under
// which B's ISN offset exceeds A's by 1..maxGap, with its gap.
func FindNearWrapKey(maxGap uint32) (key [16]byte, gap uint32) {
	ta := simnet.DefaultTuple()
	tb := simnet.Reverse(ta)
	for i := uint64(1); ; i++ {
		key = keyFromIndex(i)
		if d := machine.ISN(&key, tb, 0) - machine.ISN(&key, ta, 0); d >= 1 && d <= maxGap {
			return key, d
		}
	}
}

// isnTick is the period of the ISN clock M (RFC 9293 3.4.1).
const isnTick = 4 * time.Microsecond

// StartNearWrap returns the clock value at which side A of a World built
// with cfg (and simnet's default tuple) chooses the ISS 2^32 - k on
// Connect. It verifies the result on a throwaway Conn, so that a change in
// the ISN generator shows up as an error here rather than as runs that
// silently stop crossing the wrap.
func StartNearWrap(cfg machine.Config, k uint32) (time.Duration, error) {
	cfg = TestConfig(cfg)
	cfg.Observer, cfg.Step = nil, nil
	t := simnet.DefaultTuple()
	f := machine.ISN(&cfg.ISNKey, t, 0)
	start := time.Duration(-k-f) * isnTick
	c := machine.NewConn(&cfg, t)
	if err := c.Connect(start); err != nil {
		return 0, fmt.Errorf("start near wrap: connect: %w", err)
	}
	if got := c.Vars().ISS; got != -k {
		return 0, fmt.Errorf("start near wrap: at %v A chose ISS %d, want 2^32 - %d = %d", start, got, k, -k)
	}
	return start, nil
}
