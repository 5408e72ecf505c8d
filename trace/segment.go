package trace

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// Segment is one TCP segment of a capture, as the observers see it: the
// header fields and options, the text's length (not its bytes), and where
// it came from in the file.
type Segment struct {
	Frame    int       // 1-based frame number in the capture
	Time     time.Time // when the capture saw it
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    machine.Flags
	Window   uint16 // as on the wire (unscaled)
	Len      int    // bytes of text, on the wire (a snap length may have cut the capture)

	MSS      uint16 // 0: no MSS option
	WScale   int8   // the window scale option's shift; -1: absent
	SACKPerm bool
	HasTS    bool
	TSVal    uint32
	TSEcr    uint32
	NumSACK  int
	SACK     [header.MaxSACKBlocks]header.SACKBlock

	// BadChecksum: the TCP checksum does not verify. On the capturing
	// host's own packets that is checksum offload (the NIC fills it in
	// later), not a fault; the segment is judged as sent.
	BadChecksum bool
}

// SeqLen is the sequence space the segment occupies: text, SYN and FIN.
func (s *Segment) SeqLen() uint32 {
	n := uint32(s.Len)
	if s.Flags&machine.SYN != 0 {
		n++
	}
	if s.Flags&machine.FIN != 0 {
		n++
	}
	return n
}

// decoder turns frames into segments without allocating: a frame cut by the
// snap length is padded (in scratch) to its wire length so its headers and
// length fields decode; its text's bytes are never read.
type decoder struct {
	pkt     header.Packet
	scratch []byte
}

// errNotTCP marks an IP packet that is not TCP: skipped, not an error.
var errNotTCP = header.ErrNotTCP

// errCutShort stands for "not verified": a frame the snap length cut has
// no whole checksum to check.
var errCutShort = errors.New("cut by the snap length")

// decode fills s from f. It returns errNotTCP for other protocols and a
// descriptive error for a malformed packet.
func (d *decoder) decode(f *Frame, s *Segment) error {
	b := f.IP
	if !f.Captured && f.WireLen > len(b) && f.WireLen <= 1<<17 {
		if cap(d.scratch) < f.WireLen {
			d.scratch = make([]byte, 1<<17)
		}
		d.scratch = d.scratch[:f.WireLen]
		copy(d.scratch, b)
		clear(d.scratch[len(b):])
		b = d.scratch
	}
	// One pass with the checksums verified; a second, unverified, only
	// for a packet whose checksum fails (offload on the capturing host)
	// or whose text the snap length cut.
	p := &d.pkt
	err := errCutShort
	if f.Captured {
		err = header.Decode(b, p)
	}
	badSum := false
	if r := header.ReasonOf(err); err != nil && (r == header.ReasonBadTCPChecksum || r == header.ReasonBadIPChecksum || err == errCutShort) {
		badSum = f.Captured
		err = header.DecodeUnchecked(b, p)
	}
	if err != nil {
		if header.ReasonOf(err) == header.ReasonNotTCP {
			return errNotTCP
		}
		return fmt.Errorf("frame %d: %w", f.Number, err)
	}
	h := &p.TCP
	*s = Segment{
		Frame:  f.Number,
		Time:   f.Time,
		Src:    netip.AddrPortFrom(p.Src, h.SrcPort),
		Dst:    netip.AddrPortFrom(p.Dst, h.DstPort),
		Seq:    h.Seq,
		Ack:    h.Ack,
		Flags:  machine.Flags(h.Flags) & (machine.FIN | machine.SYN | machine.RST | machine.PSH | machine.ACK | machine.URG),
		Window: h.Window,
		Len:    len(p.Payload),
		WScale: -1,
	}
	o := &h.Opts
	if o.HasMSS {
		s.MSS = o.MSS
	}
	if o.HasWScale {
		s.WScale = int8(min(o.WScale, 14))
	}
	s.SACKPerm = o.SACKPermitted
	if o.HasTS {
		s.HasTS, s.TSVal, s.TSEcr = true, o.TSVal, o.TSEcr
	}
	s.NumSACK = int(min(o.NumSACK, header.MaxSACKBlocks))
	copy(s.SACK[:], o.SACK[:s.NumSACK])
	s.BadChecksum = badSum
	return nil
}
