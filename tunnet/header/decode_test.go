package header

import (
	"encoding/binary"
	"errors"
	"testing"
)

// withExt returns a copy of the IPv6 packet pkt with the extension headers
// exts (each a complete header whose first byte is overwritten with the
// next-header chain) inserted after the fixed header, and the payload
// length fixed. The last extension header points at the original next
// header (TCP).
func withExt(pkt []byte, exts ...[]byte) []byte {
	out := append([]byte{}, pkt[:IPv6HeaderLen]...)
	next := pkt[6]
	types := make([]byte, len(exts))
	for i, e := range exts {
		types[i] = e[0]
	}
	if len(exts) > 0 {
		out[6] = types[0]
	}
	for i, e := range exts {
		h := append([]byte{}, e...)
		if i+1 < len(exts) {
			h[0] = types[i+1]
		} else {
			h[0] = next
		}
		out = append(out, h...)
	}
	out = append(out, pkt[IPv6HeaderLen:]...)
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)-IPv6HeaderLen))
	return out
}

// ext builds an extension header of the given type (stored in byte 0 until
// withExt rewrites it) and total length (a multiple of 8).
func ext(typ byte, length int) []byte {
	h := make([]byte, length)
	h[0] = typ
	h[1] = byte(length/8 - 1)
	if typ == ipv6HopByHop || typ == ipv6DestOpts {
		h[2], h[3] = 1, byte(length-4) // one PadN option filling the header
	}
	return h
}

// v4WithOpts returns an IPv4 packet whose TCP option bytes are raw (padded
// by the caller to a multiple of 4), with valid checksums.
func v4WithOpts(t *testing.T, raw []byte) []byte {
	t.Helper()
	p := basePacket(false)
	p.TCP.Opts = Options{}
	base := mustEncode(t, p)
	pkt := append([]byte{}, base[:40]...)
	pkt = append(pkt, raw...)
	pkt = append(pkt, p.Payload...)
	pkt[32] = byte((20+len(raw))/4) << 4
	binary.BigEndian.PutUint16(pkt[2:4], uint16(len(pkt)))
	fixIPv4Checksum(pkt)
	fixTCPChecksum(pkt, 20)
	return pkt
}

