package tunnet

import (
	"errors"
	"slices"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
	"golang.zx2c4.com/wireguard/tun"
)

// txBatch collects encoded packets and the connections to wake, so that a
// burst of work (one read batch, one Write call) ends in one device write
// and one wakeup per connection. Buffers are kept across uses: encoding
// allocates nothing once a batch has grown to its working size.
type txBatch struct {
	s    *Stack
	bufs [][]byte // owned buffers; bufs[0] is large enough for the device to coalesce into
	pkts [][]byte // bufs[i][:Headroom+len] of the packets to write
	qs   []uint8  // the device queue of each packet in pkts
	wake []*endpoint

	// With a WholeWriter (tso.go): each packet's TSO segment size (0: a
	// plain packet), the super-segment the next segments may join, and
	// 64 KiB buffers for super-segments (nbig in use).
	offload bool
	gso     []uint16
	sup     superSeg
	big     [][]byte
	nbig    int

	// rxQueue is the device queue whose reader owns this batch: segments
	// it delivers move their connection to that queue. -1 for batches of
	// the timer loop and the application.
	rxQueue int
	part    [][]byte // the packets of one queue, when a batch spans several

	// With fault injection: the packets that survive output faults (out),
	// released ones that already passed them (direct), and buffers for
	// copies of held packets (spares, nspare in use).
	out, direct [][]byte
	spares      [][]byte
	nspare      int
	cur         int // index in pkts of the packet being processed

	// last pure ACK encoded, for coalescing consecutive ACKs of one
	// connection (see addSegment)
	ackTuple machine.Tuple
	ackIdx   int
	ackNum   uint32
}

// coalesceCap is the capacity of a batch's first buffer: a TUN with
// offloads coalesces one flow's segments into it (see tundev).
const coalesceCap = Headroom + 65535

func (s *Stack) newTx() *txBatch {
	return &txBatch{s: s, ackIdx: -1, rxQueue: -1, offload: s.ww != nil, sup: superSeg{idx: -1}}
}

func (s *Stack) getTx() *txBatch { return s.txPool.Get().(*txBatch) }

// putTx flushes what tx holds and returns it to the pool.
func (s *Stack) putTx(tx *txBatch) {
	s.flushTx(tx)
	s.txPool.Put(tx)
}

// buf returns the next free buffer.
func (tx *txBatch) buf() []byte {
	i := len(tx.pkts)
	for len(tx.bufs) <= i { // packets in bigBuf's buffers leave theirs unused
		size := Headroom + tx.s.mtu
		if len(tx.bufs) == 0 && !tx.offload { // for the wireguard package's coalescing
			size = max(size, coalesceCap)
		}
		tx.bufs = append(tx.bufs, make([]byte, size))
	}
	return tx.bufs[i][:cap(tx.bufs[i])]
}

// addSegment encodes seg, sent on connection t, as the next packet, to be
// written to device queue q.
//
// A pure ACK that directly follows a pure ACK of the same connection in the
// batch and acknowledges more replaces it: the later cumulative ACK says
// everything the earlier one did (one ACK per read batch rather than one per
// segment, as GRO gives a kernel). Duplicate ACKs are never merged: they
// carry the loss signal of fast retransmit.
func (tx *txBatch) addSegment(t *machine.Tuple, q uint8, seg *machine.Segment) {
	pureACK := seg.Flags == machine.ACK && len(seg.Payload) == 0
	if pureACK && tx.ackIdx == len(tx.pkts)-1 && tx.ackIdx >= 0 && tx.ackTuple == *t && machine.SeqGT(seg.Ack, tx.ackNum) {
		tx.pkts = tx.pkts[:tx.ackIdx] // overwrite the earlier ACK
		tx.qs = tx.qs[:tx.ackIdx]
		if tx.offload {
			tx.gso = tx.gso[:tx.ackIdx]
		}
	}
	if tx.offload && tx.join(t, q, seg) {
		return
	}
	var b []byte
	starts := tx.offload && startsSuper(seg)
	if starts {
		b = tx.bigBuf()
	}
	if b == nil {
		b, starts = tx.buf(), false
	}
	var h header.TCP
	headerFromSegment(t, seg, &h)
	var n int
	var err error
	if tx.offload { // the device completes the checksum (not through a func value: h would escape)
		n, err = header.EncodeTCPPartial(b[Headroom:], t.LocalAddr, t.RemoteAddr, &h, seg.Payload, tx.s.ttl)
	} else {
		n, err = header.EncodeTCP(b[Headroom:], t.LocalAddr, t.RemoteAddr, &h, seg.Payload, tx.s.ttl)
	}
	if err != nil {
		tx.s.counters.encodeErrors.Add(1)
		return
	}
	tx.pkts = append(tx.pkts, b[:Headroom+n])
	tx.qs = append(tx.qs, q)
	if tx.offload {
		tx.gso = append(tx.gso, 0)
		tx.sup.idx = -1
		if starts {
			tx.startSuper(t, q, seg)
		}
	}
	if seg.Flags&machine.RST != 0 {
		tx.s.counters.rstSent.Add(1)
	}
	if pureACK {
		tx.ackTuple, tx.ackIdx, tx.ackNum = *t, len(tx.pkts)-1, seg.Ack
	} else {
		tx.ackIdx = -1
	}
}

