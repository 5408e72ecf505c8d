package check

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
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
	// Workers is how many goroutines expand states, each with its own
	// World (0: GOMAXPROCS). The states explored and the counts in Result
	// do not depend on it; which of several shortest counterexamples is
	// found may.
	Workers int
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
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
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
	Workers     int           // goroutines that expanded states
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
}

const (
	flagGoal       = 1 << iota // both sides CLOSED
	flagIncomplete             // not (fully) expanded: depth bound or pruned successors
	flagMoves                  // some move is possible (else: a deadlock, unless a goal)
)

// checker is one exploration: level by level (every state at depth d is
// expanded before any at d+1, so each state's depth is its distance from
// the initial state), the states of a level shared out among the workers.
type checker struct {
	o Options

	// mu guards what the workers share: the states, the set of their
	// hashes, the successor lists and the result's counts.
	mu sync.Mutex
	// states[i] is state i, numbered in the order found.
	states chunked[stateInfo]
	seen   *stateSet
	// succ holds the successors of every expanded state (moves that do
	// not give up, self-loops and repeats left out) as records: the
	// state, how many, then their numbers. The liveness check needs no
	// more.
	succ chunked[int32]
	res  Result
	// The states found in the current level, numbered from levelStart
	// on, with the rank of the path kept (rankOf) and its snapshot.
	levelStart int
	discovered []discovery

	stop   atomic.Bool // a violation, MaxStates or the memory budget: claim no more states
	reason string      // why, when not a violation (under mu)

	world *proptest.World // the replay's (counterexamples)
	start time.Time
	last  time.Time
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
	c.res.Workers = o.Workers
	if o.MemBudget > 0 && o.MemBudget < math.MaxInt64 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(o.MemBudget)))
	}
	defer func() { c.overBudget() }() // the final sample of PeakMemory
	err := c.explore()
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

// explore runs the search, a level at a time.
func (c *checker) explore() error {
	workers := make([]*worker, c.o.Workers)
	for i := range workers {
		w, err := newWorker(c)
		if err != nil {
			return err
		}
		workers[i] = w
	}
	w0 := workers[0]
	snap := w0.alloc()
	w0.world.Save(snap)
	w0.key = w0.world.AppendKey(w0.key[:0])
	c.seen.insert(hashKey(w0.key), 0)
	c.add(-1, Move{}, 0, bothClosed(w0.world), false)
	level := []queued{{snap, 0}}
	bound := 0 // states at the depth bound: never expanded, so never saved
	for depth := 0; len(level) > 0; depth++ {
		c.levelStart, c.discovered = c.states.len(), c.discovered[:0]
		var claim atomic.Int64
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(func() {
				for !c.stop.Load() {
					i := int(claim.Add(1) - 1)
					if i >= len(level) {
						return
					}
					w.expand(level[i], i, depth)
				}
			})
		}
		wg.Wait()
		var bad *violationAt
		for _, w := range workers {
			c.res.Transitions += w.transitions
			c.res.Pruned += w.pruned
			bound += w.bound
			w.transitions, w.pruned, w.bound = 0, 0, 0
			if w.bad != nil && (bad == nil || w.bad.rank < bad.rank) {
				bad = w.bad
			}
		}
		if bad != nil {
			return c.violation(bad.id, bad.move, bad.err)
		}
		// The next level in rank order: the order a one-worker search
		// finds its states in.
		next := make([]queued, 0, len(c.discovered))
		for i, d := range c.discovered {
			if d.snap != nil {
				next = append(next, queued{d.snap, int32(c.levelStart + i)})
			}
		}
		slices.SortFunc(next, func(a, b queued) int {
			return cmp.Compare(c.discovered[int(a.id)-c.levelStart].rank, c.discovered[int(b.id)-c.levelStart].rank)
		})
		if c.stop.Load() {
			// MaxStates or memory: what was not expanded is incomplete.
			c.res.Stopped, c.res.StopReason = true, c.reason
			for _, q := range level[min(int(claim.Load()), len(level)):] {
				c.states.at(int(q.id)).flags |= flagIncomplete
			}
			for _, q := range next {
				c.states.at(int(q.id)).flags |= flagIncomplete
			}
			return c.finish()
		}
		level = next
	}
	// BFS: the states at the bound are the frontier it stopped at.
	c.res.Frontier = bound
	return c.finish()
}

// halt stops the search for reason (c.mu held).
func (c *checker) halt(reason string) {
	if !c.stop.Load() {
		c.reason = reason
		c.stop.Store(true)
	}
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

// add appends a state (c.mu held, or a single goroutine): goal says both
// sides are CLOSED, atBound that it lies at the depth bound.
func (c *checker) add(parent int32, m Move, depth int, goal, atBound bool) {
	var flags uint8
	if goal {
		flags |= flagGoal
	}
	if atBound {
		flags |= flagIncomplete
	}
	c.states.append(stateInfo{parent: parent, move: m, depth: uint16(depth), flags: flags})
	c.res.States = c.states.len()
	c.res.MaxDepth = max(c.res.MaxDepth, depth)
}

func bothClosed(w *proptest.World) bool {
	return w.State(simnet.A) == machine.StateClosed && w.State(simnet.B) == machine.StateClosed
}

// progress prints a line about once a second (c.mu held).
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
