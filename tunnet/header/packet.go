package header

import "net/netip"

// Packet is a decoded IPv4 or IPv6 packet carrying TCP. Decode overwrites
// every field; after an error the contents are unspecified.
type Packet struct {
	Version      uint8 // 4 or 6; the encoders take the family from Src/Dst instead
	Src, Dst     netip.Addr
	TTL          uint8  // IPv4 TTL or IPv6 hop limit
	TOS          uint8  // IPv4 TOS or IPv6 traffic class (DSCP and ECN bits)
	ID           uint16 // IPv4 identification; 0 for IPv6
	DontFragment bool   // IPv4 DF flag; false for IPv6
	FlowLabel    uint32 // IPv6 flow label (20 bits); 0 for IPv4
	IPHeaderLen  int    // bytes before the TCP header: IPv4 options or IPv6 extension headers included
	TCP          TCP
	Payload      []byte // TCP payload; aliases the decoded buffer (capacity capped to its length)
}

// Decode parses the IP packet in b into p. The IP version comes from the
// first nibble. It verifies the IPv4 header checksum and the TCP checksum
// (with the pseudo-header), rejects fragments, and walks up to
// MaxIPv6ExtHeaders IPv6 hop-by-hop, routing and destination-options
// headers (and atomic fragment headers). Bytes beyond the IP length field
// (link padding) are ignored. IPv6 jumbograms are not supported.
//
// Errors are predefined *Error values (see Reason); Decode allocates
// nothing and never panics. p.Payload aliases b.
func Decode(b []byte, p *Packet) error {
	return decode(b, p, true)
}

// DecodeUnchecked is Decode without the IPv4 header and TCP checksum
// checks, for packets whose checksums were already verified (for example
// by the kernel, virtio-net VIRTIO_NET_HDR_F_DATA_VALID). p.TCP.Checksum
// still holds the received value.
func DecodeUnchecked(b []byte, p *Packet) error {
	return decode(b, p, false)
}

func decode(b []byte, p *Packet, verify bool) error {
	if len(b) == 0 {
		return errShortEmpty
	}
	var seg []byte
	var err error
	switch b[0] >> 4 {
	case 4:
		seg, err = decodeIPv4(b, p, verify)
	case 6:
		seg, err = decodeIPv6(b, p)
	default:
		return ErrBadVersion
	}
	if err != nil {
		return err
	}
	hl, err := parseTCP(seg, &p.TCP)
	if err != nil {
		return err
	}
	if verify && !tcpChecksumOK(b, p.Version, seg) {
		return ErrBadTCPChecksum
	}
	p.Payload = seg[hl:len(seg):len(seg)]
	return nil
}

// tcpChecksumOK checks seg's checksum against the pseudo-header built from
// the addresses in the IP header b.
func tcpChecksumOK(b []byte, version uint8, seg []byte) bool {
	n := len(seg)
	var s uint16
	if version == 4 {
		s = Sum(b[12:20], Combine(ProtocolTCP, uint16(n)))
	} else {
		s = Sum(b[8:40], Combine(ProtocolTCP, uint16(n))) // n < 2^16 without jumbograms
	}
	return Sum(seg, s) == 0xffff
}
