package header

import "testing"

func benchPackets(tb testing.TB) []struct {
	name string
	pkt  []byte
} {
	syn := basePacket(false)
	syn.TCP.Flags, syn.TCP.Opts, syn.Payload = FlagSYN, linuxSYNOpts(), nil
	data4 := basePacket(false)
	data4.Payload = make([]byte, 1448)
	data6 := basePacket(true)
	data6.Payload = make([]byte, 1428)
	return []struct {
		name string
		pkt  []byte
	}{
		{"v4-syn", mustEncode(tb, syn)},
		{"v4-ack-1448", mustEncode(tb, data4)},
		{"v6-ack-1428", mustEncode(tb, data6)},
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchPackets(b) {
		b.Run(c.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(c.pkt)))
			for b.Loop() {
				if err := Decode(c.pkt, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeUnchecked(b *testing.B) {
	for _, c := range benchPackets(b) {
		b.Run(c.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(c.pkt)))
			for b.Loop() {
				if err := DecodeUnchecked(c.pkt, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeError(b *testing.B) {
	pkt := benchPackets(b)[1].pkt
	pkt = append([]byte{}, pkt...)
	pkt[len(pkt)-1] ^= 1 // bad TCP checksum, found only after the full sum
	var p Packet
	var c Counters
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		c.Count(Decode(pkt, &p))
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchPackets(b) {
		b.Run(c.name, func(b *testing.B) {
			var p Packet
			if err := Decode(c.pkt, &p); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 2000)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.pkt)))
			for b.Loop() {
				if _, err := EncodeTCP(buf, p.Src, p.Dst, &p.TCP, p.Payload, p.TTL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
