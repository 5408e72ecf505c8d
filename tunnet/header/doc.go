// Package header is the packet codec of the tcpfsm runtime: it decodes and
// encodes IPv4 and IPv6 packets that carry TCP, and nothing else.
//
// It is kept apart from the stack (in the manner of gVisor's
// pkg/tcpip/header) so that it can be tested, fuzzed and benchmarked on its
// own and so that the stack never touches raw bytes.
//
// # Decoding
//
// [Decode] parses one IP packet into a caller-provided [Packet]: the IP
// fields, the TCP header with its options ([Options]: MSS, window scale,
// SACK-permitted, SACK blocks, timestamps), and the payload, which aliases the
// input buffer. It verifies the IPv4 header checksum and the TCP checksum
// over the pseudo-header. [DecodeUnchecked] does the same without the
// checksum checks, for buffers whose checksums the kernel has already
// verified (virtio-net DATA_VALID). Neither allocates, on success or on
// error.
//
// Every malformed input yields an error, never a panic or a loop: a short
// buffer, a bad version, a bad IPv4 header length, inconsistent length
// fields, fragments (the stack does not reassemble), bad checksums, a
// protocol other than TCP, a malformed IPv6 extension-header chain, a bad TCP
// data offset or malformed TCP options. The errors are predefined *[Error]
// values, each carrying a [Reason]; leaf errors wrap the sentinel of their
// class (errors.Is(err, ErrBadOptions) holds for every option error), and
// [Counters] turns an error into a per-reason drop count.
//
// # Encoding
//
// [EncodeTCP] and [Encode] write a complete IPv4 or IPv6 packet (chosen by
// the address family) into a caller buffer, with lengths, options
// (4-byte padded) and both checksums filled in. [PacketLen] and
// [OptionsLen] say how large the buffer must be.
//
// # Checksums
//
// [Sum], [Checksum], [Combine], [PseudoHeaderSum] and [UpdateChecksum]
// implement the RFC 1071 Internet checksum, 8 bytes at a time with 64-bit
// add-with-carry, and the RFC 1624 incremental update.
//
// The package uses the standard library only.
package header
