package machine

import "strings"

// Flags are the TCP control bits of a segment.
type Flags uint8

// Control bits, as in the TCP header.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
)

// Has reports whether all of the bits in x are set.
func (f Flags) Has(x Flags) bool { return f&x == x }

func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	names := [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG"}
	var parts [6]string
	n := 0
	// Textbook order: SYN, FIN, RST, PSH before ACK reads "SYN+ACK", "FIN+ACK".
	for _, i := range [...]int{1, 0, 2, 3, 4, 5} {
		if f&(1<<i) != 0 {
			parts[n] = names[i]
			n++
		}
	}
	return strings.Join(parts[:n], "+")
}

// Segment is a TCP segment as the machine sees it: the fields of RFC 9293
// 3.3.1 "current segment variables" plus the options the TCB uses. It is
// independent of any wire format; tunnet/header converts.
//
// Window is the header's 16-bit field as sent: on a SYN the window in
// bytes, on any other segment the window shifted right by the sender's
// window scale (RFC 7323 2.3). The receiving Conn scales it back.
type Segment struct {
	Seq    uint32 // SEG.SEQ
	Ack    uint32 // SEG.ACK (meaningful when ACK is set)
	Flags  Flags
	Window uint16 // the window field (scaled unless SYN)
	MSS    uint16 // MSS option; 0 when absent (only on SYNs)

	Opts   Opts   // which of the options below are present
	WScale uint8  // window scale option: the sender's shift (SYNs only)
	TSVal  uint32 // timestamps option (RFC 7323 3): the sender's clock
	TSEcr  uint32 // and the timestamp it echoes
	// SACK blocks (RFC 2018): NumSACK of them, the most recent first.
	SACK    [MaxSACKBlocks]SACKBlock
	NumSACK uint8

	Payload []byte // text; when sent by a Conn it aliases the send buffer
}

// Opts are the TCP options a Segment carries, besides MSS.
type Opts uint8

// Options (RFC 7323, RFC 2018).
const (
	OptWScale        Opts = 1 << iota // window scale (SYNs only)
	OptSACKPermitted                  // SACK-permitted (SYNs only)
	OptTimestamps                     // TSVal and TSEcr
)

// Has reports whether all of the options in x are present.
func (o Opts) Has(x Opts) bool { return o&x == x }

func (o Opts) String() string {
	if o == 0 {
		return "none"
	}
	var parts []string
	for i, name := range [...]string{"WS", "SACK-perm", "TS"} {
		if o&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, "+")
}

// SACKBlock is one SACK block (RFC 2018 3): the sequence space
// [Left, Right) received beyond a hole.
type SACKBlock struct{ Left, Right uint32 }

// MaxSACKBlocks is the most SACK blocks the 40 bytes of options can hold
// (three beside a timestamps option).
const MaxSACKBlocks = 4

// MaxShift is the largest window scale shift (RFC 7323 2.3): larger
// values a peer sends are taken as 14.
const MaxShift = 14

// Len is SEG.LEN: the payload length plus one for SYN and one for FIN.
func (s *Segment) Len() uint32 {
	n := uint32(len(s.Payload))
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}

// Seq arithmetic (RFC 9293 3.4, RFC 1982): comparisons modulo 2^32.

// SeqLT reports a < b modulo 2^32.
func SeqLT(a, b uint32) bool { return int32(a-b) < 0 }

// SeqLEQ reports a <= b modulo 2^32.
func SeqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }

// SeqGT reports a > b modulo 2^32.
func SeqGT(a, b uint32) bool { return int32(a-b) > 0 }

// SeqGEQ reports a >= b modulo 2^32.
func SeqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

// SeqInWindow reports start <= x < start+size modulo 2^32.
func SeqInWindow(x, start, size uint32) bool { return x-start < size }
