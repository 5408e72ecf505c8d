package tunnet

import (
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// The conversion between the wire's TCP header (tunnet/header) and the
// machine's Segment: the same fields, options included; the window field
// is carried as it is (the machine scales it).

// flagMask keeps the control bits the machine knows (header and machine
// use the same bit positions for FIN..URG).
const flagMask = machine.FIN | machine.SYN | machine.RST | machine.PSH | machine.ACK | machine.URG

// segmentFromHeader fills seg from the decoded packet p; seg's payload
// aliases p's.
func segmentFromHeader(p *header.Packet, seg *machine.Segment) {
	h := &p.TCP
	*seg = machine.Segment{
		Seq:     h.Seq,
		Ack:     h.Ack,
		Flags:   machine.Flags(h.Flags) & flagMask,
		Window:  h.Window,
		Payload: p.Payload,
	}
	o := &h.Opts
	if o.HasMSS {
		seg.MSS = o.MSS
	}
	if o.HasWScale {
		seg.Opts |= machine.OptWScale
		seg.WScale = o.WScale
	}
	if o.SACKPermitted {
		seg.Opts |= machine.OptSACKPermitted
	}
	if o.HasTS {
		seg.Opts |= machine.OptTimestamps
		seg.TSVal, seg.TSEcr = o.TSVal, o.TSEcr
	}
	n := min(o.NumSACK, machine.MaxSACKBlocks)
	for i, b := range o.SACK[:n] {
		seg.SACK[i] = machine.SACKBlock{Left: b.Left, Right: b.Right}
	}
	seg.NumSACK = uint8(n)
}

// headerFromSegment fills h for seg, sent on connection t.
func headerFromSegment(t *machine.Tuple, seg *machine.Segment, h *header.TCP) {
	*h = header.TCP{
		SrcPort: t.LocalPort,
		DstPort: t.RemotePort,
		Seq:     seg.Seq,
		Ack:     seg.Ack,
		Flags:   uint8(seg.Flags & flagMask),
		Window:  seg.Window,
	}
	o := &h.Opts
	if seg.MSS != 0 {
		o.MSS, o.HasMSS = seg.MSS, true
	}
	if seg.Opts.Has(machine.OptWScale) {
		o.WScale, o.HasWScale = seg.WScale, true
	}
	o.SACKPermitted = seg.Opts.Has(machine.OptSACKPermitted)
	if seg.Opts.Has(machine.OptTimestamps) {
		o.TSVal, o.TSEcr, o.HasTS = seg.TSVal, seg.TSEcr, true
	}
	n := min(int(seg.NumSACK), header.MaxSACKBlocks)
	for i, b := range seg.SACK[:n] {
		o.SACK[i] = header.SACKBlock{Left: b.Left, Right: b.Right}
	}
	o.NumSACK = n
}
