package main

import (
	"fmt"
	"io"
	"strings"
	"time"

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
	maxStates := fs.Int("max-states", 10_000_000, "stop after `N` states, unfinished (0: no limit); the frontier costs about 3 KB a state")
	quiet := fs.Bool("q", false, "print no progress on stderr")
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
	o := check.Options{
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
		// An unfinished search proves nothing about the bound asked for.
		fmt.Fprintf(stderr, "%s: stopped at -max-states %d before the depth bound was explored; raise -max-states (0: no limit)\n", fs.Name(), o.MaxStates)
		return 1
	}
	return 0
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
	fmt.Fprintf(w, "time:            %v (%.0f states/s)\n", res.Elapsed.Round(time.Millisecond), res.StatesPerSecond())
	switch {
	case res.Stopped:
		fmt.Fprintln(w, "result:          stopped at -max-states: unfinished")
	case res.Exhausted:
		fmt.Fprintln(w, "result:          the depth bound was never reached: every state within the in-flight and data bounds explored")
	}
	cx := res.Violation
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
