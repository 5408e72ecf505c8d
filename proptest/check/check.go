package check

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest"
	"github.com/tcpfsm/tcpfsm/proptest/mutate"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Options bound and shape an exploration. Zero fields take the defaults in
// parentheses.
type Options struct {
	Depth    int  // moves from the initial state (20)
	Loss     bool // the network may drop any segment in flight
	Dup      bool // the network may duplicate any segment in flight
	Reorder  bool // any segment in flight may arrive next (else FIFO per direction)
	InFlight int  // segments in flight, both directions together (3)
	Writes   int  // writes per side (1; negative: none)
	WriteLen int  // bytes per write (2)
	// WrapK puts A's ISS at 2^32 - WrapK, so that sequence numbers cross
	// the wrap (2 + Writes*WriteLen: once A has written everything, its
	// FIN is sequence number 2^32 - 1 and SND.NXT wraps to 0). B's ISS is
	// proptest.NearWrapGap above A's.
	WrapK uint32
	// Config is the endpoints' shared Config; zero fields take
	// proptest.TestConfig's values, and ISNKey is proptest.NearWrapKey().
	Config machine.Config
	// PeerOptions, if set, are B's TCP options; A's are Config's.
	PeerOptions *proptest.OptionConfig
	Mutation    mutate.Mutation // a deliberate bug to demonstrate (zero: none)
	// MaxStates stops the exploration, unfinished, beyond this many states
	// (0: no limit).
	MaxStates int
	// MemBudget stops the exploration, unfinished, once the Go heap and
	// its overheads pass this many bytes (0: no limit). The garbage
	// collector is told to work harder as the budget nears.
	MemBudget uint64
	// Progress, if set, gets a line about once a second.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Depth == 0 {
		o.Depth = 20
	}
	if o.InFlight == 0 {
		o.InFlight = 3
	}
	if o.Writes == 0 {
		o.Writes = 1
	}
	if o.WriteLen == 0 {
		o.WriteLen = 2
	}
	if o.WrapK == 0 {
		o.WrapK = uint32(2 + max(o.Writes, 0)*o.WriteLen)
	}
	if o.Config.ISNKey == ([16]byte{}) {
		o.Config.ISNKey = proptest.NearWrapKey()
	}
}

// Result is what an exploration found.
type Result struct {
	States      int           // distinct states reached
	Transitions int           // moves taken (successors generated)
	MaxDepth    int           // depth of the deepest state reached
	Frontier    int           // states at the depth bound, not expanded
	Pruned      int           // successors cut by the in-flight bound
	Exhausted   bool          // no state was left at the depth bound: every state within the other bounds was explored
	Stopped     bool          // MaxStates or MemBudget cut the exploration short
	StopReason  string        // what stopped it: "max-states" or "memory"
	PeakMemory  uint64        // the most memory the Go runtime held from the OS during the run (bytes, sampled)
	Elapsed     time.Duration // wall time
	Violation   *Counterexample
}

// StatesPerSecond is the exploration rate.
func (r *Result) StatesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.States) / r.Elapsed.Seconds()
}

// Counterexample is a shortest path from the initial state to a violation.
type Counterexample struct {
	Invariant int    // design.md's number
	Message   string // what broke
	Liveness  bool   // the violation is a state from which CLOSED cannot be reached
	Path      []Move
	Mermaid   string // the path as a Mermaid sequenceDiagram
}

func (c *Counterexample) Error() string {
	return fmt.Sprintf("invariant %d: %s (after %d moves)", c.Invariant, c.Message, len(c.Path))
}

// stateInfo is what the checker keeps about every state reached: 12
// bytes.
type stateInfo struct {
	parent int32
	move   Move
	flags  uint8
	depth  uint16
	nsucc  uint16 // distinct successors other than itself, by moves that do not give up (moves number under 3*255+8)
}

const (
	flagGoal       = 1 << iota // both sides CLOSED
	flagIncomplete             // not (fully) expanded: depth bound or pruned successors
	flagMoves                  // some move is possible (else: a deadlock, unless a goal)
)

// checker is one exploration.
type checker struct {
	o     Options
	world *proptest.World
	// states[i] is state i; states are numbered in BFS order, which is
	// also the order they are expanded in.
	states chunked[stateInfo]
	seen   *stateSet
	queue  snapQueue
	// succ holds the successors (moves that do not give up, self-loops and
	// repeats left out) of the expanded states, in state order:
	// states[i].nsucc of them each. The liveness check needs no more.
	succ   chunked[int32]
	key    []byte
	moves  []Move
	gaveUp bool // the current move fired a user timeout
	res    Result
	start  time.Time
	last   time.Time
}

