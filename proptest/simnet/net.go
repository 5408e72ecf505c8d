package simnet

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Side names an endpoint: A (usually the active opener) or B.
type Side uint8

// The two endpoints.
const (
	A Side = iota
	B
)

// Peer is the other side.
func (s Side) Peer() Side { return 1 - s }

func (s Side) String() string {
	if s == A {
		return "A"
	}
	return "B"
}

// Packet is a segment in flight on a Link.
type Packet struct {
	Seg  machine.Segment // its Payload is owned by the packet
	ID   uint64          // emission order within the Net, from 1; a duplicate keeps its original's ID
	Sent time.Duration   // when the sender emitted it
	At   time.Duration   // when a random run delivers it
}

// Faults describe what the network does to each segment in a random run.
// Probabilities are in [0, 1].
type Faults struct {
	Drop    float64       // the segment is lost
	Dup     float64       // the segment arrives twice
	Reorder float64       // the segment is held back by up to Jitter extra
	Delay   time.Duration // one-way delay of every segment
	Jitter  time.Duration // maximum extra delay of a reordered segment (default 4*Delay, at least 1ms)
}

// Options configure a Net.
type Options struct {
	// A and B configure the endpoints. They may be the same pointer: the
	// two Conns then share one Config, as Conns of one stack do. The Net
	// uses private copies whose Observer it sets; Step wrappers are kept.
	A, B *machine.Config
	// Tuple is A's socket pair; B sees it reversed. Zero picks
	// 10.0.0.1:40000 -> 10.0.0.2:80.
	Tuple machine.Tuple
	// Start is the clock's initial value.
	Start time.Duration
	// Seed makes random runs repeatable.
	Seed uint64
	// Faults apply to every emitted segment (zero: a perfect network).
	Faults Faults
	// Lifetime is how long a segment may stay in the network before it is
	// discarded: the MSL assumption TIME-WAIT rests on. Zero means A's MSL
	// (or 30 s when that is zero too); negative means forever.
	Lifetime time.Duration
	// Record turns on Records.
	Record bool
	// Rewrite, if set, may alter each segment a Conn emits before the
	// network sees it (mutation demonstrations). It must not keep seg.
	Rewrite func(from Side, seg *machine.Segment)
	// Observer, if set, also sees every transition.
	Observer machine.Observer
}

// Stats count what the network did.
type Stats struct {
	Emitted, Delivered, Injected, Dropped, Duplicated, Expired int
}

// Net is two Conns, one Link per direction and a fake clock. It is not safe
// for concurrent use.
type Net struct {
	now      time.Duration
	cfg      [2]*machine.Config
	conn     [2]*machine.Conn
	link     [2][]Packet // link[s] carries s -> s.Peer()
	rng      *rand.Rand
	faults   Faults
	lifetime time.Duration
	rewrite  func(Side, *machine.Segment)
	observer machine.Observer
	record   bool
	records  []Record
	arena    []byte // storage for payloads (copyPayload)
	cur      *Record
	nextID   uint64
	stats    Stats
}

// DefaultTuple is A's socket pair when Options.Tuple is zero.
func DefaultTuple() machine.Tuple {
	return machine.Tuple{
		LocalAddr:  netip.AddrFrom4([4]byte{10, 0, 0, 1}),
		LocalPort:  40000,
		RemoteAddr: netip.AddrFrom4([4]byte{10, 0, 0, 2}),
		RemotePort: 80,
	}
}

// Reverse is the socket pair as the other end sees it.
func Reverse(t machine.Tuple) machine.Tuple {
	return machine.Tuple{LocalAddr: t.RemoteAddr, LocalPort: t.RemotePort, RemoteAddr: t.LocalAddr, RemotePort: t.LocalPort}
}

