package header

import (
	"encoding/binary"
	"net/netip"
)

// IP header sizes and protocol numbers.
const (
	IPv4MinHeaderLen = 20 // IHL 5
	IPv4MaxHeaderLen = 60 // IHL 15
	IPv6HeaderLen    = 40 // fixed header, without extension headers

	ProtocolTCP = 6

	// MaxIPv6ExtHeaders bounds the IPv6 extension-header chain Decode walks.
	MaxIPv6ExtHeaders = 8

	// DefaultTTL is a sensible TTL / hop limit for EncodeTCP (Linux's default).
	DefaultTTL = 64
)

// IPv6 extension header types Decode walks (RFC 8200 4).
const (
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6DestOpts = 60
)

// IPv4 flag bits in the flags/fragment-offset word.
const (
	ipv4FlagDF     = 0x4000
	ipv4FlagMF     = 0x2000
	ipv4FragOffset = 0x1fff
)

// decodeIPv4 parses the IPv4 header of b into p and returns the TCP segment.
func decodeIPv4(b []byte, p *Packet, verify bool) ([]byte, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, errShortIPv4
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4MinHeaderLen {
		return nil, ErrBadHeaderLen
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total > len(b) {
		return nil, errTotalLenBeyond
	}
	if total < ihl {
		return nil, errTotalLenBelow
	}
	if verify && Sum(b[:ihl], 0) != 0xffff {
		return nil, ErrBadIPChecksum
	}
	frag := binary.BigEndian.Uint16(b[6:8])
	if frag&(ipv4FlagMF|ipv4FragOffset) != 0 {
		return nil, errFragIPv4
	}
	if b[9] != ProtocolTCP {
		return nil, ErrNotTCP
	}
	p.Version = 4
	p.TOS = b[1]
	p.ID = binary.BigEndian.Uint16(b[4:6])
	p.DontFragment = frag&ipv4FlagDF != 0
	p.FlowLabel = 0
	p.TTL = b[8]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.IPHeaderLen = ihl
	return b[ihl:total], nil
}

// decodeIPv6 parses the IPv6 header and extension headers of b into p and
// returns the TCP segment.
func decodeIPv6(b []byte, p *Packet) ([]byte, error) {
	if len(b) < IPv6HeaderLen {
		return nil, errShortIPv6
	}
	end := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if end > len(b) {
		return nil, errPayloadLenBeyond
	}
	next, off := b[6], IPv6HeaderLen
	for n := 0; next != ProtocolTCP; n++ {
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6Fragment, ipv6DestOpts:
		default:
			return nil, ErrNotTCP
		}
		if n == MaxIPv6ExtHeaders {
			return nil, errExtTooMany
		}
		if end-off < 8 {
			return nil, errExtTruncated
		}
		h := b[off:end]
		hl := (int(h[1]) + 1) * 8
		switch next {
		case ipv6Fragment:
			// Fixed 8 bytes. An atomic fragment (offset 0, M clear; RFC
			// 6946) is a whole packet and is processed as one.
			hl = 8
			if binary.BigEndian.Uint16(h[2:4])&0xfff9 != 0 {
				return nil, errFragIPv6
			}
		case ipv6Routing:
			// We are the final destination only if no segments are left.
			if h[3] != 0 {
				return nil, errExtRouting
			}
		}
		if hl > len(h) {
			return nil, errExtTruncated
		}
		next = h[0]
		off += hl
	}
	v := binary.BigEndian.Uint32(b[0:4])
	p.Version = 6
	p.TOS = uint8(v >> 20)
	p.FlowLabel = v & 0xfffff
	p.ID = 0
	p.DontFragment = false
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.IPHeaderLen = off
	return b[off:end], nil
}