// Run explores the state space within o's bounds.
func Run(o Options) (*Result, error) {
	o.defaults()
	if o.Writes < 0 {
		o.Writes = 0
	}
	if o.Depth < 0 || o.InFlight < 0 || o.InFlight > 255 || o.WriteLen <= 0 || o.Depth > 1<<15 {
		return nil, fmt.Errorf("check: bad bounds: depth %d, in-flight %d, writes %d of %d bytes", o.Depth, o.InFlight, o.Writes, o.WriteLen)
	}
	c := &checker{o: o, seen: newStateSet(), start: time.Now()}
	c.last = c.start
	if o.MemBudget > 0 && o.MemBudget < math.MaxInt64 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(o.MemBudget)))
	}
	defer func() { c.overBudget() }() // the final sample of PeakMemory
	w, err := newWorld(&o, func(r *simnet.Record) {
		for _, t := range r.Steps {
			if t.Rule == machine.RuleAnyUserTimeout {
				c.gaveUp = true
			}
		}
	}, true)
	if err != nil {
		return nil, err
	}
	c.world = w
	err = c.explore()
	c.res.Elapsed = time.Since(c.start)
	if err != nil {
		return nil, err
	}
	return &c.res, nil
}

// newWorld builds the World the checker (or a replay) runs.
func newWorld(o *Options, onRec func(*simnet.Record), quiet bool) (*proptest.World, error) {
	cfg := o.Config
	start, err := proptest.StartNearWrap(cfg, o.WrapK)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return proptest.NewWorld(proptest.Options{
		Config:       cfg,
		PeerOptions:  o.PeerOptions,
		Start:        start,
		Mutation:     o.Mutation,
		Quiet:        quiet,
		History:      1 << 20,
		Lifetime:     -1, // abstract time: segments never expire
		OnRecord:     onRec,
		AbstractTime: true,
	}), nil
}

func (c *checker) explore() error {
	w := c.world
	w.Save(c.queue.push(0))
	c.add(-1, Move{}, 0)
	c.key = w.AppendKey(c.key[:0])
	c.seen.insert(hashKey(c.key), 0)
	bound := 0 // states at the depth bound: never expanded, so never saved
	for c.queue.len() > 0 {
		snap, id := c.queue.pop()
		st := c.states.at(int(id))
		depth := int(st.depth)
		w.Restore(snap)
		c.moves = enumerate(w, &c.o, c.moves[:0])
		if len(c.moves) > 0 {
			st.flags |= flagMoves
		}
		succ0 := c.succ.len()
		for k, m := range c.moves {
			if k > 0 {
				w.Restore(snap) // the first move starts from the restore above
			}
			c.gaveUp = false
			m.apply(w, &c.o)
			c.res.Transitions++
			if err := w.Err(); err != nil {
				return c.violation(id, m, err)
			}
			if w.State(simnet.A) == machine.StateClosed && w.State(simnet.B) == machine.StateClosed {
				if err := w.CheckDelivered(); err != nil {
					return c.violation(id, m, err)
				}
			}
			if w.Net().InFlight() > c.o.InFlight {
				c.res.Pruned++
				st.flags |= flagIncomplete
				continue
			}
			c.key = w.AppendKey(c.key[:0])
			nid, fresh := c.seen.insert(hashKey(c.key), int32(c.states.len()))
			if fresh {
				c.add(id, m, depth+1) // st stays valid: chunked never moves what it holds
				if depth+1 < c.o.Depth {
					w.Save(c.queue.push(nid))
				} else {
					c.states.at(int(nid)).flags |= flagIncomplete
					bound++
				}
			}
			if !c.gaveUp && nid != id && !c.hasSucc(succ0, nid) {
				c.succ.append(nid)
			}
		}
		st.nsucc = uint16(c.succ.len() - succ0)
		c.queue.release(snap)
		c.progress(depth)
		over := ""
		switch {
		case c.o.MaxStates > 0 && c.states.len() >= c.o.MaxStates:
			over = "max-states"
		case id&1023 == 0 && c.overBudget():
			over = "memory"
		}
		if over != "" {
			c.res.Stopped, c.res.StopReason = true, over
			st.flags |= flagIncomplete
			c.queue.each(func(id int32) { c.states.at(int(id)).flags |= flagIncomplete })
			return c.finish()
		}
	}
	// BFS: the states at the bound are the frontier it stopped at.
	c.res.Frontier = bound
	return c.finish()
}

