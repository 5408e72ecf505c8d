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
type Segment struct {
	Seq     uint32 // SEG.SEQ
	Ack     uint32 // SEG.ACK (meaningful when ACK is set)
	Flags   Flags
	Window  uint32 // SEG.WND in bytes (after any window scaling)
	MSS     uint16 // MSS option; 0 when absent (only on SYNs)
	Payload []byte // text; when sent by a Conn it aliases the send buffer
}

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