// New builds a Net with both Conns CLOSED.
func New(o Options) *Net {
	n := &Net{
		now:      o.Start,
		rng:      rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		faults:   o.Faults,
		rewrite:  o.Rewrite,
		observer: o.Observer,
		record:   o.Record,
	}
	if n.faults.Jitter == 0 {
		n.faults.Jitter = max(4*n.faults.Delay, time.Millisecond)
	}
	ca, cb := o.A, o.B
	if ca == nil {
		ca = &machine.Config{}
	}
	if cb == nil {
		cb = ca
	}
	n.cfg[A] = n.private(ca)
	if cb == ca {
		n.cfg[B] = n.cfg[A]
	} else {
		n.cfg[B] = n.private(cb)
	}
	n.lifetime = o.Lifetime
	if n.lifetime == 0 {
		n.lifetime = ca.MSL
		if n.lifetime == 0 {
			n.lifetime = 30 * time.Second
		}
	}
	t := o.Tuple
	if t == (machine.Tuple{}) {
		t = DefaultTuple()
	}
	n.conn[A] = machine.NewConn(n.cfg[A], t)
	n.conn[B] = machine.NewConn(n.cfg[B], Reverse(t))
	return n
}

func (n *Net) private(c *machine.Config) *machine.Config {
	cp := *c
	cp.Observer = n
	return &cp
}

// Config is the (private) Config side s runs with.
func (n *Net) Config(s Side) *machine.Config { return n.cfg[s] }

// Conn is endpoint s. Callers that call into it directly must call Flush(s)
// afterwards so its output reaches the network.
func (n *Net) Conn(s Side) *machine.Conn { return n.conn[s] }

// Now is the fake clock.
func (n *Net) Now() time.Duration { return n.now }

// Stats reports what the network did so far.
func (n *Net) Stats() Stats { return n.stats }

// Link is the segments in flight from side s, in emission order. The slice
// is the Net's own: do not keep it across calls.
func (n *Net) Link(from Side) []Packet { return n.link[from] }

// InFlight is the number of segments in flight in both directions.
func (n *Net) InFlight() int { return len(n.link[A]) + len(n.link[B]) }

// SetFaults changes the faults of a random run (e.g. to stop them).
func (n *Net) SetFaults(f Faults) {
	if f.Jitter == 0 {
		f.Jitter = max(4*f.Delay, time.Millisecond)
	}
	n.faults = f
}

// Transition implements machine.Observer.
func (n *Net) Transition(c *machine.Conn, from machine.State, ev machine.Event, rule machine.Rule, to machine.State) {
	if n.cur != nil {
		n.cur.Steps = append(n.cur.Steps, Transition{From: from, Event: ev, Rule: rule, To: to})
	}
	if n.observer != nil {
		n.observer.Transition(c, from, ev, rule, to)
	}
}

// Listen is a passive OPEN on side s.
func (n *Net) Listen(s Side) error {
	r := n.begin(s, Call, "listen")
	err := n.conn[s].Listen(n.now)
	n.end(s, r, 0, err)
	return err
}

// Connect is an active OPEN on side s.
func (n *Net) Connect(s Side) error {
	r := n.begin(s, Call, "connect")
	err := n.conn[s].Connect(n.now)
	n.end(s, r, 0, err)
	return err
}

// Write is SEND on side s.
func (n *Net) Write(s Side, p []byte) (int, error) {
	r := n.begin(s, Call, "write")
	if r != nil {
		r.Asked = len(p)
	}
	k, err := n.conn[s].Write(n.now, p)
	n.end(s, r, k, err)
	return k, err
}

// Read is RECEIVE on side s.
func (n *Net) Read(s Side, p []byte) (int, error) {
	r := n.begin(s, Call, "read")
	if r != nil {
		r.Asked = len(p)
	}
	k, err := n.conn[s].Read(n.now, p)
	n.end(s, r, k, err)
	return k, err
}

// Close is CLOSE on side s.
func (n *Net) Close(s Side) error {
	r := n.begin(s, Call, "close")
	err := n.conn[s].Close(n.now)
	n.end(s, r, 0, err)
	return err
}

// Abort is ABORT on side s.
func (n *Net) Abort(s Side) {
	r := n.begin(s, Call, "abort")
	n.conn[s].Abort(n.now)
	n.end(s, r, 0, nil)
}

