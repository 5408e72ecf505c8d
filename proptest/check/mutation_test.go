package check

import (
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/proptest/mutate"
)

// TestMutationChecker checks that the exhaustive checker catches every
// built-in mutation, names the invariant it breaks, and renders the
// counterexample. Writes are off: the mutations need no data, and the
// counterexamples stay short.
func TestMutationChecker(t *testing.T) {
	for _, m := range mutate.All() {
		t.Run(m.Name, func(t *testing.T) {
			res, err := Run(Options{Depth: 14, Writes: -1, Mutation: m})
			if err != nil {
				t.Fatal(err)
			}
			cx := res.Violation
			if cx == nil {
				t.Fatalf("no violation found with mutation %s (%s) in %d states", m.Name, m.Doc, res.States)
			}
			if cx.Invariant != m.Invariant {
				t.Fatalf("mutation %s: found invariant %d (%s), want %d\n%s", m.Name, cx.Invariant, cx.Message, m.Invariant, cx.Mermaid)
			}
			for _, want := range []string{"sequenceDiagram", "participant A", "participant Net", "participant B", "Net->>", "seq=", "ack=", "VIOLATION invariant"} {
				if !strings.Contains(cx.Mermaid, want) {
					t.Errorf("counterexample lacks %q:\n%s", want, cx.Mermaid)
				}
			}
			t.Logf("caught after %d moves (%d states): invariant %d: %s", len(cx.Path), res.States, cx.Invariant, cx.Message)
		})
	}
}
