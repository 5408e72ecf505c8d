package proptest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/mutate"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// maxStreams bounds the connections (TCBs) one side may start in a World:
// the byte-stream check tracks candidate sources in a bit mask.
const maxStreams = 16

// Options configure a World.
type Options struct {
	// Config is shared by both endpoints, as by the Conns of one stack.
	// Zero fields take the test defaults of TestConfig.
	Config machine.Config
	// PeerOptions, if set, are side B's TCP options (window scaling,
	// timestamps, SACK), so that the two ends can differ in what they
	// offer; everything else is Config's.
	PeerOptions *OptionConfig
	// Start is the clock's initial value (see StartNearWrap).
	Start time.Duration
	// Seed drives the simulator's random faults (Faults).
	Seed   uint64
	Faults simnet.Faults
	// Differential cross-checks every step against the stateless machine
	// (invariant 19).
	Differential bool
	// Observer, if set, sees every transition (e.g. a *Coverage).
	Observer machine.Observer
	// Mutation deliberately breaks the machine (zero: none).
	Mutation mutate.Mutation
	// History keeps about this many formatted records for failure
	// reports, from the beginning and the end of a run (0: 300).
	History int
	// Quiet keeps no history at all (faster).
	Quiet bool
	// Lifetime is how long a segment may stay in flight (simnet.Options:
	// zero means the MSL, negative forever).
	Lifetime time.Duration
	// OnRecord, if set, sees every record before the invariants judge it.
	OnRecord func(*simnet.Record)
	// AbstractTime says the clock jumps to whichever side's timer fires
	// (the exhaustive checker), so the other side's deadlines may lie
	// behind it: the check that timers are armed in the future is off.
	AbstractTime bool
}

// OptionConfig is the part of machine.Config that says which TCP options
// an end offers.
type OptionConfig struct {
	NoWindowScale, NoTimestamps, NoSACK bool
	WindowShift                         uint8
}

// Apply sets c's option fields to o's.
func (o *OptionConfig) Apply(c *machine.Config) {
	c.NoWindowScale, c.NoTimestamps, c.NoSACK, c.WindowShift = o.NoWindowScale, o.NoTimestamps, o.NoSACK, o.WindowShift
}

// TestConfig fills the zero fields of c with values that keep simulated
// time short and buffers small, so that windows fill, segments split and
// time jumps stay cheap.
func TestConfig(c machine.Config) machine.Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MSS == 0 {
		c.MSS = 8
	}
	if c.RcvBuf == 0 {
		c.RcvBuf = 24
	}
	if c.SndBuf == 0 {
		c.SndBuf = 32
	}
	def(&c.MSL, time.Second)
	def(&c.InitialRTO, 200*time.Millisecond)
	def(&c.MinRTO, 100*time.Millisecond)
	def(&c.MaxRTO, 800*time.Millisecond)
	def(&c.UserTimeout, 6*time.Second)
	def(&c.FinWait2, 3*time.Second)
	if c.ChallengeACKs == 0 {
		c.ChallengeACKs = 10
	}
	if c.QuickACKs == 0 {
		c.QuickACKs = 2 // short runs still see delayed ACKs
	}
	return c
}

// World is the system the property tests drive: two Conns on a simnet.Net,
// the applications on both sides, and the ghost state the invariants need.
// Every move goes through the World so that Check can judge it.
type World struct {
	net  *simnet.Net
	diff *Differential
	cfg  *machine.Config // the Net's private (shared) config

	side [2]sideState

	err     error // first invariant violation
	history []string
	histMax int
	quiet   bool // keep no history (the exhaustive checker replays instead)
	onRec   func(*simnet.Record)
	moves   int
	// abstractTime: Options.AbstractTime.
	abstractTime bool
}

