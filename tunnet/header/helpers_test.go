package header

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// naiveSum is the textbook RFC 1071 sum: big-endian 16-bit words, 32-bit
// accumulator, folded at the end. It is the reference for Sum.
func naiveSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
		s = s&0xffff + s>>16
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

var (
	v4Src = netip.MustParseAddr("10.0.0.1")
	v4Dst = netip.MustParseAddr("10.0.0.2")
	v6Src = netip.MustParseAddr("fd00::1")
	v6Dst = netip.MustParseAddr("fd00::2:3")
)

// linuxSYNOpts are the options Linux puts on a SYN: MSS, SACK-permitted,
// timestamps, window scale.
func linuxSYNOpts() Options {
	return Options{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 0x1234abcd, HasTS: true, WScale: 7, HasWScale: true}
}

// mustEncode builds a packet with our encoder, failing the test on error.
func mustEncode(tb testing.TB, p *Packet) []byte {
	tb.Helper()
	b := make([]byte, 70000)
	n, err := Encode(b, p)
	if err != nil {
		tb.Fatalf("Encode(%+v): %v", p, err)
	}
	return b[:n]
}

func basePacket(v6 bool) *Packet {
	p := &Packet{
		TTL: 64, TOS: 0x10, ID: 0x4242, DontFragment: true,
		TCP: TCP{
			SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, Flags: FlagACK | FlagPSH, Window: 65535,
			Opts: Options{HasTS: true, TSVal: 7, TSEcr: 9},
		},
		Payload: []byte("hello, world"),
	}
	if v6 {
		p.Src, p.Dst, p.ID, p.DontFragment, p.FlowLabel = v6Src, v6Dst, 0, false, 0xabcde
	} else {
		p.Src, p.Dst = v4Src, v4Dst
	}
	return p
}

// fixIPv4Checksum recomputes the IPv4 header checksum of pkt with naiveSum.
func fixIPv4Checksum(pkt []byte) {
	ihl := int(pkt[0]&0xf) * 4
	pkt[10], pkt[11] = 0, 0
	binary.BigEndian.PutUint16(pkt[10:], ^naiveSum(pkt[:ihl], 0))
}

// fixTCPChecksum recomputes the TCP checksum of the segment starting at
// tcpOff and running to the end of pkt, using naiveSum and a pseudo-header
// assembled by hand.
func fixTCPChecksum(pkt []byte, tcpOff int) {
	seg := pkt[tcpOff:]
	seg[16], seg[17] = 0, 0
	var ph []byte
	if pkt[0]>>4 == 4 {
		ph = append(ph, pkt[12:20]...)
		ph = append(ph, 0, ProtocolTCP, byte(len(seg)>>8), byte(len(seg)))
	} else {
		ph = append(ph, pkt[8:40]...)
		ph = append(ph, 0, 0, byte(len(seg)>>8), byte(len(seg)), 0, 0, 0, ProtocolTCP)
	}
	binary.BigEndian.PutUint16(seg[16:], ^naiveSum(seg, naiveSum(ph, 0)))
}

// diffPacket describes how got differs from want ("" if it does not). With
// wire false it ignores the fields that depend on the encoding rather than
// the content: TCP data offset, TCP checksum and IP header length.
func diffPacket(want, got *Packet, wire bool) string {
	if !bytes.Equal(want.Payload, got.Payload) {
		return fmt.Sprintf("payload: got %q, want %q", got.Payload, want.Payload)
	}
	w, g := *want, *got
	w.Payload, g.Payload = nil, nil
	if !wire {
		w.TCP.DataOffset, g.TCP.DataOffset = 0, 0
		w.TCP.Checksum, g.TCP.Checksum = 0, 0
		w.IPHeaderLen, g.IPHeaderLen = 0, 0
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got  %+v\n want %+v", g, w)
	}
	return ""
}

func v4(s string) netip.Addr { return netip.MustParseAddr(s) }
