package header

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// randOptions returns options with each kind present at random, trimmed so
// that they fit in 40 bytes.
func randOptions(r *rand.Rand) Options {
	var o Options
	if r.IntN(2) == 0 {
		o.MSS, o.HasMSS = uint16(r.Uint32()), true
	}
	if r.IntN(2) == 0 {
		o.WScale, o.HasWScale = uint8(r.IntN(15)), true
	}
	o.SACKPermitted = r.IntN(2) == 0
	if r.IntN(2) == 0 {
		o.TSVal, o.TSEcr, o.HasTS = r.Uint32(), r.Uint32(), true
	}
	o.NumSACK = r.IntN(MaxSACKBlocks + 1)
	for i := range o.NumSACK {
		o.SACK[i] = SACKBlock{r.Uint32(), r.Uint32()}
	}
	for OptionsLen(&o) > TCPMaxOptionsLen {
		o.SACK[o.NumSACK-1] = SACKBlock{}
		o.NumSACK--
	}
	return o
}

func randAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var a [16]byte
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
}

func randPacket(r *rand.Rand, v6 bool) *Packet {
	p := &Packet{
		Src: randAddr(r, v6), Dst: randAddr(r, v6), TTL: uint8(r.Uint32()), TOS: uint8(r.Uint32()),
		TCP: TCP{
			SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
			Flags: uint8(r.Uint32()), Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32()), Opts: randOptions(r),
		},
		Payload: make([]byte, r.IntN(1500)),
	}
	for i := range p.Payload {
		p.Payload[i] = byte(r.Uint32())
	}
	if v6 {
		p.Version, p.FlowLabel, p.IPHeaderLen = 6, r.Uint32()&0xfffff, IPv6HeaderLen
	} else {
		p.Version, p.ID, p.DontFragment, p.IPHeaderLen = 4, uint16(r.Uint32()), r.IntN(2) == 0, IPv4MinHeaderLen
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	buf := make([]byte, 2000)
	kinds := map[string]int{}
	for i := range 5000 {
		v6 := i%2 == 1
		p := randPacket(r, v6)
		n, err := Encode(buf, p)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", p, err)
		}
		if want := PacketLen(v6, &p.TCP.Opts, len(p.Payload)); n != want {
			t.Fatalf("Encode wrote %d bytes, PacketLen says %d", n, want)
		}
		var got Packet
		if err := Decode(buf[:n], &got); err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", p, err)
		}
		if want := uint8(5 + OptionsLen(&p.TCP.Opts)/4); got.TCP.DataOffset != want {
			t.Fatalf("data offset %d, want %d", got.TCP.DataOffset, want)
		}
		if d := diffPacket(p, &got, false); d != "" {
			t.Fatalf("round trip %d (v6=%v): %s", i, v6, d)
		}
		o := p.TCP.Opts
		for k, has := range map[string]bool{"mss": o.HasMSS, "ws": o.HasWScale, "sackok": o.SACKPermitted, "ts": o.HasTS, "sack": o.NumSACK > 0, "sack4": o.NumSACK == 4} {
			if has {
				kinds[k]++
			}
		}
	}
	for _, k := range []string{"mss", "ws", "sackok", "ts", "sack", "sack4"} {
		if kinds[k] == 0 {
			t.Errorf("option kind %s never exercised", k)
		}
	}
}

func TestEncodeLinuxSYNLayout(t *testing.T) {
	// The aligned layout is byte-for-byte what Linux puts on a SYN.
	o := linuxSYNOpts()
	o.TSVal = 0x01020304
	b := make([]byte, 100)
	n, err := EncodeTCP(b, v4Src, v4Dst, &TCP{SrcPort: 1, DstPort: 2, Flags: FlagSYN, Opts: o}, nil, DefaultTTL)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7}
	if got := b[40:n]; !bytes.Equal(got, want) {
		t.Fatalf("options % x, want % x", got, want)
	}
	if b[32]>>4 != 10 {
		t.Fatalf("data offset %d, want 10", b[32]>>4)
	}
	if b[6] != 0x40 || b[8] != DefaultTTL {
		t.Fatalf("flags byte %#x ttl %d: want DF and TTL %d", b[6], b[8], DefaultTTL)
	}
}

