package machine

import (
	"net/netip"
	"testing"
	"time"
)

// SipHash-2-4 test vectors from the SipHash paper (Appendix A) and the
// reference implementation's vectors.h: key 00..0f, message 00..(n-1).
func TestSipHashVectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, tc := range []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{1, 0x74f839c593dc67fd},
		{8, 0x93f5f5799a932462},
		{15, 0xa129ca6149be45e5},
	} {
		if got := sipHash24(&key, msg[:tc.n]); got != tc.want {
			t.Errorf("SipHash-2-4 of %d bytes = %#016x, want %#016x", tc.n, got, tc.want)
		}
	}
}

// Invariant 16: ISNs differ across 4-tuples and grow with time for one
// 4-tuple; they depend on the key; they are deterministic.
func TestISN(t *testing.T) {
	key := [16]byte{7, 7, 7}
	now := 3 * time.Hour
	seen := map[uint32]Tuple{}
	for lp := uint16(40000); lp < 40050; lp++ {
		for _, ra := range []string{"10.0.0.2", "10.0.0.3", "fd00::2"} {
			la := "10.0.0.1"
			if ra == "fd00::2" {
				la = "fd00::1"
			}
			tu := Tuple{netip.MustParseAddr(la), lp, netip.MustParseAddr(ra), 80}
			isn := ISN(&key, tu, now)
			if other, dup := seen[isn]; dup {
				t.Fatalf("ISN %d for both %v and %v", isn, tu, other)
			}
			seen[isn] = tu
			if ISN(&key, tu, now) != isn {
				t.Fatal("ISN is not deterministic")
			}
		}
	}
	tu := tupleA
	prev := ISN(&key, tu, now)
	for d := 4 * time.Microsecond; d < time.Hour; d *= 3 {
		cur := ISN(&key, tu, now+d)
		if !SeqGT(cur, prev) {
			t.Fatalf("ISN did not grow: %d at +%v after %d", cur, d, prev)
		}
		if cur != ISN(&key, tu, now)+uint32(d/(4*time.Microsecond)) {
			t.Fatalf("ISN at +%v = %d, want the 4 µs clock's advance", d, cur)
		}
		prev = cur
	}
	other := [16]byte{8}
	if ISN(&key, tu, now) == ISN(&other, tu, now) {
		t.Fatal("the key does not matter")
	}
	// A Conn uses it.
	c := NewConn(&Config{ISNKey: key}, tu)
	c.Connect(now)
	if c.Vars().ISS != ISN(&key, tu, now) || c.Outbox()[0].Seq != c.Vars().ISS {
		t.Fatalf("Connect chose ISS %d, want ISN(...) = %d", c.Vars().ISS, ISN(&key, tu, now))
	}
}

func BenchmarkISN(b *testing.B) {
	key := [16]byte{1}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ISN(&key, tupleA, time.Duration(i))
	}
}
