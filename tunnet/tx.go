package tunnet

import (
	"errors"
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
	wake []*endpoint

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

func (s *Stack) newTx() *txBatch { return &txBatch{s: s, ackIdx: -1} }

func (s *Stack) getTx() *txBatch { return s.txPool.Get().(*txBatch) }

// putTx flushes what tx holds and returns it to the pool.
func (s *Stack) putTx(tx *txBatch) {
	s.flushTx(tx)
	s.txPool.Put(tx)
}

// buf returns the next free buffer.
func (tx *txBatch) buf() []byte {
	i := len(tx.pkts)
	if i == len(tx.bufs) {
		size := Headroom + tx.s.mtu
		if i == 0 {
			size = max(size, coalesceCap)
		}
		tx.bufs = append(tx.bufs, make([]byte, size))
	}
	return tx.bufs[i][:cap(tx.bufs[i])]
}

// addSegment encodes seg, sent on connection t, as the next packet.
//
// A pure ACK that directly follows a pure ACK of the same connection in the
// batch and acknowledges more replaces it: the later cumulative ACK says
// everything the earlier one did (one ACK per read batch rather than one per
// segment, as GRO gives a kernel). Duplicate ACKs are never merged: they
// carry the loss signal of fast retransmit.
func (tx *txBatch) addSegment(t *machine.Tuple, seg *machine.Segment) {
	pureACK := seg.Flags == machine.ACK && len(seg.Payload) == 0
	if pureACK && tx.ackIdx == len(tx.pkts)-1 && tx.ackIdx >= 0 && tx.ackTuple == *t && machine.SeqGT(seg.Ack, tx.ackNum) {
		tx.pkts = tx.pkts[:tx.ackIdx] // overwrite the earlier ACK
	}
	b := tx.buf()
	var h header.TCP
	headerFromSegment(t, seg, &h)
	n, err := header.EncodeTCP(b[Headroom:], t.LocalAddr, t.RemoteAddr, &h, seg.Payload, tx.s.ttl)
	if err != nil {
		tx.s.counters.encodeErrors.Add(1)
		return
	}
	tx.pkts = append(tx.pkts, b[:Headroom+n])
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
		pkts := tx.pkts
		if s.faults.inj != nil {
			tx.out = append(tx.out[:0], tx.direct...)
			for i := range tx.pkts {
				tx.cur = i
				s.faultsOut(tx.pkts[i][Headroom:], tx)
			}
			pkts = tx.out
		}
		s.writePackets(pkts)
		tx.pkts = tx.pkts[:0]
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

// writePackets records and writes packets (each with Headroom in front).
func (s *Stack) writePackets(pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
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
	if err := s.dev.WriteBatch(pkts, Headroom); err != nil {
		s.counters.writeErrors.Add(1)
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
