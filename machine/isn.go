package machine

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// ISN is the initial sequence number generator of RFC 9293 3.4.1:
//
//	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a 4-microsecond clock (now / 4µs, wrapping modulo 2^32 about every
// 4.77 hours) and F is SipHash-2-4 keyed with key, truncated to 32 bits. For
// a fixed key and 4-tuple the ISN therefore grows with now; different
// 4-tuples get unrelated offsets an off-path attacker cannot guess. It is a
// pure function of its arguments: the simulator and the checker rely on that.
// Cost: one SipHash over 36 bytes (tens of nanoseconds), once per connection.
func ISN(key *[16]byte, t Tuple, now time.Duration) uint32 {
	m := uint32(int64(now / (4 * time.Microsecond)))
	return m + uint32(tupleHash(key, t))
}

// tupleHash is SipHash-2-4 of the 4-tuple under key: its low 32 bits are
// the ISN's offset F, its high 32 bits the timestamp clock's offset.
func tupleHash(key *[16]byte, t Tuple) uint64 {
	var msg [tupleLen]byte
	putTuple(msg[:], t)
	return sipHash24(key, msg[:])
}

// tupleLen is the length of putTuple's encoding.
const tupleLen = 36

// putTuple writes the 4-tuple into b (tupleLen bytes): the local address
// (16 bytes, IPv4 mapped), port, the remote address and port.
func putTuple(b []byte, t Tuple) {
	la, ra := t.LocalAddr.As16(), t.RemoteAddr.As16()
	copy(b[0:16], la[:])
	binary.BigEndian.PutUint16(b[16:18], t.LocalPort)
	copy(b[18:34], ra[:])
	binary.BigEndian.PutUint16(b[34:36], t.RemotePort)
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) of msg under the
// 128-bit key.
func sipHash24(key *[16]byte, msg []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:8])
	k1 := binary.LittleEndian.Uint64(key[8:16])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}

	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	last := uint64(n) << 56
	for i, b := range msg {
		last |= uint64(b) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last

	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
