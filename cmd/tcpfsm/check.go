package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/tcpfsm/tcpfsm/proptest"
	"github.com/tcpfsm/tcpfsm/proptest/check"
	"github.com/tcpfsm/tcpfsm/proptest/mutate"
)

const checkHelp = `
usage: tcpfsm check [-depth N] [-loss] [-dup] [-reorder] [-mutate NAME] [flags]

Check explores, breadth first, every interleaving of two endpoints (A
connects; B listens or connects) and the segments in flight between them, up
to -depth moves: segment deliveries, losses (-loss), duplicates (-dup),
reorderings (-reorder; without it each direction is FIFO), timer expiries
(time is abstract: any armed timer may fire) and the applications' calls
(open, small writes, reads, close). Every state is checked against the
invariants of the property tests; then every state must still be able to
bring both sides to CLOSED without a user timeout (no deadlock, no
livelock). States at the depth bound count as able to.

It prints the states explored, the transitions, the maximum depth and the
rate, with progress on stderr every second. On a violation it prints the
shortest counterexample as a Mermaid sequenceDiagram and exits 1.

-mutate runs a deliberately broken machine, to show a counterexample:
`

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check")
	depth := fs.Int("depth", 20, "explore up to `N` moves from the initial state")
	loss := fs.Bool("loss", false, "the network may drop any segment in flight")
	dup := fs.Bool("dup", false, "the network may duplicate any segment in flight")
	reorder := fs.Bool("reorder", false, "any segment in flight may arrive next (default: FIFO per direction)")
	mutation := fs.String("mutate", "", "check a deliberately broken machine: `NAME` is one of "+strings.Join(mutate.Names(), ", "))
	inFlight := fs.Int("inflight", 3, "at most `N` segments in flight, both directions together")
	writes := fs.Int("writes", 1, "`N` writes per side")
	writeLen := fs.Int("writelen", 2, "`BYTES` per write")
	wrap := fs.Uint("wrap", 0, "A's ISS is 2^32 - `K` (0: 2 + writes*writelen, so A's FIN is 2^32-1)")
	maxStates := fs.Int("max-states", 0, "stop after `N` states, unfinished (0: no limit but -mem)")
	memFlag := fs.String("mem", "", "stop, unfinished, when the checker holds `SIZE` of memory, e.g. 2GiB or 500MB (default: a quarter of this machine's RAM; 0: no limit)")
	options := fs.String("options", "all/all", "the TCP options A and B offer, `A/B`: each none or a comma list of ws, ts, sack")
	quiet := fs.Bool("q", false, "print no progress on stderr")
	workers := fs.Int("workers", 0, "expand states on `N` goroutines, each with its own world (0: GOMAXPROCS); the result does not depend on N")
	help := checkHelp
	for _, m := range mutate.All() {
		help += fmt.Sprintf("\n\t%-18s %s (invariant %d)", m.Name, m.Doc, m.Invariant)
	}
	if code, ok := parse(fs, help, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case *depth < 1 || *depth > 10000:
		return usageError(fs, stderr, "-depth %d: want 1..10000", *depth)
	case *inFlight < 1 || *inFlight > 64:
		return usageError(fs, stderr, "-inflight %d: want 1..64", *inFlight)
	case *writes < 0 || *writes > 16:
		return usageError(fs, stderr, "-writes %d: want 0..16", *writes)
	case *writeLen < 1 || *writeLen > 1024:
		return usageError(fs, stderr, "-writelen %d: want 1..1024", *writeLen)
	case *wrap > 1<<31:
		return usageError(fs, stderr, "-wrap %d: want 0..2^31", *wrap)
	case *maxStates < 0:
		return usageError(fs, stderr, "-max-states %d: want 0 or more", *maxStates)
	}
	budget, err := memBudget(*memFlag)
	if err != nil {
		return usageError(fs, stderr, "-mem %q: %v", *memFlag, err)
	}
	o := check.Options{
		MemBudget: budget,
		Depth:     *depth,
		Loss:      *loss,
		Dup:       *dup,
		Reorder:   *reorder,
		InFlight:  *inFlight,
		Writes:    *writes,
		WriteLen:  *writeLen,
		WrapK:     uint32(*wrap),
		MaxStates: *maxStates,
	}
	if *writes == 0 {
		o.Writes = -1 // check.Options: zero means the default, negative none
	}
	a, b, err := parseOptionPair(*options)
	if err != nil {
		return usageError(fs, stderr, "-options %q: %v", *options, err)
	}
	a.Apply(&o.Config)
	o.PeerOptions = &b
	if *mutation != "" {
		m, ok := mutate.Lookup(*mutation)
		if !ok {
			return usageError(fs, stderr, "-mutate %q: unknown mutation; want one of %s", *mutation, strings.Join(mutate.Names(), ", "))
		}
		o.Mutation = m
	}
	if !*quiet {
		o.Progress = stderr
	}
	if *workers < 0 {
		return usageError(fs, stderr, "-workers %d: want 0 (GOMAXPROCS) or more", *workers)
	}
	o.Workers = *workers
	res, err := check.Run(o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	report(stdout, &o, res)
	if res.Violation != nil {
		return 1
	}
	if res.Stopped {
		return 1 // an unfinished search proves nothing about the bound asked for
	}
	return 0
}