// sideState is one endpoint's application and ghost state.
type sideState struct {
	// Application.
	streams int                // TCBs started so far; the current one is streams-1
	written [maxStreams]uint32 // bytes Write accepted, per stream
	read    uint32             // bytes read from the current stream
	cand    uint64             // peer streams the bytes read so far can come from
	eof     bool               // Read returned io.EOF
	closed  bool               // the application called Close or Abort on this TCB
	opens   int                // Listen/Connect calls

	// Ghost state of the current TCB, for the invariants.
	passiveOrigin bool // entered SYN-RECEIVED from LISTEN (or TIME-WAIT)
	activeOrigin  bool // entered SYN-RECEIVED from SYN-SENT
	activeCloser  bool // sent FIN before receiving the peer's
	passiveCloser bool // closed from CLOSE-WAIT
	simClose      bool // went FIN-WAIT-1 -> CLOSING
	finSent       bool
	finSeq        uint32 // sequence number of our FIN
	// Every FIN this side ever sent, by stream: an old incarnation's FIN
	// may still be in flight and be accepted by the peer.
	finSeqs   [maxStreams]uint32
	finsSent  uint64 // bit i: finSeqs[i] is set
	twStart   time.Duration
	normalEnd bool   // the last connection ended by TIME-WAIT's timeout or LAST-ACK's ACK
	discarded uint32 // bytes still queued, unread, when the last connection's TCB was deleted
	shrunk    bool   // a hostile segment shrank the send window
	listener  bool   // the Conn was told a listener exists (SetAcceptIncarnation), since its last Reset
	// The latest TSval this side sent, on any connection, and when.
	tsSent    bool
	tsLast    uint32
	tsSentAt  time.Duration
	issSet    bool
	iss       uint32 // ISS of the latest TCB, and when it was chosen
	issAt     time.Duration
	chalStart time.Duration          // start of the current challenge-ACK window
	nchal     int                    // challenge ACKs sent in it
	flow      flowGhost              // flow control and timing (flow.go)
	cookies   [maxCookies]cookieSent // the latest SYN cookies sent, newest first (cookies.go)
	nCookies  int
	noDelay   bool              // Nagle is off: Config.NoDelay, or the last SetNoDelay since the Conn was reset
	keepalive machine.KeepAlive // likewise Config.KeepAlive or the last SetKeepAlive, as set (zero fields: defaults)
}

// NewWorld builds a World with both endpoints CLOSED.
func NewWorld(o Options) *World {
	cfg := TestConfig(o.Config)
	w := &World{histMax: o.History, quiet: o.Quiet, onRec: o.OnRecord, abstractTime: o.AbstractTime}
	if w.histMax == 0 {
		w.histMax = 300
	}
	o.Mutation.Apply(&cfg)
	if o.Differential {
		w.diff = NewDifferential(cfg.Step)
		cfg.Step = w.diff.Step
	}
	var rewrite func(simnet.Side, *machine.Segment)
	if rw := o.Mutation.Rewrite; rw != nil {
		rewrite = func(_ simnet.Side, s *machine.Segment) { rw(s) }
	}
	cfgB := cfg
	if p := o.PeerOptions; p != nil {
		p.Apply(&cfgB)
	}
	w.net = simnet.New(simnet.Options{
		A: &cfg, B: &cfgB,
		Start:    o.Start,
		Seed:     o.Seed,
		Faults:   o.Faults,
		Lifetime: o.Lifetime,
		Record:   true,
		Rewrite:  rewrite,
		Observer: o.Observer,
	})
	w.cfg = w.net.Config(simnet.A)
	for s := range w.side {
		w.side[s].cand = ^uint64(0)
		w.side[s].noDelay = w.net.Config(simnet.Side(s)).NoDelay
		w.side[s].keepalive = w.net.Config(simnet.Side(s)).KeepAlive
	}
	return w
}

// Net is the simulated network.
func (w *World) Net() *simnet.Net { return w.net }

// Err is the first invariant violation found, or nil.
func (w *World) Err() error { return w.err }

// Trace is the recent history of moves, for failure reports.
func (w *World) Trace() string { return strings.Join(w.history, "\n") }

