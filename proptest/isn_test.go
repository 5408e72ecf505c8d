package proptest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"pgregory.net/rapid"
)

// TestPropertyISNTuples is invariant 16's "distinct across 4-tuples"
// (RFC 9293 3.4.1: F hashes the whole 4-tuple): two 4-tuples that differ
// in one bit of one address (IPv4 or IPv6) or of one port get different
// ISNs, and different SYN cookies, at the same instant, so an off-path attacker who knows one
// connection's ISN learns nothing of a neighbour's. The World has one
// 4-tuple, so this draws them. (A 32-bit hash collides with probability
// 2^-32 per pair: no run of this size meets one.)
func TestPropertyISNTuples(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var key [16]byte
		copy(key[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "key"))
		addr := func(label string) netip.Addr {
			if rapid.Bool().Draw(t, label+"_v6") {
				return netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label)))
			}
			return netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, label)))
		}
		a := machine.Tuple{LocalAddr: addr("local"), LocalPort: rapid.Uint16().Draw(t, "lport"),
			RemoteAddr: addr("remote"), RemotePort: rapid.Uint16().Draw(t, "rport")}
		b := a
		flip := func(x netip.Addr, i int) netip.Addr {
			if x.Is4() {
				s := x.As4()
				s[i%4] ^= 1 << (i % 8)
				return netip.AddrFrom4(s)
			}
			s := x.As16()
			s[i%16] ^= 1 << (i % 8)
			return netip.AddrFrom16(s)
		}
		i := rapid.IntRange(0, 63).Draw(t, "bit")
		switch field := rapid.IntRange(0, 3).Draw(t, "field"); field {
		case 0:
			b.LocalAddr = flip(a.LocalAddr, i)
		case 1:
			b.LocalPort ^= 1 << (i % 16)
		case 2:
			b.RemoteAddr = flip(a.RemoteAddr, i)
		case 3:
			b.RemotePort ^= 1 << (i % 16)
		}
		if x, y := machine.ISN(&key, a, 0), machine.ISN(&key, b, 0); x == y {
			t.Fatalf("invariant 16: 4-tuples %+v and %+v get the same ISN %d", a, b, x)
		}
		// SYN cookies hash the 4-tuple too (RFC 4987 3.6): the same SYN
		// at two listeners one bit apart gets two cookies.
		if x, y := cookieFor(key, a), cookieFor(key, b); x == y {
			t.Fatalf("invariant 43: 4-tuples %+v and %+v get the same SYN cookie %d", a, b, x)
		}
	})
}

// cookieFor is the SYN cookie a listener on tuple t, with ISN key key,
// answers a fixed SYN with at time 0.
func cookieFor(key [16]byte, t machine.Tuple) uint32 {
	c := machine.NewConn(&machine.Config{ISNKey: key, SYNCookies: true}, t)
	if err := c.Listen(0); err != nil {
		panic(err)
	}
	c.Input(0, &machine.Segment{Flags: machine.SYN, Seq: 1000, Window: 1000, MSS: 1460})
	out := c.Outbox()
	if len(out) != 1 {
		panic(fmt.Sprintf("a cookie listener answered a SYN with %d segments", len(out)))
	}
	return out[0].Seq
}
