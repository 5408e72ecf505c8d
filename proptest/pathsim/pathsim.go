// Package pathsim runs bulk transfers between machine.Conns over a
// simulated path with a bottleneck: a link rate, a propagation delay each
// way, a drop-tail queue in front of the link and random loss, shared by
// several flows. Time is simulated and the run is a pure function of its
// Path, Flows and seed, so congestion control can be measured (a 10 MiB
// transfer at 100 ms RTT takes milliseconds of CPU, not minutes) and its
// properties tested: recovery without timeouts, link utilisation, fairness
// between flows.
//
// Data flows one way, from each flow's sender to its receiver, through the
// bottleneck; ACKs come back over a path with the same delay and loss but
// no rate limit, as on an asymmetric access link.
package pathsim

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Path is the network between the senders and the receivers.
type Path struct {
	Rate  int64         // bottleneck rate, bits per second; 0: unlimited (only delay and loss)
	Delay time.Duration // one-way propagation delay, each way: the base RTT is twice this
	Queue int           // drop-tail queue at the bottleneck, packets (0: unlimited)
	Loss  float64       // probability that a packet is lost, each way, independently
	Seed  uint64        // seeds the losses
}

// HeaderBytes is what each packet adds to its text on the link: IPv4 and
// TCP headers, as smoltcp's netsim and most bottleneck studies count.
const HeaderBytes = 40

// Flow is one bulk transfer.
type Flow struct {
	Bytes  int            // to send; the flow is done when the receiver has read them all
	Start  time.Duration  // when the sender connects
	Config machine.Config // for both ends (buffers, options, congestion control)
}

// Result is what a Run measured.
type Result struct {
	Flows []FlowResult
	End   time.Duration // simulated time when the last flow finished, or the limit
	// Dropped counts packets the bottleneck's queue refused; Lost, those
	// random loss took, both directions.
	Dropped, Lost int
}

// FlowResult is one flow's outcome.
type FlowResult struct {
	Delivered    int           // bytes the receiver read
	Done         time.Duration // when the last byte was read; 0 if it never was
	Retransmits  uint64        // the sender's segments sent again
	Timeouts     uint64        // its retransmission timeouts with text outstanding
	FastRecovery uint64        // its fast retransmits
	// Received is the bytes read by each Interval since the start, for
	// throughput over time and fairness.
	Received []int
}

// Throughput is the flow's goodput in bytes per second from its start to
// its last byte (or to end if unfinished).
func (f *FlowResult) Throughput(start, end time.Duration) float64 {
	if f.Done > 0 {
		end = f.Done
	}
	if end <= start {
		return 0
	}
	return float64(f.Delivered) / (end - start).Seconds()
}

// Interval is the bucket width of FlowResult.Received.
const Interval = 100 * time.Millisecond

// ErrStalled reports a run in which nothing could happen any more before
// every flow finished: no packet in flight and no timer armed.
var ErrStalled = errors.New("pathsim: stalled: no packet in flight and no timer armed")

// Run simulates the flows over p until every flow is done or limit passes.
func Run(p Path, flows []Flow, limit time.Duration) (Result, error) {
	s := &sim{path: p, rng: rand.New(rand.NewPCG(p.Seed, 0x7061746873696d))}
	for i := range flows {
		s.addFlow(i, flows[i])
	}
	for !s.allDone() {
		at, ok := s.next()
		if !ok {
			return s.result(), fmt.Errorf("%w at %v", ErrStalled, s.now)
		}
		if at > limit {
			s.now = limit
			break
		}
		s.now = max(s.now, at)
		s.fire()
	}
	return s.result(), nil
}

// sim is one run's state.
type sim struct {
	path  Path
	rng   *rand.Rand
	now   time.Duration
	flows []*flow
	q     events
	seq   uint64 // orders events at the same time: first scheduled, first fired

	// The bottleneck: packets waiting, and when the link is free.
	waiting  []*packet
	linkFree time.Duration
	dropped  int
	lost     int
}

// flow is one transfer: a sender and a receiver Conn.
type flow struct {
	f           Flow
	snd, rcv    *machine.Conn
	started     bool
	written     int
	closed      bool
	res         FlowResult
	zero        []byte // what the sender writes: zeros
	readScratch []byte
}

type packet struct {
	to  *machine.Conn
	fl  *flow
	seg machine.Segment
}

// event is a packet arriving, or the bottleneck finishing one.
type event struct {
	at   time.Duration
	seq  uint64
	pkt  *packet // arrives at pkt.to
	link bool    // the link finished sending; start the next waiting packet
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].at < e[j].at || e[i].at == e[j].at && e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

func (s *sim) schedule(ev event) {
	s.seq++
	ev.seq = s.seq
	heap.Push(&s.q, ev)
}

func (s *sim) addFlow(i int, f Flow) {
	a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	b := netip.AddrFrom4([4]byte{10, 1, 0, 1})
	cfg := f.Config
	if cfg.ISNKey == ([16]byte{}) {
		cfg.ISNKey = [16]byte{byte(i), 0x5e, 0xed}
	}
	fl := &flow{f: f, zero: make([]byte, 64<<10), readScratch: make([]byte, 64<<10)}
	fl.snd = machine.NewConn(&cfg, machine.Tuple{LocalAddr: a, LocalPort: 40000, RemoteAddr: b, RemotePort: 5001})
	fl.rcv = machine.NewConn(&cfg, machine.Tuple{LocalAddr: b, LocalPort: 5001, RemoteAddr: a, RemotePort: 40000})
	fl.rcv.Listen(0)
	s.flows = append(s.flows, fl)
}