func (w *World) note(format string, args ...any) {
	if w.quiet {
		return
	}
	w.history = append(w.history, fmt.Sprintf(format, args...))
	// Keep the beginning, which explains how the run got where it is, and
	// the end, which shows what broke.
	if head := w.histMax / 2; len(w.history) > w.histMax {
		n := len(w.history) - w.histMax/4
		copy(w.history[head:], w.history[n:])
		w.history = w.history[:head+len(w.history)-n]
		w.history[head-1] = "    ..."
	}
}

func (w *World) conn(s simnet.Side) *machine.Conn { return w.net.Conn(s) }

// State is side s's state.
func (w *World) State(s simnet.Side) machine.State { return w.conn(s).State() }

// streamByte is byte off of side s's stream i: every stream has its own
// content, so the receiver can tell which stream a byte came from and
// where in it.
func streamByte(s simnet.Side, stream int, off uint32) byte {
	x := off*0x9e3779b1 ^ uint32(s)<<28 ^ uint32(stream)<<20
	x ^= x >> 15
	x *= 0x85ebca6b
	x ^= x >> 13
	return byte(x)
}

// Listen is a passive OPEN on side s. It reports false if s is not CLOSED
// or has opened too often.
func (w *World) Listen(s simnet.Side) bool {
	if !w.canOpen(s) {
		return false
	}
	w.side[s].opens++
	w.side[s].closed = false
	w.quietTime(s)
	w.reuse(s)
	err := w.net.Listen(s)
	w.conn(s).SetAcceptIncarnation(true) // a listener exists (RFC 6191)
	w.side[s].listener = true
	if !w.quiet {
		w.note("%v listen: %v", s, err)
	}
	w.moved()
	return true
}

// Connect is an active OPEN on side s, reporting false as Listen does.
func (w *World) Connect(s simnet.Side) bool {
	if !w.canOpen(s) {
		return false
	}
	w.side[s].opens++
	w.side[s].closed = false
	w.quietTime(s)
	w.reuse(s)
	err := w.net.Connect(s)
	if !w.quiet {
		w.note("%v connect: %v", s, err)
	}
	w.moved()
	return true
}

// quietTime lets the ISN clock (4 us a tick) move on before side s opens a
// new TCB, if it chose an ISS in the same tick: two incarnations with the
// same ISS would take each other's old duplicates as their own, which no
// TCP can prevent (RFC 9293 3.4.3) and which is no bug of the machine.
func (w *World) quietTime(s simnet.Side) {
	if st := &w.side[s]; st.issSet && w.net.Now()-st.issAt < 8*time.Microsecond {
		w.net.AdvanceTo(st.issAt + 8*time.Microsecond)
	}
}

// reuse resets side s's Conn before every other open, as a runtime that
// pools Conns does (machine.Conn.Reset), so that both a fresh and a reused
// Conn are tested.
func (w *World) reuse(s simnet.Side) {
	if w.side[s].opens%2 == 0 {
		c := w.conn(s)
		c.Reset(c.Config(), c.Tuple())
		w.side[s].listener = false
		w.side[s].noDelay = c.Config().NoDelay
		w.side[s].keepalive = c.Config().KeepAlive
	}
}

// SetKeepAlive sets side s's keepalive, as an application would.
func (w *World) SetKeepAlive(s simnet.Side, k machine.KeepAlive) {
	c := w.conn(s)
	c.SetKeepAlive(w.net.Now(), k)
	w.side[s].keepalive = k
	if !w.quiet {
		w.note("%v SetKeepAlive(%+v)", s, k)
	}
	w.moved()
	v := c.Vars()
	at, armed := c.NextDeadline()
	w.checkKeepaliveArmed(s, c.State(), &v, w.net.Now(), at, armed)
}

// SetNoDelay turns Nagle's algorithm off (true) or on for side s's
// connection, as an application's SetNoDelay would.
func (w *World) SetNoDelay(s simnet.Side, on bool) {
	w.conn(s).SetNoDelay(on)
	w.side[s].noDelay = on
	if !w.quiet {
		w.note("%v SetNoDelay(%v)", s, on)
	}
	w.moved()
}

