package header

import "encoding/binary"

// TCP header sizes and limits.
const (
	TCPMinHeaderLen  = 20 // header without options
	TCPMaxHeaderLen  = 60 // data offset 15
	TCPMaxOptionsLen = TCPMaxHeaderLen - TCPMinHeaderLen
	MaxSACKBlocks    = 4 // the most SACK blocks 40 option bytes can hold
)

// TCP flag bits, as in byte 13 of the header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
	FlagECE = 0x40
	FlagCWR = 0x80
)

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptEOL           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWindowScale   = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptTimestamps    = 8
)

// TCP is a decoded TCP header.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       uint8 // header length in 32-bit words; ignored by the encoders
	Flags            uint8 // FlagFIN | FlagSYN | ...; the reserved bits are dropped
	Window           uint16
	Checksum         uint16 // as received; ignored by the encoders
	Urgent           uint16
	Opts             Options
}

// HeaderLen returns the header length in bytes given by DataOffset.
func (t *TCP) HeaderLen() int { return int(t.DataOffset) * 4 }

// SACKBlock is one SACK block (RFC 2018): the sequence numbers of the first
// byte of a received block and of the byte just after it.
type SACKBlock struct {
	Left, Right uint32
}

// Options holds the TCP options tcpfsm understands. Options that appear
// more than once keep the last value, except SACK blocks, which are
// collected up to MaxSACKBlocks. Unknown options are skipped by length.
// Values are stored raw: a window scale above 14 (RFC 7323 2.3) is the
// stack's to clamp.
type Options struct {
	MSS           uint16
	HasMSS        bool
	WScale        uint8
	HasWScale     bool
	SACKPermitted bool
	TSVal, TSEcr  uint32
	HasTS         bool
	SACK          [MaxSACKBlocks]SACKBlock
	NumSACK       int
}

// parseTCP decodes the TCP header at the start of seg into t and returns
// the header length.
func parseTCP(seg []byte, t *TCP) (int, error) {
	if len(seg) < TCPMinHeaderLen {
		return 0, errShortTCP
	}
	off := seg[12] >> 4
	if off < 5 {
		return 0, errDataOffsetSmall
	}
	hl := int(off) * 4
	if hl > len(seg) {
		return 0, errDataOffsetBeyond
	}
	t.SrcPort = binary.BigEndian.Uint16(seg[0:2])
	t.DstPort = binary.BigEndian.Uint16(seg[2:4])
	t.Seq = binary.BigEndian.Uint32(seg[4:8])
	t.Ack = binary.BigEndian.Uint32(seg[8:12])
	t.DataOffset = off
	t.Flags = seg[13]
	t.Window = binary.BigEndian.Uint16(seg[14:16])
	t.Checksum = binary.BigEndian.Uint16(seg[16:18])
	t.Urgent = binary.BigEndian.Uint16(seg[18:20])
	return hl, ParseOptions(seg[TCPMinHeaderLen:hl], &t.Opts)
}

// ParseOptions decodes the TCP option bytes b (the header after its first
// 20 bytes) into o, which it first resets. Parsing stops at EOL or at the
// end of b; NOPs and unknown options are skipped. An option whose length
// byte is missing, is below 2, runs past b, or does not fit its kind is an
// error wrapping ErrBadOptions. Every step advances by at least one byte,
// so parsing always ends.
func ParseOptions(b []byte, o *Options) error {
	*o = Options{}
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == OptEOL {
			return nil
		}
		if kind == OptNOP {
			i++
			continue
		}
		if i+1 >= len(b) {
			return errOptTruncated
		}
		l := int(b[i+1])
		if l < 2 {
			return errOptLen
		}
		if l > len(b)-i {
			return errOptTruncated
		}
		d := b[i+2 : i+l]
		switch kind {
		case OptMSS:
			if l != 4 {
				return errOptMSS
			}
			o.MSS = binary.BigEndian.Uint16(d)
			o.HasMSS = true
		case OptWindowScale:
			if l != 3 {
				return errOptWScale
			}
			o.WScale = d[0]
			o.HasWScale = true
		case OptSACKPermitted:
			if l != 2 {
				return errOptSACKPerm
			}
			o.SACKPermitted = true
		case OptTimestamps:
			if l != 10 {
				return errOptTS
			}
			o.TSVal = binary.BigEndian.Uint32(d[0:4])
			o.TSEcr = binary.BigEndian.Uint32(d[4:8])
			o.HasTS = true
		case OptSACK:
			if l < 10 || (l-2)%8 != 0 {
				return errOptSACK
			}
			for ; len(d) >= 8 && o.NumSACK < MaxSACKBlocks; d = d[8:] {
				o.SACK[o.NumSACK] = SACKBlock{
					Left:  binary.BigEndian.Uint32(d[0:4]),
					Right: binary.BigEndian.Uint32(d[4:8]),
				}
				o.NumSACK++
			}
		}
		i += l
	}
	return nil
}