func (s *sim) allDone() bool {
	for _, fl := range s.flows {
		if fl.res.Done == 0 {
			return false
		}
	}
	return true
}

// next is the time of the next thing to happen: an event, a flow's start
// or a Conn's timer.
func (s *sim) next() (time.Duration, bool) {
	at, ok := time.Duration(0), false
	take := func(t time.Duration) {
		if !ok || t < at {
			at, ok = t, true
		}
	}
	if len(s.q) > 0 {
		take(s.q[0].at)
	}
	for _, fl := range s.flows {
		if !fl.started {
			take(fl.f.Start)
			continue
		}
		for _, c := range [2]*machine.Conn{fl.snd, fl.rcv} {
			if d, armed := c.NextDeadline(); armed {
				take(d)
			}
		}
	}
	return at, ok
}

// fire does everything due at s.now.
func (s *sim) fire() {
	for _, fl := range s.flows {
		if !fl.started && fl.f.Start <= s.now {
			fl.started = true
			fl.snd.Connect(s.now)
			s.after(fl)
		}
	}
	for len(s.q) > 0 && s.q[0].at <= s.now {
		ev := heap.Pop(&s.q).(event)
		if ev.link {
			s.transmitNext()
			continue
		}
		ev.pkt.to.Input(s.now, &ev.pkt.seg)
		s.after(ev.pkt.fl)
	}
	for _, fl := range s.flows {
		if !fl.started {
			continue
		}
		for _, c := range [2]*machine.Conn{fl.snd, fl.rcv} {
			if d, armed := c.NextDeadline(); armed && d <= s.now {
				c.Tick(s.now)
				s.after(fl)
			}
		}
	}
}

// after runs both applications of fl (the sender writes what fits, the
// receiver reads what is there) and sends what the Conns emitted.
func (s *sim) after(fl *flow) {
	for fl.written < fl.f.Bytes {
		n, err := fl.snd.Write(s.now, fl.zero[:min(len(fl.zero), fl.f.Bytes-fl.written)])
		fl.written += n
		if n == 0 || err != nil {
			break
		}
	}
	if fl.written == fl.f.Bytes && !fl.closed && fl.snd.State() == machine.StateEstablished {
		fl.closed = true
		fl.snd.Close(s.now)
	}
	for {
		n, err := fl.rcv.Read(s.now, fl.readScratch)
		if n > 0 {
			fl.res.Delivered += n
			bucket := int(s.now / Interval)
			for len(fl.res.Received) <= bucket {
				fl.res.Received = append(fl.res.Received, 0)
			}
			fl.res.Received[bucket] += n
		}
		if n == 0 || err != nil {
			break
		}
	}
	if fl.res.Done == 0 && fl.res.Delivered >= fl.f.Bytes {
		fl.res.Done = s.now
	}
	s.drain(fl, fl.snd, fl.rcv, true)
	s.drain(fl, fl.rcv, fl.snd, false)
}

// drain sends what from emitted towards to: forward packets through the
// bottleneck, reverse ones straight onto the return path.
func (s *sim) drain(fl *flow, from, to *machine.Conn, forward bool) {
	for _, seg := range from.Outbox() {
		p := &packet{to: to, fl: fl, seg: seg}
		if len(seg.Payload) > 0 {
			p.seg.Payload = append([]byte(nil), seg.Payload...)
		}
		if s.path.Loss > 0 && s.rng.Float64() < s.path.Loss {
			s.lost++
			continue
		}
		if !forward {
			s.schedule(event{at: s.now + s.path.Delay, pkt: p})
			continue
		}
		s.enqueue(p)
	}
	from.ClearOutbox()
}

// enqueue puts a forward packet into the bottleneck's drop-tail queue.
func (s *sim) enqueue(p *packet) {
	if s.path.Rate <= 0 {
		s.schedule(event{at: s.now + s.path.Delay, pkt: p})
		return
	}
	if s.path.Queue > 0 && len(s.waiting) >= s.path.Queue {
		s.dropped++
		return
	}
	s.waiting = append(s.waiting, p)
	if len(s.waiting) == 1 && s.linkFree <= s.now {
		s.transmitNext()
	}
}

// transmitNext starts sending the head of the queue, if the link is free.
func (s *sim) transmitNext() {
	if len(s.waiting) == 0 || s.linkFree > s.now {
		return
	}
	p := s.waiting[0]
	s.waiting[0] = nil
	s.waiting = s.waiting[1:]
	bits := int64(len(p.seg.Payload)+HeaderBytes) * 8
	tx := time.Duration(bits * int64(time.Second) / s.path.Rate)
	s.linkFree = s.now + tx
	s.schedule(event{at: s.linkFree + s.path.Delay, pkt: p})
	s.schedule(event{at: s.linkFree, link: true})
}

func (s *sim) result() Result {
	r := Result{End: s.now, Dropped: s.dropped, Lost: s.lost}
	for _, fl := range s.flows {
		c := fl.snd.Counters()
		fl.res.Retransmits, fl.res.Timeouts, fl.res.FastRecovery = c.Retransmits, c.Timeouts, c.FastRecovery
		r.Flows = append(r.Flows, fl.res)
	}
	return r
}

// Jain is Jain's fairness index of xs: (sum x)^2 / (n * sum x^2), 1 when
// all are equal, 1/n when one takes everything.
func Jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}