func (w *World) canOpen(s simnet.Side) bool {
	return w.State(s) == machine.StateClosed && w.side[s].streams < maxStreams-2 && w.side[s].opens < 6
}

// Write writes n bytes of side s's stream content.
func (w *World) Write(s simnet.Side, n int) (int, error) {
	st := &w.side[s]
	stream := st.streams - 1
	if w.State(s) == machine.StateListen {
		stream = st.streams // SEND in LISTEN starts a new TCB (listen_send)
	}
	if stream < 0 || stream >= maxStreams {
		stream = 0
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = streamByte(s, stream, st.written[stream]+uint32(i))
	}
	room := w.conn(s).Writable()
	k, err := w.net.Write(s, p)
	if k > 0 {
		st.written[stream] += uint32(k)
	}
	// Invariant 32, SEND's half: Writable says what Write takes (a
	// runtime sizes its writes by it), and nothing where Write fails.
	if w.err == nil && (k != min(n, room) || err != nil && room != 0) {
		w.fail(32, "%v in %v: Writable said %d, then a write of %d bytes took %d (%v)", s, w.State(s), room, n, k, err)
	}
	if !w.quiet {
		w.note("%v write %d: %d, %v", s, n, k, err)
	}
	w.moved()
	return k, err
}

// Read reads up to n bytes on side s and checks them against the peer's
// streams (invariant 17).
func (w *World) Read(s simnet.Side, n int) (int, error) {
	p := make([]byte, n)
	k, err := w.net.Read(s, p)
	w.received(s, p[:k])
	if errors.Is(err, io.EOF) {
		w.side[s].eof = true
	}
	if !w.quiet {
		w.note("%v read %d: %d, %v", s, n, k, err)
	}
	w.moved()
	return k, err
}

// received checks bytes read on side s: they must continue one of the
// peer's streams at exactly the offset read so far.
func (w *World) received(s simnet.Side, p []byte) {
	st, peer := &w.side[s], &w.side[s.Peer()]
	for _, b := range p {
		off := st.read
		var cand uint64
		for j := 0; j < maxStreams; j++ {
			if st.cand&(1<<j) != 0 && peer.written[j] > off && streamByte(s.Peer(), j, off) == b {
				cand |= 1 << j
			}
		}
		if cand == 0 {
			w.fail(17, "%v read byte %#02x at stream offset %d, which is not byte %d of any stream %v wrote (peer wrote %v): bytes lost, duplicated, reordered or invented",
				s, b, off, off, s.Peer(), peer.written[:peer.streams])
			return
		}
		st.cand = cand
		st.read++
	}
}

// Close is CLOSE on side s.
func (w *World) Close(s simnet.Side) error {
	err := w.net.Close(s)
	w.side[s].closed = true
	if !w.quiet {
		w.note("%v close: %v", s, err)
	}
	w.moved()
	return err
}

// Abort is ABORT on side s.
func (w *World) Abort(s simnet.Side) {
	w.net.Abort(s)
	w.side[s].closed = true
	if !w.quiet {
		w.note("%v abort", s)
	}
	w.moved()
}

// Deliver hands the i-th segment in flight from side `from` to its peer.
func (w *World) Deliver(from simnet.Side, i int) bool {
	if i < 0 || i >= len(w.net.Link(from)) {
		return false
	}
	w.net.Deliver(from, i)
	if !w.quiet {
		w.note("deliver %v->%v #%d", from, from.Peer(), i)
	}
	w.moved()
	return true
}

// Drop loses the i-th segment in flight from side `from`.
func (w *World) Drop(from simnet.Side, i int) bool {
	if i < 0 || i >= len(w.net.Link(from)) {
		return false
	}
	p := w.net.Link(from)[i]
	w.net.Drop(from, i)
	if !w.quiet {
		w.note("drop %v->%v #%d %s", from, from.Peer(), i, simnet.FormatSegment(&p.Seg))
	}
	w.moved()
	return true
}