// Deliver takes packet i off the link from side `from` and hands it to the
// other side, returning the rule that handled it.
func (n *Net) Deliver(from Side, i int) machine.Rule {
	p := n.take(from, i)
	n.stats.Delivered++
	return n.input(from.Peer(), p.Seg, false)
}

// Inject hands a segment that no endpoint sent (an old duplicate, an
// attacker's guess) to side `to`.
func (n *Net) Inject(to Side, seg machine.Segment) machine.Rule {
	seg.Payload = n.copyPayload(seg.Payload)
	n.stats.Injected++
	return n.input(to, seg, true)
}

// Drop loses packet i of the link from side `from`.
func (n *Net) Drop(from Side, i int) {
	n.take(from, i)
	n.stats.Dropped++
}

// Duplicate appends a copy of packet i to the end of its link.
func (n *Net) Duplicate(from Side, i int) {
	p := n.link[from][i]
	p.Seg.Payload = n.copyPayload(p.Seg.Payload)
	n.link[from] = append(n.link[from], p)
	n.stats.Duplicated++
}

func (n *Net) take(from Side, i int) Packet {
	l := n.link[from]
	p := l[i]
	copy(l[i:], l[i+1:])
	l[len(l)-1] = Packet{}
	n.link[from] = l[:len(l)-1]
	return p
}

func (n *Net) input(to Side, seg machine.Segment, injected bool) machine.Rule {
	r := n.begin(to, Input, "")
	if r != nil {
		r.In = seg
		r.Injected = injected
	}
	rule := n.conn[to].Input(n.now, &seg)
	n.end(to, r, 0, nil)
	return rule
}

// NextTimer is the earliest deadline of either Conn.
func (n *Net) NextTimer() (time.Duration, bool) {
	da, oka := n.conn[A].NextDeadline()
	db, okb := n.conn[B].NextDeadline()
	switch {
	case oka && okb:
		return min(da, db), true
	case oka:
		return da, true
	case okb:
		return db, true
	}
	return 0, false
}

// NextDeadline is when the next thing happens in a random run: the
// earliest of both Conns' timers and the segments' arrival times.
func (n *Net) NextDeadline() (time.Duration, bool) {
	t, ok := n.NextTimer()
	for s := range n.link {
		for _, p := range n.link[s] {
			if !ok || p.At < t {
				t, ok = p.At, true
			}
		}
	}
	return t, ok
}

// Advance jumps the clock to the next timer deadline of either Conn and
// fires what is due. It reports false, changing nothing, when no timer is
// armed.
func (n *Net) Advance() bool {
	t, ok := n.NextTimer()
	if !ok {
		return false
	}
	n.AdvanceTo(t)
	return true
}

// AdvanceTo moves the clock to t (if later than now), discards segments
// that outlived the network's lifetime and fires every due timer.
func (n *Net) AdvanceTo(t time.Duration) {
	if t > n.now {
		n.now = t
	}
	n.expire()
	for _, s := range [...]Side{A, B} {
		if d, ok := n.conn[s].NextDeadline(); ok && d <= n.now {
			n.Tick(s)
		}
	}
}

// Tick fires side s's due timers at the current time.
func (n *Net) Tick(s Side) {
	r := n.begin(s, Tick, "")
	n.conn[s].Tick(n.now)
	n.end(s, r, 0, nil)
}

func (n *Net) expire() {
	if n.lifetime < 0 {
		return
	}
	for s := range n.link {
		l := n.link[s][:0]
		for _, p := range n.link[s] {
			if n.now-p.Sent > n.lifetime {
				n.stats.Expired++
				continue
			}
			l = append(l, p)
		}
		clear(n.link[s][len(l):])
		n.link[s] = l
	}
}

