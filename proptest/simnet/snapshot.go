package simnet

import (
	"encoding/binary"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Snapshot is a saved Net: both Conns, the segments in flight and the
// clock. The exhaustive checker saves every state it must expand later and
// restores it into one Net; a Snapshot reuses its storage when saved into
// again.
type Snapshot struct {
	conn    [2]machine.Conn
	link    [2][]Packet
	payload []byte // the packets' payloads
	now     time.Duration
	nextID  uint64
	stats   Stats
}

// Save copies n into s. Records are not saved.
func (n *Net) Save(s *Snapshot) {
	for i := range n.conn {
		n.conn[i].CopyTo(&s.conn[i])
	}
	size := 0
	for i := range n.link {
		for j := range n.link[i] {
			size += len(n.link[i][j].Seg.Payload)
		}
	}
	if cap(s.payload) < size {
		s.payload = make([]byte, 0, size)
	}
	s.payload = s.payload[:0]
	for i := range n.link {
		s.link[i] = append(s.link[i][:0], n.link[i]...)
		for j := range s.link[i] {
			p := &s.link[i][j].Seg
			if len(p.Payload) > 0 {
				at := len(s.payload)
				s.payload = append(s.payload, p.Payload...)
				p.Payload = s.payload[at:len(s.payload):len(s.payload)]
			} else {
				p.Payload = nil
			}
		}
	}
	s.now, s.nextID, s.stats = n.now, n.nextID, n.stats
}

// Restore makes n as it was when s was saved. The Conns keep their own
// Config, whose Observer is n: a snapshot saved in one Net may be restored
// into another built from the same Options (the checker's workers do).
func (n *Net) Restore(s *Snapshot) {
	for i := range n.conn {
		s.conn[i].CopyStateTo(n.conn[i]) // n's Config: its Observer is n
	}
	for i := range n.link {
		n.link[i] = append(n.link[i][:0], s.link[i]...)
		for j := range n.link[i] {
			if p := &n.link[i][j].Seg; len(p.Payload) > 0 {
				p.Payload = n.copyPayload(p.Payload)
			}
		}
	}
	n.now, n.nextID, n.stats = s.now, s.nextID, s.stats
	n.ClearRecords()
	n.cur = nil
}

// AppendKey appends a canonical encoding of the Net's state, time left
// out, to b: both Conns' keys (machine.Conn.AppendKey) and the segments in
// flight in each direction, in order. Two Nets with equal keys behave
// alike under the same moves.
func (n *Net) AppendKey(b []byte) []byte {
	for i := range n.conn {
		b = n.conn[i].AppendKey(b)
	}
	for i := range n.link {
		b = binary.BigEndian.AppendUint16(b, uint16(len(n.link[i])))
		for j := range n.link[i] {
			b = AppendSegmentKey(b, &n.link[i][j].Seg)
		}
	}
	return b
}

// AppendSegmentKey appends a canonical encoding of a segment to b. Its
// timestamps are time, which keys leave out (machine.Conn.AppendKey).
func AppendSegmentKey(b []byte, s *machine.Segment) []byte {
	b = binary.BigEndian.AppendUint32(b, s.Seq)
	b = binary.BigEndian.AppendUint32(b, s.Ack)
	b = binary.BigEndian.AppendUint16(b, s.Window)
	b = append(b, byte(s.Flags), byte(s.MSS>>8), byte(s.MSS), byte(s.Opts), s.WScale, s.NumSACK)
	for _, k := range s.SACK[:s.NumSACK] {
		b = binary.BigEndian.AppendUint32(b, k.Left)
		b = binary.BigEndian.AppendUint32(b, k.Right)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Payload)))
	return append(b, s.Payload...)
}
