package header

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum returns the 16-bit ones'-complement sum (RFC 1071) of b added to
// initial. The result is not complemented, so sums can be chained:
//
//	s := Sum(hdr, PseudoHeaderSum(src, dst, ProtocolTCP, len(hdr)+len(data)))
//	s = Sum(data, s)
//	checksum := ^s
//
// b is summed as if it started at an even offset; when chaining, every piece
// but the last must have even length (an odd last byte is padded with zero).
//
// The sum is computed 8 bytes at a time with 64-bit add-with-carry on
// little-endian loads and byte-swapped at the end, which is valid because
// the ones'-complement sum is independent of byte order (RFC 1071 2(B)).
func Sum(b []byte, initial uint16) uint16 {
	acc := uint64(bits.ReverseBytes16(initial))
	var c uint64
	for len(b) >= 64 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[0:8]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:16]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:24]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:32]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[32:40]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[40:48]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[48:56]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	// The tail (< 8 bytes) is gathered into one word; shifting a 16-bit word
	// by a multiple of 16 bits does not change its value modulo 0xffff.
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		t += uint64(binary.LittleEndian.Uint16(b)) << 32
		b = b[2:]
	}
	if len(b) == 1 {
		t += uint64(b[0]) << 48
	}
	acc, c = bits.Add64(acc, t, c)
	acc += c // cannot overflow: a carry out leaves acc <= 2^64-2
	return bits.ReverseBytes16(fold64(acc))
}

// fold64 folds a 64-bit ones'-complement accumulator to 16 bits.
func fold64(acc uint64) uint16 {
	s, c := bits.Add32(uint32(acc>>32), uint32(acc), 0)
	s += c
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// Checksum returns the Internet checksum of b: the complement of Sum(b, 0).
// Writing it into a zeroed checksum field makes the covered data sum to
// 0xffff.
func Checksum(b []byte) uint16 {
	return ^Sum(b, 0)
}

// Combine returns the ones'-complement sum of two partial sums.
func Combine(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// PseudoHeaderSum returns the ones'-complement sum of the TCP/UDP
// pseudo-header for src and dst (RFC 9293 3.1 for IPv4, RFC 8200 8.1 for
// IPv6): the addresses, the protocol number and the upper-layer length.
// An IPv4 pair (both Is4) uses the 12-byte IPv4 form; anything else uses
// the 16-byte form. length must fit in 16 bits for IPv4 and 32 for IPv6.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint16 {
	if src.Is4() && dst.Is4() {
		s, d := src.As4(), dst.As4()
		return Sum(d[:], Sum(s[:], Combine(uint16(proto), uint16(length))))
	}
	s, d := src.As16(), dst.As16()
	l := uint32(length)
	init := Combine(Combine(uint16(proto), uint16(l)), uint16(l>>16))
	return Sum(d[:], Sum(s[:], init))
}

// UpdateChecksum returns the checksum field value after one 16-bit word it
// covers changes from old to new, without re-summing the data (RFC 1624,
// equation 3: HC' = ~(~HC + ~m + m')).
func UpdateChecksum(cksum, old, new uint16) uint16 {
	return ^Combine(Combine(^cksum, ^old), new)
}