func TestDecodeMalformed(t *testing.T) {
	v4 := mustEncode(t, basePacket(false))
	v6 := mustEncode(t, basePacket(true))
	cp := func(b []byte) []byte { return append([]byte{}, b...) }
	// v4mut copies the IPv4 packet, applies f, and fixes both checksums so
	// that only the intended defect remains.
	v4mut := func(f func(b []byte) []byte) []byte {
		b := f(cp(v4))
		fixIPv4Checksum(b)
		return b
	}
	v4tcp := func(f func(b []byte) []byte) []byte {
		b := f(cp(v4))
		fixIPv4Checksum(b)
		fixTCPChecksum(b, 20)
		return b
	}
	v6mut := func(f func(b []byte) []byte) []byte { return f(cp(v6)) }
	hbh := ext(ipv6HopByHop, 8)
	frag := func(offM uint16) []byte {
		h := make([]byte, 8)
		h[0] = ipv6Fragment
		binary.BigEndian.PutUint16(h[2:], offM)
		return h
	}
	routing := func(segLeft byte) []byte {
		h := ext(ipv6Routing, 24)
		h[2], h[3] = 0, segLeft
		return h
	}
	many := func(n int) [][]byte {
		var hs [][]byte
		for range n {
			hs = append(hs, ext(ipv6DestOpts, 8))
		}
		return hs
	}

	cases := []struct {
		name string
		pkt  []byte
		want *Error
	}{
		{"empty", nil, errShortEmpty},
		{"v4 shorter than header", v4[:19], errShortIPv4},
		{"version 5", v4mut(func(b []byte) []byte { b[0] = 0x55; return b }), ErrBadVersion},
		{"version 0", []byte{0x00, 1, 2}, ErrBadVersion},
		{"IHL 4", v4mut(func(b []byte) []byte { b[0] = 0x44; return b }), ErrBadHeaderLen},
		{"IHL 0", v4mut(func(b []byte) []byte { b[0] = 0x40; return b }), ErrBadHeaderLen},
		{"total length beyond buffer", v4mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], uint16(len(b)+1)); return b }), errTotalLenBeyond},
		{"truncated buffer", v4[:len(v4)-1], errTotalLenBeyond},
		{"total length below header", v4mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 19); return b }), errTotalLenBelow},
		{"total length below IHL 6", v4mut(func(b []byte) []byte { b[0] = 0x46; binary.BigEndian.PutUint16(b[2:], 20); return b }), errTotalLenBelow},
		{"bad IPv4 header checksum", func() []byte { b := cp(v4); b[10] ^= 0x01; return b }(), ErrBadIPChecksum},
		{"bad IPv4 checksum (TTL changed)", func() []byte { b := cp(v4); b[8]--; return b }(), ErrBadIPChecksum},
		{"MF set", v4mut(func(b []byte) []byte { b[6] |= 0x20; return b }), errFragIPv4},
		{"fragment offset", v4mut(func(b []byte) []byte { b[7] = 1; return b }), errFragIPv4},
		{"UDP", v4mut(func(b []byte) []byte { b[9] = 17; return b }), ErrNotTCP},
		{"ICMP", v4mut(func(b []byte) []byte { b[9] = 1; return b }), ErrNotTCP},
		{"TCP segment short", v4mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 39); return b[:39] }), errShortTCP},
		{"TCP segment empty", v4mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 20); return b }), errShortTCP},
		{"data offset 4", v4tcp(func(b []byte) []byte { b[32] = 4 << 4; return b }), errDataOffsetSmall},
		{"data offset 0", v4tcp(func(b []byte) []byte { b[32] = 0; return b }), errDataOffsetSmall},
		{"data offset beyond segment", v4mut(func(b []byte) []byte {
			b[32] = 15 << 4
			binary.BigEndian.PutUint16(b[2:], 20+40)
			return b[:60]
		}), errDataOffsetBeyond},
		{"bad TCP checksum", func() []byte { b := cp(v4); b[len(b)-1] ^= 0x80; return b }(), ErrBadTCPChecksum},
		{"bad TCP checksum (port)", func() []byte { b := cp(v4); b[21]++; return b }(), ErrBadTCPChecksum},
		{"bad TCP checksum (pseudo-header address)", v4mut(func(b []byte) []byte { b[15]++; return b }), ErrBadTCPChecksum},

		{"option kind without length", v4WithOpts(t, []byte{1, 1, 1, OptMSS}), errOptTruncated},
		{"option length 0", v4WithOpts(t, []byte{30, 0, 1, 1}), errOptLen},
		{"option length 1", v4WithOpts(t, []byte{OptMSS, 1, 1, 1}), errOptLen},
		{"option runs off the end", v4WithOpts(t, []byte{1, OptTimestamps, 10, 0}), errOptTruncated},
		{"unknown option runs off the end", v4WithOpts(t, []byte{99, 5, 0, 0}), errOptTruncated},
		{"MSS length 3", v4WithOpts(t, []byte{OptMSS, 3, 5, 0}), errOptMSS},
		{"window scale length 4", v4WithOpts(t, []byte{OptWindowScale, 4, 7, 0}), errOptWScale},
		{"SACK-permitted length 3", v4WithOpts(t, []byte{OptSACKPermitted, 3, 0, 0}), errOptSACKPerm},
		{"timestamps length 8", v4WithOpts(t, []byte{OptTimestamps, 8, 0, 0, 0, 0, 0, 0}), errOptTS},
		{"SACK length 2", v4WithOpts(t, []byte{OptSACK, 2, 0, 0}), errOptSACK},
		{"SACK length 9", v4WithOpts(t, []byte{OptSACK, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), errOptSACK},

		{"v6 shorter than header", v6[:39], errShortIPv6},
		{"v6 payload length beyond buffer", v6[:len(v6)-1], errPayloadLenBeyond},
		{"v6 UDP", v6mut(func(b []byte) []byte { b[6] = 17; return b }), ErrNotTCP},
		{"v6 no next header", v6mut(func(b []byte) []byte { b[6] = 59; return b }), ErrNotTCP},
		{"v6 TCP after unknown extension", withExt(v6, ext(135, 8)), ErrNotTCP},
		{"v6 too many extension headers", withExt(v6, many(MaxIPv6ExtHeaders+1)...), errExtTooMany},
		{"v6 fragment M set", withExt(v6, frag(1)), errFragIPv6},
		{"v6 fragment offset", withExt(v6, frag(8)), errFragIPv6},
		{"v6 routing with segments left", withExt(v6, hbh, routing(1)), errExtRouting},
		{"v6 extension header past payload", func() []byte {
			b := withExt(v6, hbh)
			b[IPv6HeaderLen+1] = 200 // claims 1608 bytes
			return b
		}(), errExtTruncated},
		{"v6 payload too short for extension", func() []byte {
			b := withExt(v6, hbh)
			binary.BigEndian.PutUint16(b[4:6], 4)
			return b
		}(), errExtTruncated},
		{"v6 TCP segment short", func() []byte {
			b := cp(v6)
			binary.BigEndian.PutUint16(b[4:6], 19)
			return b
		}(), errShortTCP},
		{"v6 jumbogram (payload length 0)", func() []byte {
			b := withExt(v6, hbh)
			binary.BigEndian.PutUint16(b[4:6], 0)
			return b
		}(), errExtTruncated},
		{"v6 bad TCP checksum", func() []byte { b := cp(v6); b[len(b)-1] ^= 1; return b }(), ErrBadTCPChecksum},
		{"v6 bad TCP checksum (source address)", func() []byte { b := cp(v6); b[9] ^= 1; return b }(), ErrBadTCPChecksum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			err := Decode(c.pkt, &p)
			if err != c.want {
				t.Fatalf("Decode = %v, want %v", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason() != c.want.Reason() {
				t.Fatalf("error %v: reason %v, want %v", err, ReasonOf(err), c.want.Reason())
			}
			// The leaf error belongs to its class.
			class := c.want
			if class.parent != nil {
				class = class.parent
			}
			if !errors.Is(err, class) {
				t.Fatalf("errors.Is(%v, %v) = false", err, class)
			}
			if n := testing.AllocsPerRun(20, func() { _ = Decode(c.pkt, &p) }); n != 0 {
				t.Fatalf("Decode allocates %v times on this error path", n)
			}
		})
	}
}

