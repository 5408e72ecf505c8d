package header

import (
	"testing"
)

// fuzzSeeds returns real-looking packets: what Linux sends for a SYN,
// SYN-ACK, data, FIN and RST, over IPv4 and IPv6.
func fuzzSeeds() [][]byte {
	syn := linuxSYNOpts()
	synack := linuxSYNOpts()
	synack.TSVal, synack.TSEcr = 0x55aa0102, syn.TSVal
	ts := Options{HasTS: true, TSVal: 0x1234abd0, TSEcr: 0x55aa0110}
	sack := ts
	sack.NumSACK = 2
	sack.SACK[0] = SACKBlock{0x10002000, 0x10002b68}
	sack.SACK[1] = SACKBlock{0x10003000, 0x100035a8}
	get := []byte("GET / HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")

	type seg struct {
		reply   bool // server to client
		flags   uint8
		seq     uint32
		ack     uint32
		win     uint16
		opts    Options
		payload []byte
	}
	segs := []seg{
		{false, FlagSYN, 0x1000aaa0, 0, 64240, syn, nil},
		{false, FlagSYN | FlagECE | FlagCWR, 0x1000aaa0, 0, 64240, syn, nil}, // ECN setup SYN
		{true, FlagSYN | FlagACK, 0x7f001000, 0x1000aaa1, 65160, synack, nil},
		{false, FlagACK | FlagPSH, 0x1000aaa1, 0x7f001001, 502, ts, get},
		{true, FlagACK, 0x7f001001, 0x1000aaa1, 509, sack, nil},
		{false, FlagFIN | FlagACK, 0x1000aaa1 + uint32(len(get)), 0x7f001001, 502, ts, nil},
		{true, FlagRST | FlagACK, 0x7f001001, 0x1000aab0, 0, Options{}, nil},
		{false, FlagRST, 0x1000aab0, 0, 0, Options{}, nil},
	}
	var out [][]byte
	for _, v6 := range []bool{false, true} {
		for i, s := range segs {
			p := &Packet{
				TTL: 64, ID: 0x1c46 + uint16(i), DontFragment: true,
				TCP:     TCP{SrcPort: 40000, DstPort: 80, Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.win, Opts: s.opts},
				Payload: s.payload,
			}
			if s.reply {
				p.TCP.SrcPort, p.TCP.DstPort = 80, 40000
			}
			if v6 {
				p.Src, p.Dst, p.ID, p.DontFragment, p.FlowLabel = v6Src, v6Dst, 0, false, 0x8d3c1
			} else {
				p.Src, p.Dst = v4Src, v4Dst
			}
			b := make([]byte, 200)
			n, err := Encode(b, p)
			if err != nil {
				panic(err)
			}
			out = append(out, b[:n])
		}
	}
	return out
}

// FuzzDecode checks that Decode never panics, that Decode and
// DecodeUnchecked agree, and that whatever decodes re-encodes to a packet
// that decodes to the same fields.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	v6 := mustEncode(f, basePacket(true))
	f.Add(withExt(v6, ext(ipv6HopByHop, 8), ext(ipv6DestOpts, 16)))
	buf := make([]byte, 70000)
	f.Fuzz(func(t *testing.T, b []byte) {
		var checked, unchecked Packet
		errC := Decode(b, &checked)
		errU := DecodeUnchecked(b, &unchecked)
		for _, err := range []error{errC, errU} {
			if err != nil && ReasonOf(err) == ReasonOther {
				t.Fatalf("error %v has no reason", err)
			}
		}
		switch {
		case errU != nil:
			if errC != errU && errC != ErrBadIPChecksum {
				t.Fatalf("Decode = %v but DecodeUnchecked = %v", errC, errU)
			}
			return
		case errC == nil:
			if d := diffPacket(&unchecked, &checked, true); d != "" {
				t.Fatalf("Decode and DecodeUnchecked differ: %s", d)
			}
		case errC != ErrBadIPChecksum && errC != ErrBadTCPChecksum:
			t.Fatalf("DecodeUnchecked succeeded but Decode = %v", errC)
		}

		n, err := Encode(buf, &unchecked)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", unchecked, err)
		}
		var again Packet
		if err := Decode(buf[:n], &again); err != nil {
			t.Fatalf("decoding the re-encoded packet % x: %v", buf[:n], err)
		}
		if d := diffPacket(&unchecked, &again, false); d != "" {
			t.Fatalf("re-encode round trip: %s", d)
		}
	})
}

// FuzzParseOptions fuzzes the option parser directly (FuzzDecode reaches
// it only through a valid IP and TCP header): no panic, and accepted
// options survive an encode/parse round trip.
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7})
	f.Add([]byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4})
	f.Add([]byte{30, 6, 1, 2, 3, 4, 0, 9})
	buf := make([]byte, 200)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > TCPMaxOptionsLen {
			b = b[:TCPMaxOptionsLen]
		}
		var o Options
		if err := ParseOptions(b, &o); err != nil {
			if ReasonOf(err) != ReasonBadOptions {
				t.Fatalf("ParseOptions error %v has reason %v", err, ReasonOf(err))
			}
			return
		}
		n, err := EncodeTCP(buf, v4Src, v4Dst, &TCP{Opts: o}, nil, 1)
		if err != nil {
			t.Fatalf("encoding parsed options %+v: %v", o, err)
		}
		var again Options
		if err := ParseOptions(buf[40:n], &again); err != nil || again != o {
			t.Fatalf("options round trip: got %+v (err %v), want %+v", again, err, o)
		}
	})
}
