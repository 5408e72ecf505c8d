package header

import (
	"encoding/binary"
	mathrand "math/rand"
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/quick"
)

func TestSumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4000)
	for i := range 20000 {
		n := r.IntN(len(buf))
		if i < 200 {
			n = i // every short length, including the tails
		}
		b := buf[:n]
		switch i % 5 {
		case 0: // all ones: maximal carries
			for j := range b {
				b[j] = 0xff
			}
		case 1:
			clear(b)
		default:
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		}
		init := uint16(r.Uint32())
		if i%7 == 0 {
			init = 0xffff
		}
		if got, want := Sum(b, init), naiveSum(b, init); got != want {
			t.Fatalf("Sum(len %d, init %#04x) = %#04x, naive %#04x", n, init, got, want)
		}
	}
}

func TestSumUnaligned(t *testing.T) {
	// Sum must not depend on the alignment of b in memory.
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 300)
	for j := range buf {
		buf[j] = byte(r.Uint32())
	}
	for off := range 16 {
		b := buf[off : off+257]
		if got, want := Sum(b, 0), naiveSum(b, 0); got != want {
			t.Fatalf("offset %d: Sum = %#04x, naive %#04x", off, got, want)
		}
	}
}

func TestSumChaining(t *testing.T) {
	f := func(a, b []byte, init uint16) bool {
		if len(a)%2 == 1 {
			a = a[:len(a)-1]
		}
		whole := append(append([]byte{}, a...), b...)
		return Sum(b, Sum(a, init)) == Sum(whole, init)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000, Rand: newQuickRand()}); err != nil {
		t.Fatal(err)
	}
}

func TestChecksumVerifies(t *testing.T) {
	// Writing Checksum into a zeroed, even-aligned field makes the data sum
	// to 0xffff, the receiver's test.
	f := func(data []byte, pos uint8) bool {
		if len(data) < 2 {
			return true
		}
		i := int(pos) % (len(data) / 2) * 2
		data[i], data[i+1] = 0, 0
		binary.BigEndian.PutUint16(data[i:], Checksum(data))
		return naiveSum(data, 0) == 0xffff
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000, Rand: newQuickRand()}); err != nil {
		t.Fatal(err)
	}
}

func TestCombine(t *testing.T) {
	f := func(a, b uint16) bool {
		return Combine(a, b) == naiveSum([]byte{byte(a >> 8), byte(a), byte(b >> 8), byte(b)}, 0)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 20000, Rand: newQuickRand()}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateChecksum(t *testing.T) {
	// Changing one word and updating incrementally gives a checksum that
	// still verifies, i.e. the data sums to 0xffff.
	f := func(data []byte, pos uint8, nw uint16) bool {
		if len(data) < 4 {
			return true
		}
		data[0], data[1] = 0, 0
		binary.BigEndian.PutUint16(data, Checksum(data))
		i := 2 + int(pos)%((len(data)-2)/2)*2
		old := binary.BigEndian.Uint16(data[i:])
		binary.BigEndian.PutUint16(data[i:], nw)
		ck := UpdateChecksum(binary.BigEndian.Uint16(data), old, nw)
		binary.BigEndian.PutUint16(data, ck)
		return naiveSum(data, 0) == 0xffff
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000, Rand: newQuickRand()}); err != nil {
		t.Fatal(err)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	cases := []struct {
		src, dst netip.Addr
		length   int
		ph       []byte
	}{
		{v4Src, v4Dst, 1480, []byte{10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0x05, 0xc8}},
		{v6Src, v6Dst, 70000, append(append(v6Src.AsSlice(), v6Dst.AsSlice()...), 0, 1, 0x11, 0x70, 0, 0, 0, 6)},
	}
	for _, c := range cases {
		if got, want := PseudoHeaderSum(c.src, c.dst, ProtocolTCP, c.length), naiveSum(c.ph, 0); got != want {
			t.Errorf("PseudoHeaderSum(%v, %v, %d) = %#04x, want %#04x", c.src, c.dst, c.length, got, want)
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	b := make([]byte, 1500)
	if n := testing.AllocsPerRun(100, func() { _ = Checksum(b) }); n != 0 {
		t.Fatalf("Checksum allocates %v times", n)
	}
}

// newQuickRand returns a seeded source so testing/quick runs are reproducible.
func newQuickRand() *mathrand.Rand { return mathrand.New(mathrand.NewSource(5)) }

var checksumSink uint16

func BenchmarkChecksum1500(b *testing.B) {
	data := make([]byte, 1500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		checksumSink = Checksum(data)
	}
}

func BenchmarkChecksumNaive1500(b *testing.B) {
	data := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		checksumSink = ^naiveSum(data, 0)
	}
}