// RandomStep performs the next event of a random run: the earliest segment
// arrival or timer, the clock jumping to it. Ties go to segments before
// timers, A's link before B's, A's timer before B's. It reports false when
// nothing is pending.
func (n *Net) RandomStep() bool {
	bestAt, bestSide, bestIdx := time.Duration(0), Side(0), -1
	for s := range n.link {
		for i, p := range n.link[s] {
			if bestIdx < 0 || p.At < bestAt {
				bestAt, bestSide, bestIdx = p.At, Side(s), i
			}
		}
	}
	if t, ok := n.NextTimer(); ok && (bestIdx < 0 || t < bestAt) {
		n.AdvanceTo(t)
		return true
	}
	if bestIdx < 0 {
		return false
	}
	if bestAt > n.now {
		n.now = bestAt
	}
	// The packet may have outlived the network: expire first, then find it
	// again by position (expiry keeps order; a dead packet simply vanishes).
	id := n.link[bestSide][bestIdx].ID
	n.expire()
	for i, p := range n.link[bestSide] {
		if p.ID == id && p.At == bestAt {
			n.Deliver(bestSide, i)
			break
		}
	}
	for _, s := range [...]Side{A, B} {
		if d, ok := n.conn[s].NextDeadline(); ok && d <= n.now {
			n.Tick(s)
		}
	}
	return true
}

// Run performs random steps until done reports true (checked before each
// step), nothing is pending, or max steps have run; it returns an error in
// the last case.
func (n *Net) Run(max int, done func(*Net) bool) error {
	for i := 0; i < max; i++ {
		if done != nil && done(n) {
			return nil
		}
		if !n.RandomStep() {
			return nil
		}
	}
	if done != nil && done(n) {
		return nil
	}
	return fmt.Errorf("simnet: run did not settle within %d steps (now %v, A %v, B %v, %d in flight)",
		max, n.now, n.conn[A].State(), n.conn[B].State(), n.InFlight())
}

// Flush moves side s's outbox into the network. The Net's own calls do it;
// callers that call into Conn(s) directly must.
func (n *Net) Flush(s Side) { n.flush(s, nil) }

func (n *Net) flush(s Side, r *Record) {
	c := n.conn[s]
	out := c.Outbox()
	for i := range out {
		seg := out[i]
		seg.Payload = n.copyPayload(seg.Payload)
		if n.rewrite != nil {
			n.rewrite(s, &seg)
		}
		if r != nil {
			r.Out = append(r.Out, seg)
		}
		n.emit(s, seg)
	}
	c.ClearOutbox()
}

// copyPayload copies p into the Net's payload arena: payloads are small and
// never written to, so they are carved from shared chunks instead of being
// allocated one by one.
func (n *Net) copyPayload(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	if len(p) > cap(n.arena)-len(n.arena) {
		n.arena = make([]byte, 0, max(arenaChunk, len(p)))
	}
	at := len(n.arena)
	n.arena = append(n.arena, p...)
	return n.arena[at:len(n.arena):len(n.arena)]
}

const arenaChunk = 16 << 10

func (n *Net) emit(s Side, seg machine.Segment) {
	n.stats.Emitted++
	n.nextID++
	p := Packet{Seg: seg, ID: n.nextID, Sent: n.now, At: n.now + n.faults.Delay}
	f := &n.faults
	if f.Drop > 0 && n.rng.Float64() < f.Drop {
		n.stats.Dropped++
		return
	}
	if f.Reorder > 0 && n.rng.Float64() < f.Reorder {
		p.At += time.Duration(n.rng.Int64N(int64(f.Jitter)) + 1)
	}
	n.link[s] = append(n.link[s], p)
	if f.Dup > 0 && n.rng.Float64() < f.Dup {
		d := p
		d.Seg.Payload = n.copyPayload(p.Seg.Payload)
		d.At += time.Duration(n.rng.Int64N(int64(f.Jitter)) + 1)
		n.link[s] = append(n.link[s], d)
		n.stats.Duplicated++
	}
}

// SetNow moves the clock to t if t is later, firing nothing and discarding
// nothing (the exhaustive checker fires one side's timers at a time).
func (n *Net) SetNow(t time.Duration) {
	if t > n.now {
		n.now = t
	}
}