func TestDecodeUncheckedSkipsChecksums(t *testing.T) {
	b := mustEncode(t, basePacket(false))
	b[10] ^= 0xff       // IPv4 header checksum
	b[len(b)-1] ^= 0xff // payload, so TCP checksum
	var p Packet
	if err := Decode(b, &p); err != ErrBadIPChecksum {
		t.Fatalf("Decode = %v, want %v", err, ErrBadIPChecksum)
	}
	if err := DecodeUnchecked(b, &p); err != nil {
		t.Fatalf("DecodeUnchecked = %v", err)
	}
	if p.TCP.SrcPort != 40000 || string(p.Payload[:5]) != "hello" {
		t.Fatalf("DecodeUnchecked fields wrong: %+v", p)
	}
	// Structural errors are still reported.
	b[0] = 0x44
	if err := DecodeUnchecked(b, &p); err != ErrBadHeaderLen {
		t.Fatalf("DecodeUnchecked(IHL 4) = %v, want %v", err, ErrBadHeaderLen)
	}
}

func TestDecodeAccepts(t *testing.T) {
	v4 := mustEncode(t, basePacket(false))
	v6 := mustEncode(t, basePacket(true))
	hbh := ext(ipv6HopByHop, 8)
	cases := []struct {
		name    string
		pkt     []byte
		ipHdr   int
		check   func(t *testing.T, p *Packet)
		payload string
	}{
		{"v4 link padding after total length", append(append([]byte{}, v4...), 0, 0, 0, 0, 0, 0), 20, nil, "hello, world"},
		{"v4 with IP options", func() []byte {
			b := append([]byte{}, v4[:20]...)
			b = append(b, 1, 1, 1, 0) // NOP NOP NOP EOL
			b = append(b, v4[20:]...)
			b[0] = 0x46
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
			fixIPv4Checksum(b)
			return b
		}(), 24, nil, "hello, world"},
		{"unknown option skipped, EOL ends parsing", v4WithOpts(t, []byte{
			30, 6, 0xff, 0xff, 0xff, 0xff, // unknown kind 30 (MPTCP), length 6
			OptMSS, 4, 0x05, 0xb4,
			OptEOL, OptMSS, 0, 0, 0, 0, // garbage after EOL is padding
		}), 20, func(t *testing.T, p *Packet) {
			if want := (Options{MSS: 1460, HasMSS: true}); p.TCP.Opts != want {
				t.Errorf("options %+v, want %+v", p.TCP.Opts, want)
			}
		}, "hello, world"},
		{"packed options", v4WithOpts(t, []byte{
			OptSACKPermitted, 2, OptTimestamps, 10, 0, 0, 0, 1, 0, 0, 0, 2,
			OptSACK, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40, OptSACK, 10, 0, 0, 0, 50, 0, 0, 0, 60,
		}), 20, func(t *testing.T, p *Packet) {
			want := Options{SACKPermitted: true, TSVal: 1, TSEcr: 2, HasTS: true,
				SACK: [4]SACKBlock{{10, 20}, {30, 40}, {50, 60}}, NumSACK: 3}
			if p.TCP.Opts != want {
				t.Errorf("options %+v, want %+v", p.TCP.Opts, want)
			}
		}, "hello, world"},
		{"v6 hop-by-hop", withExt(v6, hbh), 48, nil, "hello, world"},
		{"v6 hop-by-hop, routing (0 left), dest opts, atomic fragment", withExt(v6, hbh,
			func() []byte { h := ext(ipv6Routing, 24); h[3] = 0; return h }(),
			ext(ipv6DestOpts, 16), []byte{ipv6Fragment, 0, 0, 0, 1, 2, 3, 4}), 40 + 8 + 24 + 16 + 8, nil, "hello, world"},
		{"v6 maximum extension headers", withExt(v6, func() [][]byte {
			var hs [][]byte
			for range MaxIPv6ExtHeaders {
				hs = append(hs, ext(ipv6DestOpts, 8))
			}
			return hs
		}()...), 40 + 8*MaxIPv6ExtHeaders, nil, "hello, world"},
		{"v6 trailing bytes after payload length", append(append([]byte{}, v6...), 1, 2, 3), 40, nil, "hello, world"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			if err := Decode(c.pkt, &p); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if p.IPHeaderLen != c.ipHdr {
				t.Errorf("IPHeaderLen = %d, want %d", p.IPHeaderLen, c.ipHdr)
			}
			if string(p.Payload) != c.payload {
				t.Errorf("payload %q, want %q", p.Payload, c.payload)
			}
			if cap(p.Payload) != len(p.Payload) {
				t.Errorf("payload capacity %d not capped to length %d", cap(p.Payload), len(p.Payload))
			}
			if c.check != nil {
				c.check(t, &p)
			}
			if n := testing.AllocsPerRun(20, func() { _ = Decode(c.pkt, &p) }); n != 0 {
				t.Fatalf("Decode allocates %v times", n)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	// Fields against a packet written byte by byte, independent of Encode.
	pkt := []byte{
		0x45, 0xb8, 0, 0, 0x12, 0x34, 0x40, 0, 63, 6, 0, 0, // ver/IHL, TOS, len, ID, DF, TTL, proto, cksum
		192, 168, 1, 1, 192, 168, 1, 2,
		0x9c, 0x40, 0x01, 0xbb, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, // ports 40000 -> 443, seq, ack
		0xa0, 0xc2, 0xfa, 0xf0, 0, 0, 0, 0, // offset 10, CWR|ECE|SYN, window 64240, cksum, urgent
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7, // Linux SYN options
	}
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	fixIPv4Checksum(pkt)
	fixTCPChecksum(pkt, 20)
	var p Packet
	if err := Decode(pkt, &p); err != nil {
		t.Fatal(err)
	}
	want := Packet{
		Version: 4, Src: v4("192.168.1.1"), Dst: v4("192.168.1.2"), TTL: 63, TOS: 0xb8, ID: 0x1234, DontFragment: true,
		IPHeaderLen: 20,
		TCP: TCP{SrcPort: 40000, DstPort: 443, Seq: 0xdeadbeef, DataOffset: 10, Flags: FlagCWR | FlagECE | FlagSYN,
			Window: 64240, Checksum: binary.BigEndian.Uint16(pkt[36:]),
			Opts: Options{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 100, HasTS: true, WScale: 7, HasWScale: true}},
		Payload: []byte{},
	}
	if d := diffPacket(&want, &p, true); d != "" {
		t.Fatal(d)
	}
}

func TestCounters(t *testing.T) {
	var c Counters
	inputs := map[error]Reason{
		errShortEmpty:       ReasonShort,
		ErrBadVersion:       ReasonBadVersion,
		ErrBadHeaderLen:     ReasonBadHeaderLen,
		errTotalLenBelow:    ReasonBadLength,
		errFragIPv6:         ReasonFragment,
		ErrBadIPChecksum:    ReasonBadIPChecksum,
		ErrNotTCP:           ReasonNotTCP,
		errExtRouting:       ReasonBadExtHeader,
		errDataOffsetBeyond: ReasonBadDataOffset,
		ErrBadTCPChecksum:   ReasonBadTCPChecksum,
		errOptSACK:          ReasonBadOptions,
		errors.New("other"): ReasonOther,
	}
	for err, r := range inputs {
		c.Count(err)
		if got := c.Get(r); got != 1 {
			t.Errorf("after Count(%v): counter %v = %d, want 1", err, r, got)
		}
	}
	c.Count(nil)
	c.Count(errOptLen)
	// A wrapped error counts under its reason.
	c.Count(wrapErr{errOptTS})
	snap := c.Snapshot()
	for r := range NumReasons {
		want := uint64(1)
		if r == ReasonBadOptions {
			want = 3
		}
		if snap[r] != want {
			t.Errorf("Snapshot[%v] = %d, want %d", r, snap[r], want)
		}
	}
	if c.BadOptions.Load() != 3 {
		t.Errorf("BadOptions field = %d, want 3", c.BadOptions.Load())
	}
	if n := testing.AllocsPerRun(100, func() { c.Count(errOptLen) }); n != 0 {
		t.Errorf("Count allocates %v times", n)
	}
}

type wrapErr struct{ err error }

func (w wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w wrapErr) Unwrap() error { return w.err }

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		s := r.String()
		if s == "" || seen[s] {
			t.Errorf("Reason %d has empty or duplicate name %q", r, s)
		}
		seen[s] = true
	}
	if s := NumReasons.String(); s != "reason(12)" {
		t.Errorf("NumReasons.String() = %q", s)
	}
}

func TestErrorMessages(t *testing.T) {
	if got, want := errOptLen.Error(), "header: bad TCP options: option length < 2"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !errors.Is(ErrBadTCPChecksum, ErrBadChecksum) || !errors.Is(ErrBadIPChecksum, ErrBadChecksum) {
		t.Error("checksum errors are not in the ErrBadChecksum class")
	}
	if errors.Is(ErrBadTCPChecksum, ErrBadIPChecksum) {
		t.Error("TCP checksum error matches the IP checksum error")
	}
}