// overBudget samples the memory in use, keeps the peak and reports whether
// it passed the budget. It reads the memory the Go runtime holds from the
// OS, less what it has returned (about the resident size), without a
// stop-the-world (runtime/metrics).
func (c *checker) overBudget() bool {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	used := s[0].Value.Uint64() - s[1].Value.Uint64()
	c.res.PeakMemory = max(c.res.PeakMemory, used)
	return c.o.MemBudget > 0 && used > c.o.MemBudget
}

// CollisionBound is an upper bound on the probability that two of n
// distinct states share a 64-bit fingerprint, so that the search took one
// for the other: n(n-1)/2 pairs, each colliding with probability 2^-64.
func CollisionBound(n int) float64 {
	return float64(n) * float64(n-1) / 2 / math.Exp2(64)
}

// hasSucc reports whether the state being expanded, whose successors
// start at succ[from], already has successor id.
func (c *checker) hasSucc(from int, id int32) bool {
	for i := from; i < c.succ.len(); i++ {
		if *c.succ.at(i) == id {
			return true
		}
	}
	return false
}

func (c *checker) add(parent int32, m Move, depth int) {
	var flags uint8
	w := c.world
	if w.State(simnet.A) == machine.StateClosed && w.State(simnet.B) == machine.StateClosed {
		flags |= flagGoal
	}
	c.states.append(stateInfo{parent: parent, move: m, depth: uint16(depth), flags: flags})
	c.res.States = c.states.len()
	c.res.MaxDepth = max(c.res.MaxDepth, depth)
}

func (c *checker) progress(depth int) {
	if c.o.Progress == nil {
		return
	}
	if now := time.Now(); now.Sub(c.last) >= time.Second {
		c.last = now
		el := now.Sub(c.start)
		fmt.Fprintf(c.o.Progress, "check: depth %d, %d states, %d transitions, %.0f states/s, %v\n",
			depth, c.states.len(), c.res.Transitions, float64(c.states.len())/el.Seconds(), el.Round(time.Second))
	}
}

// finish runs the liveness check once the graph is explored.
func (c *checker) finish() error {
	c.res.Exhausted = c.res.Frontier == 0 && !c.res.Stopped
	bad := c.livenessViolation()
	if bad < 0 {
		return nil
	}
	path := c.path(bad)
	msg := "liveness"
	if err := c.replay(path, nil); err == nil {
		w := c.world
		kind := "livelock: every continuation keeps going without ever bringing both sides to CLOSED (user timeouts aside)"
		if c.states.at(int(bad)).flags&flagMoves == 0 {
			kind = "deadlock: no move is possible, yet not both sides are CLOSED"
		}
		msg = fmt.Sprintf("%s; A is %v, B is %v, %d segments in flight", kind, w.State(simnet.A), w.State(simnet.B), w.Net().InFlight())
	}
	cx := &Counterexample{Invariant: 18, Message: msg, Liveness: true, Path: path}
	cx.Mermaid = c.mermaid(path, cx)
	c.res.Violation = cx
	return nil
}

// violation records a safety violation found on move m from state id.
func (c *checker) violation(id int32, m Move, err error) error {
	var v *proptest.Violation
	if !errors.As(err, &v) {
		return err
	}
	path := append(c.path(id), m)
	cx := &Counterexample{Invariant: v.Invariant, Message: v.Msg, Path: path}
	cx.Mermaid = c.mermaid(path, cx)
	c.res.Violation = cx
	return nil
}

// path is the moves from the initial state to state id.
func (c *checker) path(id int32) []Move {
	var rev []Move
	for ; id > 0; id = c.states.at(int(id)).parent {
		rev = append(rev, c.states.at(int(id)).move)
	}
	out := make([]Move, len(rev))
	for i, m := range rev {
		out[len(rev)-1-i] = m
	}
	return out
}

// replay plays path on c.world from the initial state, seeing records
// through onRec (nil: none). It returns the first violation.
func (c *checker) replay(path []Move, onRec func(*simnet.Record)) error {
	w, err := newWorld(&c.o, onRec, true)
	if err != nil {
		return err
	}
	for _, m := range path {
		m.apply(w, &c.o)
		if err := w.Err(); err != nil {
			c.world = w
			return err
		}
	}
	c.world = w
	return nil
}
