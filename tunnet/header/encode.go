package header

import (
	"encoding/binary"
	"net/netip"
)

// PacketLen returns the length of the packet the encoders produce for the
// given family, options (nil for none) and payload length.
func PacketLen(ipv6 bool, o *Options, payloadLen int) int {
	n := TCPMinHeaderLen + OptionsLen(o) + payloadLen
	if ipv6 {
		return IPv6HeaderLen + n
	}
	return IPv4MinHeaderLen + n
}

// EncodeTCP writes into b a complete packet carrying the TCP header h and
// payload from src to dst, and returns its length. The family is IPv4 when
// both addresses are IPv4 (Is4) and IPv6 when both are IPv6 (including
// IPv4-mapped addresses); IPv4 packets have DF set and ID 0 (RFC 6864),
// TOS/traffic class and flow label are 0. ttl is written as given (see
// DefaultTTL). Lengths, the data offset, options (padded to 4 bytes) and
// the IPv4 header and TCP checksums are filled in; h.DataOffset and
// h.Checksum are ignored. payload may already sit at its final place in b
// (b[n-len(payload):n]) to avoid moving it.
//
// Errors: ErrAddrFamily, ErrSACKCount, ErrOptionsTooLong, ErrTooLong,
// ErrBufferTooSmall. EncodeTCP does not allocate.
func EncodeTCP(b []byte, src, dst netip.Addr, h *TCP, payload []byte, ttl uint8) (int, error) {
	return encode(b, &ipFields{src: src, dst: dst, ttl: ttl, df: true}, h, payload)
}

// EncodeTCPPartial is EncodeTCP for a device that completes TCP checksums
// (virtio-net NEEDS_CSUM, Linux's CHECKSUM_PARTIAL): the checksum field
// holds the pseudo-header's sum (PseudoHeaderSum, not complemented) and the
// payload is not summed.
func EncodeTCPPartial(b []byte, src, dst netip.Addr, h *TCP, payload []byte, ttl uint8) (int, error) {
	return encode(b, &ipFields{src: src, dst: dst, ttl: ttl, df: true, partial: true}, h, payload)
}

// Encode is EncodeTCP with the IP fields taken from p: Src, Dst, TTL, TOS,
// and ID and DontFragment (IPv4) or FlowLabel (IPv6). p.Version and
// p.IPHeaderLen are ignored (no IPv4 options or IPv6 extension headers are
// written); the TCP header is p.TCP and the payload p.Payload.
func Encode(b []byte, p *Packet) (int, error) {
	f := ipFields{src: p.Src, dst: p.Dst, ttl: p.TTL, tos: p.TOS, id: p.ID, df: p.DontFragment, flow: p.FlowLabel}
	return encode(b, &f, &p.TCP, p.Payload)
}

type ipFields struct {
	src, dst netip.Addr
	ttl, tos uint8
	id       uint16
	df       bool
	flow     uint32
	partial  bool // the TCP checksum field gets the pseudo-header sum only
}

func encode(b []byte, f *ipFields, h *TCP, payload []byte) (int, error) {
	var v6 bool
	switch {
	case f.src.Is4() && f.dst.Is4():
	case f.src.Is6() && f.dst.Is6():
		v6 = true
	default:
		return 0, ErrAddrFamily
	}
	o := &h.Opts
	if o.NumSACK < 0 || o.NumSACK > MaxSACKBlocks {
		return 0, ErrSACKCount
	}
	optLen, aligned := optionsLayout(o)
	if optLen > TCPMaxOptionsLen {
		return 0, ErrOptionsTooLong
	}
	tcpLen := TCPMinHeaderLen + optLen
	segLen := tcpLen + len(payload)
	ipLen := IPv4MinHeaderLen
	if v6 {
		ipLen = IPv6HeaderLen
		if segLen > 0xffff {
			return 0, ErrTooLong
		}
	} else if ipLen+segLen > 0xffff {
		return 0, ErrTooLong
	}
	n := ipLen + segLen
	if len(b) < n {
		return 0, ErrBufferTooSmall
	}
	b = b[:n]

	// Payload first: it may overlap its destination.
	copy(b[ipLen+tcpLen:], payload)

	ip := b[:ipLen]
	if v6 {
		binary.BigEndian.PutUint32(ip[0:4], 6<<28|uint32(f.tos)<<20|f.flow&0xfffff)
		binary.BigEndian.PutUint16(ip[4:6], uint16(segLen))
		ip[6] = ProtocolTCP
		ip[7] = f.ttl
		s, d := f.src.As16(), f.dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
	} else {
		ip[0] = 4<<4 | IPv4MinHeaderLen/4
		ip[1] = f.tos
		binary.BigEndian.PutUint16(ip[2:4], uint16(n))
		binary.BigEndian.PutUint16(ip[4:6], f.id)
		var flags uint16
		if f.df {
			flags = ipv4FlagDF
		}
		binary.BigEndian.PutUint16(ip[6:8], flags)
		ip[8] = f.ttl
		ip[9] = ProtocolTCP
		ip[10], ip[11] = 0, 0
		s, d := f.src.As4(), f.dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:12], Checksum(ip))
	}

	t := b[ipLen : ipLen+tcpLen]
	binary.BigEndian.PutUint16(t[0:2], h.SrcPort)
	binary.BigEndian.PutUint16(t[2:4], h.DstPort)
	binary.BigEndian.PutUint32(t[4:8], h.Seq)
	binary.BigEndian.PutUint32(t[8:12], h.Ack)
	t[12] = uint8(tcpLen/4) << 4
	t[13] = h.Flags
	binary.BigEndian.PutUint16(t[14:16], h.Window)
	t[16], t[17] = 0, 0
	binary.BigEndian.PutUint16(t[18:20], h.Urgent)
	putOptions(t[TCPMinHeaderLen:], o, aligned)

	var s uint16
	if v6 {
		s = Sum(ip[8:40], Combine(ProtocolTCP, uint16(segLen)))
	} else {
		s = Sum(ip[12:20], Combine(ProtocolTCP, uint16(segLen)))
	}
	if f.partial {
		binary.BigEndian.PutUint16(t[16:18], s)
		return n, nil
	}
	binary.BigEndian.PutUint16(t[16:18], ^Sum(b[ipLen+tcpLen:], Sum(t, s)))
	return n, nil
}
