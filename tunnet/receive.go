package tunnet

import (
	"errors"
	"fmt"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
	"github.com/tcpfsm/tcpfsm/tunnet/tundev"
)

// The reader goroutines, one per device queue: read a batch, decode each
// packet, hand its segment to the stack (Stack.input), write what the
// batch made the connections send.

// read reads a batch from queue q.
func (s *Stack) read(q int, bufs [][]byte, sizes []int) (int, error) {
	if s.mq != nil {
		return s.mq.ReadQueue(q, bufs, sizes, s.headroom)
	}
	return s.dev.ReadBatch(bufs, sizes, s.headroom)
}

// readLoop is the reader goroutine of device queue q: batched device reads,
// each packet through input faults, decode, demux and the machine; the
// replies go out in one batched write per read batch.
func (s *Stack) readLoop(q int) {
	defer s.wg.Done()
	batch := max(s.dev.BatchSize(), 1)
	size := s.headroom + s.mtu
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	sizes := make([]int, batch)
	pkts := make([][]byte, batch)
	r := s.newRx(q)
	var errs readErrs
	for {
		n, err := s.read(q, bufs, sizes)
		// A batch can end in an error after n good packets (wireguard's
		// tun reports ErrTooManySegments that way): take them first.
		for i := range n {
			pkts[i] = bufs[i][s.headroom : s.headroom+sizes[i]]
		}
		if n > 0 {
			s.handleBatch(r, pkts[:n], nil)
		}
		if err != nil {
			if errs.fatal(s, err) {
				return
			}
			continue
		}
		errs.ok()
	}
}

// Whole reads: how many packets one batch takes at most, and the space
// they are read into (a super-segment needs tundev.WholeBufSize; small
// packets, ACKs, pack in by the hundred).
const (
	wholeBatch = 128
	wholeArena = 4 * (Headroom + tundev.WholeBufSize)
)

// readWholeLoop is readLoop for a WholeReader: the first packet of a batch
// is waited for, the rest are what the queue already holds. Finding out
// that it holds nothing costs a system call; after a batch of one packet
// (an ACK stream, a ping-pong) the reader asks only every eighth time.
func (s *Stack) readWholeLoop(q int, wr WholeReader) {
	defer s.wg.Done()
	arena := make([]byte, wholeArena)
	pkts := make([][]byte, 0, wholeBatch)
	verified := make([]bool, 0, wholeBatch)
	r := s.newRx(q)
	var errs readErrs
	for round := 0; ; round++ {
		more := len(pkts) > 1 || round%8 == 0
		pkts, verified = pkts[:0], verified[:0]
		var err error
		for pos := 0; len(pkts) < wholeBatch && len(arena)-pos >= Headroom+tundev.WholeBufSize; {
			if len(pkts) == 1 && !more {
				break
			}
			n, ok, e := wr.ReadWhole(q, arena[pos:], Headroom, len(pkts) == 0)
			if e != nil {
				if !errors.Is(e, tundev.ErrWouldBlock) {
					err = e
				}
				break
			}
			pkts = append(pkts, arena[pos+Headroom:pos+Headroom+n])
			verified = append(verified, ok)
			pos += (Headroom + n + 63) &^ 63
		}
		if len(pkts) > 0 {
			s.handleBatch(r, pkts, verified)
		}
		if err != nil {
			if errs.fatal(s, err) {
				return
			}
			continue
		}
		errs.ok()
	}
}

// newRx is the state of queue q's reader.
func (s *Stack) newRx(q int) *rxState {
	r := &rxState{s: s, tx: s.newTx()}
	r.tx.rxQueue = q
	r.emit = r.emitFlushed // bound once: no allocation per packet
	return r
}

// readErrs counts a reader's consecutive transient errors.
type readErrs int

func (e *readErrs) ok() { *e = 0 }

// fatal reports whether err stops the reader: the stack is closing, or the
// device failed (then it records why and closes the stack).
func (e *readErrs) fatal(s *Stack, err error) bool {
	select {
	case <-s.done:
		return true
	default:
	}
	if isTransientReadErr(err) && *e < 100 {
		*e++
		s.counters.readErrors.Add(1)
		return false
	}
	s.readOnce.Do(func() { s.readErr = fmt.Errorf("tunnet: device read: %w", err) })
	go s.Close() // cannot Close here: Close waits for this goroutine
	return true
}

// handleBatch takes one batch of packets read from the device: pcap, input
// faults, decode and delivery, then one flush of everything it sent.
// verified[i] says packet i's checksums need no check (nil: all do).
func (s *Stack) handleBatch(r *rxState, pkts [][]byte, verified []bool) {
	r.now = s.now()
	ts := time.Time{}
	for i, pkt := range pkts {
		s.counters.packetsIn.Add(1)
		s.counters.bytesIn.Add(uint64(len(pkt)))
		if s.cfg.Pcap != nil {
			if ts.IsZero() {
				ts = s.clock()
			}
			s.recordPcap(ts, pkt)
		}
		if s.faults.inj != nil {
			s.faultsIn(pkt, r.emit)
			continue
		}
		r.deliver(pkt, verified != nil && verified[i])
	}
	s.flushTx(r.tx)
}

// isTransientReadErr reports read errors after which the device still
// works (a packet too big or split into too many segments).
func isTransientReadErr(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return isTooManySegments(err)
}

// rxState is the reader goroutine's per-packet state.
type rxState struct {
	s    *Stack
	tx   *txBatch
	now  time.Duration
	pkt  header.Packet
	seg  machine.Segment
	emit faults.EmitFunc
}

// deliver decodes one packet and hands its segment to the stack; verified
// says its checksums need no check.
func (r *rxState) deliver(b []byte, verified bool) {
	s := r.s
	p := &r.pkt
	decode := header.Decode
	if verified {
		decode = header.DecodeUnchecked
	}
	if err := decode(b, p); err != nil {
		s.counters.decode.Count(err)
		return
	}
	if !s.owns(p.Dst) {
		s.counters.notOurs.Add(1)
		return
	}
	t := machine.Tuple{LocalAddr: p.Dst, LocalPort: p.TCP.DstPort, RemoteAddr: p.Src, RemotePort: p.TCP.SrcPort}
	segmentFromHeader(p, &r.seg)
	s.input(r.now, t, &r.seg, r.tx)
}
