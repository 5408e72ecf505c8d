package proptest

import (
	"fmt"
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