// Duplicate copies the i-th segment in flight from side `from`.
func (w *World) Duplicate(from simnet.Side, i int) bool {
	if i < 0 || i >= len(w.net.Link(from)) {
		return false
	}
	w.net.Duplicate(from, i)
	if !w.quiet {
		w.note("duplicate %v->%v #%d", from, from.Peer(), i)
	}
	w.moved()
	return true
}

// Advance lets time pass to the next timer deadline. It reports false if
// no timer is armed.
func (w *World) Advance() bool {
	if !w.net.Advance() {
		return false
	}
	if !w.quiet {
		w.note("advance to %v", w.net.Now())
	}
	w.moved()
	return true
}

// AdvanceBy lets d pass, firing what falls due at the end.
func (w *World) AdvanceBy(d time.Duration) {
	w.net.AdvanceTo(w.net.Now() + d)
	if !w.quiet {
		w.note("advance to %v", w.net.Now())
	}
	w.moved()
}

func (w *World) moved() {
	w.moves++
	w.check()
}

// Check runs the invariants over everything that happened since the last
// move and returns the first violation found so far.
func (w *World) Check() error {
	w.check()
	return w.err
}

func (w *World) fail(inv int, format string, args ...any) {
	if w.err != nil {
		return
	}
	w.err = &Violation{Invariant: inv, Msg: fmt.Sprintf(format, args...), Trace: w.Trace()}
}

// Violation is a broken invariant.
type Violation struct {
	Invariant int    // design.md's number
	Msg       string // what broke
	Trace     string // the moves that led there, most recent last
}

func (v *Violation) Error() string {
	return fmt.Sprintf("invariant %d: %s\nrecent moves and records:\n%s", v.Invariant, v.Msg, v.Trace)
}

// Finish ends a run fairly: faults stop, both applications read what is
// left and close, segments are delivered in order and time passes until
// both sides are CLOSED (invariant 18, liveness). Then, if both last
// connections ended normally, every byte written on them must have been
// received (invariant 17). It returns the first violation.
func (w *World) Finish() error {
	w.net.SetFaults(simnet.Faults{})
	deadline := w.net.Now() + 20*w.cfg.UserTimeout + 4*w.cfg.MSL + 4*w.cfg.FinWait2
	var last progress
	idle := 0 // deliveries since the last progress
	for steps := 0; w.err == nil; steps++ {
		w.drainReads()
		// The applications have read what there is; they close whatever
		// they have open (a listener may have taken a new connection).
		// A closes first; B waits for A's FIN (or for the network to go
		// quiet), so that the ending takes the textbook active/passive
		// close whenever the run left it possible.
		if w.State(simnet.A) != machine.StateClosed && !w.side[simnet.A].closed {
			w.Close(simnet.A)
		}
		if b := w.State(simnet.B); b != machine.StateClosed && !w.side[simnet.B].closed &&
			(b == machine.StateCloseWait || !isSync(b) || w.State(simnet.A) == machine.StateClosed || w.net.InFlight() == 0) {
			w.Close(simnet.B)
		}
		if w.State(simnet.A) == machine.StateClosed && w.State(simnet.B) == machine.StateClosed {
			break
		}
		if p := w.progress(); p != last {
			last, idle = p, 0
		}
		if idle > maxIdleDeliveries {
			w.fail(18, "livelock: %d segments exchanged without progress (no state, sequence number or byte read changed): A is %v, B is %v; an ACK loop?",
				idle, w.State(simnet.A), w.State(simnet.B))
			break
		}
		if steps > 50000 || w.net.Now() > deadline {
			w.fail(18, "liveness: after %d fair steps and %v of time, A is %v and B is %v (%d segments in flight, next timer %v)",
				steps, w.net.Now(), w.State(simnet.A), w.State(simnet.B), w.net.InFlight(), w.nextTimer())
			break
		}
		// Fair delivery: in order, alternating directions, each segment
		// taking fairDelay; timers fire when they fall due.
		switch {
		case len(w.net.Link(simnet.A)) > 0 && (steps%2 == 0 || len(w.net.Link(simnet.B)) == 0):
			w.Deliver(simnet.A, 0)
			idle++
			w.AdvanceBy(fairDelay)
		case len(w.net.Link(simnet.B)) > 0:
			w.Deliver(simnet.B, 0)
			idle++
			w.AdvanceBy(fairDelay)
		default:
			if !w.Advance() {
				w.fail(18, "liveness: A is %v and B is %v with nothing in flight and no timer armed: stuck forever",
					w.State(simnet.A), w.State(simnet.B))
			}
		}
	}
	w.check()
	w.checkDelivered()
	return w.err
}