func TestEncodeOptionLayouts(t *testing.T) {
	sack := func(n int) Options {
		o := Options{NumSACK: n}
		for i := range n {
			o.SACK[i] = SACKBlock{uint32(i), uint32(i + 1)}
		}
		return o
	}
	cases := []struct {
		name string
		o    Options
		want []byte
	}{
		{"none", Options{}, nil},
		{"SACK-permitted only", Options{SACKPermitted: true}, []byte{1, 1, 4, 2}},
		{"timestamps only", Options{HasTS: true, TSVal: 1, TSEcr: 2}, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"window scale only", Options{HasWScale: true, WScale: 14}, []byte{1, 3, 3, 14}},
		{"one SACK block", sack(1), []byte{1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"timestamps + 3 SACK blocks (40 bytes)", func() Options { o := sack(3); o.HasTS = true; return o }(),
			[]byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 5, 26, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}},
		{"packed fallback: MSS + TS + 3 SACK blocks", func() Options {
			o := sack(3)
			o.HasTS, o.HasMSS, o.MSS = true, true, 536
			return o
		}(), []byte{2, 4, 2, 24, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 5, 26, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}},
		{"aligned at exactly 40 bytes", func() Options {
			o := sack(2)
			o.HasTS, o.HasMSS, o.MSS, o.HasWScale, o.WScale, o.SACKPermitted = true, true, 1, true, 2, true
			return o
		}(), []byte{2, 4, 0, 1, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 2, 1, 1, 5, 18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"packed fallback with EOL padding", func() Options {
			o := sack(3)
			o.HasTS, o.HasWScale, o.WScale = true, true, 2
			return o
		}(), []byte{8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 2, 5, 26, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OptionsLen(&c.o); got != len(c.want) {
				t.Fatalf("OptionsLen = %d, want %d", got, len(c.want))
			}
			b := make([]byte, 200)
			h := TCP{Opts: c.o}
			n, err := EncodeTCP(b, v6Src, v6Dst, &h, []byte{9}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := b[60 : n-1]; !bytes.Equal(got, c.want) {
				t.Fatalf("options\n got  % x\n want % x", got, c.want)
			}
			var p Packet
			if err := Decode(b[:n], &p); err != nil {
				t.Fatal(err)
			}
			if p.TCP.Opts != c.o {
				t.Fatalf("decoded options %+v, want %+v", p.TCP.Opts, c.o)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	big := make([]byte, 70000)
	cases := []struct {
		name     string
		src, dst netip.Addr
		h        TCP
		payload  []byte
		buf      int
		want     error
	}{
		{"mixed families", v4Src, v6Dst, TCP{}, nil, 100, ErrAddrFamily},
		{"invalid address", netip.Addr{}, v4Dst, TCP{}, nil, 100, ErrAddrFamily},
		{"NumSACK 5", v4Src, v4Dst, TCP{Opts: Options{NumSACK: 5}}, nil, 100, ErrSACKCount},
		{"NumSACK -1", v4Src, v4Dst, TCP{Opts: Options{NumSACK: -1}}, nil, 100, ErrSACKCount},
		{"options too long", v4Src, v4Dst, TCP{Opts: Options{NumSACK: 4, HasTS: true}}, nil, 100, ErrOptionsTooLong},
		{"buffer too small", v4Src, v4Dst, TCP{}, []byte{1}, 40, ErrBufferTooSmall},
		{"v4 too long", v4Src, v4Dst, TCP{}, big[:65535-40+1], 70000, ErrTooLong},
		{"v6 too long", v6Src, v6Dst, TCP{}, big[:65535-20+1], 70000, ErrTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, c.buf)
			if _, err := EncodeTCP(b, c.src, c.dst, &c.h, c.payload, 64); err != c.want {
				t.Fatalf("EncodeTCP = %v, want %v", err, c.want)
			}
		})
	}
	// The largest packets still fit.
	b := make([]byte, 70000)
	if n, err := EncodeTCP(b, v4Src, v4Dst, &TCP{}, big[:65535-40], 64); err != nil || n != 65535 {
		t.Fatalf("largest IPv4 packet: n=%d err=%v", n, err)
	}
	if n, err := EncodeTCP(b, v6Src, v6Dst, &TCP{}, big[:65535-20], 64); err != nil || n != 40+65535 {
		t.Fatalf("largest IPv6 packet: n=%d err=%v", n, err)
	}
	var p Packet
	if err := Decode(b[:40+65535], &p); err != nil || len(p.Payload) != 65535-20 {
		t.Fatalf("decoding largest IPv6 packet: %v (payload %d)", err, len(p.Payload))
	}
}

func TestEncodePayloadInPlace(t *testing.T) {
	h := TCP{SrcPort: 5, DstPort: 6, Flags: FlagACK, Opts: Options{HasTS: true, TSVal: 3}}
	hdr := PacketLen(false, &h.Opts, 0)
	b := make([]byte, 1500)
	payload := b[hdr : hdr+100]
	for i := range payload {
		payload[i] = byte(i)
	}
	n, err := EncodeTCP(b, v4Src, v4Dst, &h, payload, 64)
	if err != nil || n != hdr+100 {
		t.Fatalf("EncodeTCP: n=%d err=%v", n, err)
	}
	var p Packet
	if err := Decode(b[:n], &p); err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Payload {
		if c != byte(i) {
			t.Fatalf("payload byte %d = %d", i, c)
		}
	}
}

func TestEncode4In6(t *testing.T) {
	// An IPv4-mapped IPv6 pair is encoded as IPv6 and decodes to the same
	// (mapped) addresses.
	src, dst := netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.2")
	b := make([]byte, 100)
	n, err := EncodeTCP(b, src, dst, &TCP{}, nil, 64)
	if err != nil || b[0]>>4 != 6 {
		t.Fatalf("EncodeTCP: err=%v version=%d", err, b[0]>>4)
	}
	var p Packet
	if err := Decode(b[:n], &p); err != nil || p.Src != src || p.Dst != dst {
		t.Fatalf("Decode: err=%v src=%v dst=%v", err, p.Src, p.Dst)
	}
}

func TestEncodeAllocs(t *testing.T) {
	p := basePacket(true)
	p.TCP.Opts = linuxSYNOpts()
	b := make([]byte, 200)
	if n := testing.AllocsPerRun(100, func() { _, _ = Encode(b, p) }); n != 0 {
		t.Fatalf("Encode allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = EncodeTCP(b, v4Src, v4Dst, &p.TCP, p.Payload, 64) }); n != 0 {
		t.Fatalf("EncodeTCP allocates %v times", n)
	}
}

// TestEncodeTCPPartial: the field EncodeTCPPartial leaves is the
// pseudo-header sum, so that a device summing the segment from the TCP
// header on (virtio-net NEEDS_CSUM) writes the checksum EncodeTCP would.
func TestEncodeTCPPartial(t *testing.T) {
	for _, pair := range [][2]netip.Addr{
		{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		{netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")},
	} {
		h := TCP{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK | FlagPSH, Window: 5}
		h.Opts.HasTS, h.Opts.TSVal, h.Opts.TSEcr = true, 6, 7
		payload := []byte("partial checksums, completed by the device")
		full, part := make([]byte, 200), make([]byte, 200)
		n, err := EncodeTCP(full, pair[0], pair[1], &h, payload, 64)
		if err != nil {
			t.Fatal(err)
		}
		m, err := EncodeTCPPartial(part, pair[0], pair[1], &h, payload, 64)
		if err != nil || m != n {
			t.Fatalf("EncodeTCPPartial: %d, %v; EncodeTCP %d", m, err, n)
		}
		ipLen := IPv4MinHeaderLen
		if pair[0].Is6() {
			ipLen = IPv6HeaderLen
		}
		if got, want := binary.BigEndian.Uint16(part[ipLen+16:]), PseudoHeaderSum(pair[0], pair[1], ProtocolTCP, n-ipLen); got != want {
			t.Errorf("%v: partial field %#x, want the pseudo-header sum %#x", pair[0], got, want)
		}
		// What the device does: sum from the TCP header on, complement.
		binary.BigEndian.PutUint16(part[ipLen+16:], ^Sum(part[ipLen:n], 0))
		if !bytes.Equal(part[:n], full[:n]) {
			t.Errorf("%v: completed partial packet differs from EncodeTCP's", pair[0])
		}
	}
}