// memBudget parses -mem: a size with an optional unit (B, KB, MB, GB, KiB,
// MiB, GiB), 0 for no limit, or empty for a quarter of the machine's RAM.
func memBudget(v string) (uint64, error) {
	if v == "" {
		var si unix.Sysinfo_t
		if err := unix.Sysinfo(&si); err != nil || si.Totalram == 0 {
			return 4 << 30, nil // cannot tell: 4 GiB
		}
		return uint64(si.Totalram) * uint64(si.Unit) / 4, nil
	}
	num := strings.TrimRightFunc(v, unicode.IsLetter)
	unit := strings.ToLower(v[len(num):])
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if mult == 0 || err != nil || f < 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a size such as 2GiB, 500MB or 0")
	}
	return uint64(f * mult), nil
}

// formatBytes writes n in GiB or MiB.
func formatBytes(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// report prints the exploration's numbers and, if any, the counterexample.
func report(w io.Writer, o *check.Options, res *check.Result) {
	faults := []string{}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Loss, "loss"}, {o.Dup, "dup"}, {o.Reorder, "reorder"}} {
		if f.on {
			faults = append(faults, f.name)
		}
	}
	if len(faults) == 0 {
		faults = append(faults, "none (FIFO, lossless)")
	}
	fmt.Fprintf(w, "network faults:  %s\n", strings.Join(faults, ", "))
	fmt.Fprintf(w, "states explored: %d\n", res.States)
	fmt.Fprintf(w, "transitions:     %d\n", res.Transitions)
	fmt.Fprintf(w, "max depth:       %d (bound %d; %d states at the bound, %d successors cut by the in-flight bound)\n",
		res.MaxDepth, o.Depth, res.Frontier, res.Pruned)
	fmt.Fprintf(w, "time:            %v (%.0f states/s, %d workers)\n", res.Elapsed.Round(time.Millisecond), res.StatesPerSecond(), res.Workers)
	budget := "no budget"
	if o.MemBudget > 0 {
		budget = "budget " + formatBytes(o.MemBudget)
	}
	fmt.Fprintf(w, "memory:          peak %s (%s), %d bytes per state\n", formatBytes(res.PeakMemory), budget, res.PeakMemory/uint64(max(res.States, 1)))
	fmt.Fprintf(w, "fingerprints:    64-bit hash per state; P(two of the %d states collided, hiding one) <= %.1e\n", res.States, check.CollisionBound(res.States))
	switch {
	case res.Stopped && res.StopReason == "memory":
		fmt.Fprintf(w, "result:          STOPPED, INCOMPLETE: the memory budget (%s) was reached after %d states at depth %d of %d; raise -mem or lower -depth\n",
			formatBytes(o.MemBudget), res.States, res.MaxDepth, o.Depth)
	case res.Stopped:
		fmt.Fprintf(w, "result:          STOPPED, INCOMPLETE: -max-states %d was reached at depth %d of %d; raise -max-states (0: no limit)\n",
			o.MaxStates, res.MaxDepth, o.Depth)
	case res.Exhausted:
		fmt.Fprintln(w, "result:          the depth bound was never reached: every state within the in-flight and data bounds explored")
	}
	cx := res.Violation
	if cx == nil && res.Stopped {
		fmt.Fprintln(w, "violations:      none in the states explored before the stop")
		return
	}
	if cx == nil {
		fmt.Fprintln(w, "violations:      none within the bound")
		return
	}
	fmt.Fprintf(w, "\nVIOLATION of invariant %d after %d moves: %s\n\nmoves:\n", cx.Invariant, len(cx.Path), cx.Message)
	for i, m := range cx.Path {
		fmt.Fprintf(w, "  %2d. %v\n", i+1, m)
	}
	fmt.Fprintf(w, "\ncounterexample (Mermaid):\n\n```mermaid\n%s```\n", cx.Mermaid)
}

// parseOptionPair parses -options: "A/B", each side "all", "none" or a
// comma list of ws, ts and sack (the options that side offers).
func parseOptionPair(s string) (a, b proptest.OptionConfig, err error) {
	sa, sb, ok := strings.Cut(s, "/")
	if !ok {
		return a, b, fmt.Errorf("want A/B, e.g. all/none or ws,ts/sack")
	}
	if a, err = parseOptions(sa); err != nil {
		return a, b, fmt.Errorf("A: %w", err)
	}
	if b, err = parseOptions(sb); err != nil {
		return a, b, fmt.Errorf("B: %w", err)
	}
	return a, b, nil
}

func parseOptions(s string) (proptest.OptionConfig, error) {
	o := proptest.OptionConfig{NoWindowScale: true, NoTimestamps: true, NoSACK: true}
	switch s {
	case "all":
		return proptest.OptionConfig{}, nil
	case "none":
		return o, nil
	}
	for _, name := range strings.Split(s, ",") {
		switch name {
		case "ws":
			o.NoWindowScale = false
		case "ts":
			o.NoTimestamps = false
		case "sack":
			o.NoSACK = false
		default:
			return o, fmt.Errorf("unknown option %q (want ws, ts, sack, all or none)", name)
		}
	}
	return o, nil
}