// CheckDelivered checks, once both sides are CLOSED, that every byte one
// application wrote on the last connection reached the other (invariant
// 17), if both ended normally. Finish calls it; the exhaustive checker
// calls it at every state where both sides are CLOSED.
func (w *World) CheckDelivered() error {
	w.checkDelivered()
	return w.err
}

// checkDelivered: when both sides' last connections ended normally (the
// FIN handshake done both ways: TIME-WAIT's timeout, LAST-ACK's ACK), every
// byte one application wrote on it reached the other: read, or still
// queued when the TCB was deleted.
func (w *World) checkDelivered() {
	if w.err != nil || !w.side[simnet.A].normalEnd || !w.side[simnet.B].normalEnd {
		return
	}
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		st, peer := &w.side[s], &w.side[s.Peer()]
		want := peer.written[peer.streams-1]
		if got := st.read + st.discarded; got != want || (st.read > 0 && st.cand&(1<<(peer.streams-1)) == 0) {
			w.fail(17, "both connections closed normally, but %v received %d bytes (%d read, %d left unread) of the %d %v wrote",
				s, got, st.read, st.discarded, want, s.Peer())
			return
		}
	}
}

// fairDelay is the one-way delay of the fair ending.
const fairDelay = time.Millisecond

// maxIdleDeliveries is how many segments the fair ending may exchange
// without progress before it calls the exchange a livelock.
const maxIdleDeliveries = 500

// progress is what must change, now and then, while segments flow.
type progress struct {
	state      [2]machine.State
	una, rcv   [2]uint32
	read       [2]uint32
	finA, finB bool
}

func (w *World) progress() progress {
	var p progress
	for s := range p.state {
		c := w.conn(simnet.Side(s))
		v := c.Vars()
		p.state[s], p.una[s], p.rcv[s], p.read[s] = c.State(), v.SndUna, v.RcvNxt, w.side[s].read
	}
	p.finA, p.finB = w.conn(simnet.A).PeerClosed(), w.conn(simnet.B).PeerClosed()
	return p
}

func (w *World) nextTimer() string {
	if t, ok := w.net.NextTimer(); ok {
		return t.String()
	}
	return "none"
}

// drainReads reads everything readable on both sides.
func (w *World) drainReads() {
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		for i := 0; i < 64 && w.err == nil && w.conn(s).Readable() > 0; i++ {
			if k, err := w.Read(s, 64); k == 0 || err != nil {
				break
			}
		}
		c := w.conn(s)
		if w.err == nil && !w.side[s].eof && c.PeerClosed() && c.Readable() == 0 && canReceive(c.State()) {
			w.Read(s, 1)
		}
	}
}

// canReceive reports a state in which RECEIVE may return data or end of
// data: a rule of the spec runs deliver on receive there.
func canReceive(s machine.State) bool { return receivable[s] }

var receivable = func() (r [machine.NumStates]bool) {
	for rule := machine.Rule(1); rule < machine.NumRules; rule++ {
		info := rule.Info()
		if slices.Contains(info.On, machine.EventReceive) && slices.Contains(info.Do, "deliver") {
			for _, s := range info.From {
				r[s] = true
			}
		}
	}
	return r
}()

// sentFin reports whether seq is the sequence number of a FIN side s sent
// on any of its connections.
func (st *sideState) sentFin(seq uint32) bool {
	for i := 0; i < maxStreams; i++ {
		if st.finsSent&(1<<i) != 0 && st.finSeqs[i] == seq {
			return true
		}
	}
	return false
}
