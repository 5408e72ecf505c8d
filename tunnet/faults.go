package tunnet

import (
	"sync"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// faultGate serializes the fault injector (which one loop must own) between
// the reader, the timer loop and the application goroutines that send.
type faultGate struct {
	mu  sync.Mutex
	inj *faults.Injector
}

// faultsIn passes an inbound packet through the injector; what survives is
// delivered (now, or later from the timer loop).
func (s *Stack) faultsIn(pkt []byte, deliver faults.EmitFunc) {
	s.faults.mu.Lock()
	dropped := s.faults.inj.Counters(faults.In).Dropped
	s.faults.inj.Process(faults.In, pkt, deliver)
	lost := s.faults.inj.Counters(faults.In).Dropped != dropped
	s.faults.mu.Unlock()
	if lost {
		s.reportDrop(pkt, true)
	}
	s.timers.faultsChanged()
}

// reportDrop tells Config.FaultDrop of a packet the injector dropped.
func (s *Stack) reportDrop(pkt []byte, inbound bool) {
	f := s.cfg.FaultDrop
	if f == nil {
		return
	}
	var p header.Packet
	if header.DecodeUnchecked(pkt, &p) != nil {
		return
	}
	d := FaultDrop{At: s.now(), Inbound: inbound}
	d.Tuple = machine.Tuple{LocalAddr: p.Src, LocalPort: p.TCP.SrcPort, RemoteAddr: p.Dst, RemotePort: p.TCP.DstPort}
	if inbound {
		d.Tuple = machine.Tuple{LocalAddr: p.Dst, LocalPort: p.TCP.DstPort, RemoteAddr: p.Src, RemotePort: p.TCP.SrcPort}
	}
	var seg machine.Segment
	segmentFromHeader(&p, &seg)
	d.Seg = segmentInfo(&seg)
	f(d)
}

// faultsOut passes an outbound packet (without headroom) through the
// injector; what survives now is appended to tx.out.
func (s *Stack) faultsOut(pkt []byte, tx *txBatch) {
	s.faults.mu.Lock()
	dropped := s.faults.inj.Counters(faults.Out).Dropped
	s.faults.inj.Process(faults.Out, pkt, tx.emitOut)
	lost := s.faults.inj.Counters(faults.Out).Dropped != dropped
	s.faults.mu.Unlock()
	if lost {
		s.reportDrop(pkt, false)
	}
	s.timers.faultsChanged()
}

// faultsFlush releases the held and delayed packets that are due: inbound
// ones are delivered with rx, outbound ones go into rx.tx.
func (s *Stack) faultsFlush(now time.Time, rx *rxState) (next time.Time, ok bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.inj.Flush(now, rx.emitFlushed)
	return s.faults.inj.NextDeadline()
}

func (s *Stack) faultsNext() (time.Time, bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.inj.NextDeadline()
}

// faultDrops is the number of packets the injector dropped.
func (s *Stack) faultDrops() uint64 {
	if s.faults.inj == nil {
		return 0
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.inj.Counters(faults.In).Dropped + s.faults.inj.Counters(faults.Out).Dropped
}

// FaultCounters returns the injector's counters per direction (zero
// without fault injection).
func (s *Stack) FaultCounters() (in, out faults.Counters) {
	if s.faults.inj == nil {
		return
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.inj.Counters(faults.In), s.faults.inj.Counters(faults.Out)
}

// emitOut receives outbound packets from the injector: the packet given to
// Process itself (tx.pkts[tx.cur], already in a buffer with headroom) or a
// copy the injector held, which is copied into a spare buffer.
func (tx *txBatch) emitOut(_ faults.Direction, pkt []byte) {
	if p := tx.pkts[tx.cur]; len(pkt) > 0 && len(p) > Headroom && &p[Headroom] == &pkt[0] {
		tx.out = append(tx.out, p)
		return
	}
	tx.out = append(tx.out, tx.copySpare(pkt))
}

// emitFlushed receives packets the injector releases from the timer loop.
func (rx *rxState) emitFlushed(dir faults.Direction, pkt []byte) {
	if dir == faults.In {
		rx.deliver(pkt, false)
		return
	}
	rx.tx.direct = append(rx.tx.direct, rx.tx.copySpare(pkt))
}