// OptionsLen returns the number of option bytes the encoders write for o, a
// multiple of 4. A nil o has length 0. A result above TCPMaxOptionsLen means
// o cannot be encoded.
//
// The encoders lay options out as Linux does, NOP-padded so that 32-bit
// fields are aligned (MSS; SACK-permitted+timestamps or NOP NOP timestamps;
// NOP window scale; NOP NOP SACK). When that layout exceeds 40 bytes they
// fall back to packing the options without NOPs, so any option set Decode
// returns can be encoded again.
func OptionsLen(o *Options) int {
	if o == nil {
		return 0
	}
	n, _ := optionsLayout(o)
	return n
}

// optionsLayout returns the encoded length of o and whether the aligned
// layout is used.
func optionsLayout(o *Options) (int, bool) {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasTS {
		n += 12 // SACK-permitted (or NOP NOP) + timestamps
	} else if o.SACKPermitted {
		n += 4 // NOP NOP SACK-permitted
	}
	if o.HasWScale {
		n += 4
	}
	if o.NumSACK > 0 {
		n += 4 + 8*o.NumSACK
	}
	if n <= TCPMaxOptionsLen {
		return n, true
	}
	n = 0
	if o.HasMSS {
		n += 4
	}
	if o.SACKPermitted {
		n += 2
	}
	if o.HasTS {
		n += 10
	}
	if o.HasWScale {
		n += 3
	}
	if o.NumSACK > 0 {
		n += 2 + 8*o.NumSACK
	}
	return (n + 3) &^ 3, false
}

// putOptions writes o into b, which must be exactly OptionsLen(o) bytes,
// and o.NumSACK must be in 0..MaxSACKBlocks.
func putOptions(b []byte, o *Options, aligned bool) {
	i := 0
	if o.HasMSS {
		b[i], b[i+1] = OptMSS, 4
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += 4
	}
	switch {
	case aligned && o.HasTS && o.SACKPermitted:
		b[i], b[i+1] = OptSACKPermitted, 2
		i += 2
	case aligned && o.HasTS:
		b[i], b[i+1] = OptNOP, OptNOP
		i += 2
	case aligned && o.SACKPermitted:
		b[i], b[i+1], b[i+2], b[i+3] = OptNOP, OptNOP, OptSACKPermitted, 2
		i += 4
	case o.SACKPermitted: // packed
		b[i], b[i+1] = OptSACKPermitted, 2
		i += 2
	}
	if o.HasTS {
		b[i], b[i+1] = OptTimestamps, 10
		binary.BigEndian.PutUint32(b[i+2:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+6:], o.TSEcr)
		i += 10
	}
	if o.HasWScale {
		if aligned {
			b[i] = OptNOP
			i++
		}
		b[i], b[i+1], b[i+2] = OptWindowScale, 3, o.WScale
		i += 3
	}
	if o.NumSACK > 0 {
		if aligned {
			b[i], b[i+1] = OptNOP, OptNOP
			i += 2
		}
		b[i], b[i+1] = OptSACK, byte(2+8*o.NumSACK)
		i += 2
		for _, s := range o.SACK[:o.NumSACK] {
			binary.BigEndian.PutUint32(b[i:], s.Left)
			binary.BigEndian.PutUint32(b[i+4:], s.Right)
			i += 8
		}
	}
	clear(b[i:]) // EOL padding
}