// addWake queues ep's waiting readers and writers to be woken at flush.
func (tx *txBatch) addWake(ep *endpoint) { tx.wake = append(tx.wake, ep) }

// flushTx writes the batch's packets (through output faults and pcap) and
// wakes the queued connections. The caller holds no connection lock.
func (s *Stack) flushTx(tx *txBatch) {
	if len(tx.pkts) > 0 || len(tx.direct) > 0 {
		if tx.offload {
			s.writeWhole(tx)
		} else if s.faults.inj != nil {
			// Faults delay and reorder packets across batches: they all
			// go through queue 0 (which the kernel then steers every flow
			// to).
			tx.out = append(tx.out[:0], tx.direct...)
			for i := range tx.pkts {
				tx.cur = i
				s.faultsOut(tx.pkts[i][Headroom:], tx)
			}
			s.writePackets(0, tx.out)
		} else {
			s.writeByQueue(tx)
		}
		tx.pkts = tx.pkts[:0]
		tx.qs = tx.qs[:0]
		tx.gso = tx.gso[:0]
		tx.sup.idx, tx.nbig = -1, 0
		tx.out = tx.out[:0]
		tx.direct = tx.direct[:0]
		tx.nspare = 0
		tx.ackIdx = -1
	}
	for i, ep := range tx.wake {
		ep.notify()
		tx.wake[i] = nil
	}
	tx.wake = tx.wake[:0]
}

// copySpare copies pkt (without headroom) into a spare buffer and returns
// it with headroom in front.
func (tx *txBatch) copySpare(pkt []byte) []byte {
	if tx.nspare == len(tx.spares) {
		tx.spares = append(tx.spares, make([]byte, Headroom+tx.s.mtu))
	}
	b := tx.spares[tx.nspare]
	tx.nspare++
	n := copy(b[Headroom:], pkt)
	return b[:Headroom+n]
}

// writeByQueue writes tx's packets, one device write per queue they use.
func (s *Stack) writeByQueue(tx *txBatch) {
	first := tx.qs[0]
	if s.mq == nil || !slices.ContainsFunc(tx.qs, func(q uint8) bool { return q != first }) {
		s.writePackets(int(first), tx.pkts)
		return
	}
	for q := range s.mq.Queues() {
		tx.part = tx.part[:0]
		for i, pq := range tx.qs {
			if int(pq) == q {
				tx.part = append(tx.part, tx.pkts[i])
			}
		}
		s.writePackets(q, tx.part)
	}
	clear(tx.part)
}

// writePackets records and writes packets (each with Headroom in front) to
// device queue q.
func (s *Stack) writePackets(q int, pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
	s.sent(pkts)
	var err error
	if s.mq != nil {
		err = s.mq.WriteQueue(q, pkts, Headroom)
	} else {
		err = s.dev.WriteBatch(pkts, Headroom)
	}
	if err != nil {
		s.counters.writeErrors.Add(1)
	}
}

// sent records packets about to be written (each with Headroom in front)
// in the pcap and counts them.
func (s *Stack) sent(pkts [][]byte) {
	if s.cfg.Pcap != nil {
		ts := s.clock()
		for _, p := range pkts {
			s.recordPcap(ts, p[Headroom:])
		}
	}
	var bytes uint64
	for _, p := range pkts {
		bytes += uint64(len(p) - Headroom)
	}
	s.counters.packetsOut.Add(uint64(len(pkts)))
	s.counters.bytesOut.Add(bytes)
}

func (s *Stack) recordPcap(ts time.Time, pkt []byte) {
	s.pcapMu.Lock()
	s.cfg.Pcap.WritePacket(ts, pkt) // a failing capture must not stop the stack
	s.pcapMu.Unlock()
}

func isTooManySegments(err error) bool { return errors.Is(err, tun.ErrTooManySegments) }
