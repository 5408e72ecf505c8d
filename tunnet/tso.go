package tunnet

import (
	"encoding/binary"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// TCP segmentation offload, on a WholeWriter: a connection's consecutive
// full-sized data segments in one batch become one packet of up to 64 KiB,
// which the kernel cuts back into the segments the machine sent (their
// payloads in order, each with the first's header: the same ACK, window
// and timestamps, the next sequence number; PSH on the last only). The
// machine still emits, and accounts for, MSS-sized segments: only the
// packet that carries them to the kernel changes.

// superSeg is the packet of a batch that the next segments of its
// connection may join.
type superSeg struct {
	idx          int // index in txBatch.pkts; -1: none
	tuple        machine.Tuple
	q            uint8
	next, ack    uint32 // the sequence and acknowledgment numbers a joining segment carries
	win          uint16
	opts         machine.Opts
	tsval, tsecr uint32
	size         int // payload bytes per segment: the first's (the TSO segment size)
	last         int // payload bytes of the last segment joined
	ipLen        int
}

// minSuperPayload is the least payload a segment that starts a
// super-segment carries: shorter ones end a write, and nothing joins them.
const minSuperPayload = 512

// maxBig bounds a batch's 64 KiB buffers.
const maxBig = 8

// startsSuper reports whether seg may start a super-segment: text with
// nothing but ACK (and PSH) set, no SACK blocks, full-sized or so.
func startsSuper(seg *machine.Segment) bool {
	return seg.Flags&^machine.PSH == machine.ACK && seg.NumSACK == 0 && len(seg.Payload) >= minSuperPayload
}

// bigBuf returns a 64 KiB buffer for a super-segment, or nil when the
// batch holds maxBig already.
func (tx *txBatch) bigBuf() []byte {
	if tx.nbig == len(tx.big) {
		if len(tx.big) == maxBig {
			return nil
		}
		tx.big = append(tx.big, make([]byte, coalesceCap))
	}
	b := tx.big[tx.nbig]
	tx.nbig++
	return b
}

// startSuper makes the packet just added, seg's, the one later segments
// may join.
func (tx *txBatch) startSuper(t *machine.Tuple, q uint8, seg *machine.Segment) {
	ipLen := header.IPv4MinHeaderLen
	if !t.LocalAddr.Is4() {
		ipLen = header.IPv6HeaderLen
	}
	n := len(seg.Payload)
	tx.sup = superSeg{
		idx: len(tx.pkts) - 1, tuple: *t, q: q,
		next: seg.Seq + uint32(n), ack: seg.Ack, win: seg.Window,
		opts: seg.Opts, tsval: seg.TSVal, tsecr: seg.TSEcr,
		size: n, last: n, ipLen: ipLen,
	}
}

// join appends seg's payload to the super-segment when seg continues it:
// the same connection and queue, the next sequence number, the same ACK,
// window and options, nothing but ACK (and PSH) set, every segment before
// it full-sized, and room left in the buffer and in the IP length.
func (tx *txBatch) join(t *machine.Tuple, q uint8, seg *machine.Segment) bool {
	u := &tx.sup
	n := len(seg.Payload)
	switch {
	case u.idx < 0, u.idx != len(tx.pkts)-1, u.tuple != *t, u.q != q,
		seg.Flags&^machine.PSH != machine.ACK, seg.Seq != u.next, seg.Ack != u.ack, seg.Window != u.win,
		seg.Opts != u.opts, seg.TSVal != u.tsval, seg.TSEcr != u.tsecr, seg.NumSACK != 0,
		n == 0, n > u.size, u.last != u.size:
		return false
	}
	pkt := tx.pkts[u.idx]
	if len(pkt)+n > cap(pkt) || len(pkt)-Headroom-u.ipLen+n > 0xffff || u.ipLen == header.IPv4MinHeaderLen && len(pkt)-Headroom+n > 0xffff {
		return false
	}
	pkt = append(pkt, seg.Payload...) // within its capacity: in place
	ip := pkt[Headroom:]
	segLen := len(ip) - u.ipLen
	if u.ipLen == header.IPv4MinHeaderLen {
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], header.Checksum(ip[:header.IPv4MinHeaderLen]))
	} else {
		binary.BigEndian.PutUint16(ip[4:], uint16(segLen))
	}
	tcp := ip[u.ipLen:]
	binary.BigEndian.PutUint16(tcp[16:], header.PseudoHeaderSum(t.LocalAddr, t.RemoteAddr, header.ProtocolTCP, segLen))
	if seg.Flags&machine.PSH != 0 {
		tcp[13] |= header.FlagPSH
	}
	tx.pkts[u.idx] = pkt
	tx.gso[u.idx] = uint16(u.size)
	u.next += uint32(n)
	u.last = n
	return true
}

// writeWhole writes tx's packets one by one through the WholeWriter, each
// to its connection's queue, super-segments with their segment size.
func (s *Stack) writeWhole(tx *txBatch) {
	s.sent(tx.pkts)
	for i, p := range tx.pkts {
		if err := s.ww.WriteWhole(int(tx.qs[i]), p, Headroom, int(tx.gso[i])); err != nil {
			s.counters.writeErrors.Add(1)
		}
	}
}
