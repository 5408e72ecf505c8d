package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/proptest/mutate"
)

// TestPropertyExhaustive runs the checker at small bounds, with and
// without network faults: no invariant may break, and the run must have
// explored something at every depth.
func TestPropertyExhaustive(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"fifo", Options{Depth: 16}},
		{"faults", Options{Depth: 9, Loss: true, Dup: true, Reorder: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if cx := res.Violation; cx != nil {
				t.Fatalf("%v\nmoves: %v\n%s", cx, cx.Path, cx.Mermaid)
			}
			if res.MaxDepth != tc.o.Depth || res.States < 100 || res.Transitions < res.States-1 {
				t.Fatalf("explored too little: %+v", res)
			}
			t.Logf("%d states, %d transitions, %.0f states/s", res.States, res.Transitions, res.StatesPerSecond())
		})
	}
}

// TestDeterministic: the same options explore the same graph, with one
// worker or several (which path to a state the search keeps, and so what
// that state reaches, does not depend on which worker got there first).
func TestDeterministic(t *testing.T) {
	o := Options{Depth: 9, Loss: true, Dup: true, Reorder: true, Workers: 1}
	a, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 3} {
		o.Workers = workers
		b, err := Run(o)
		if err != nil {
			t.Fatal(err)
		}
		if a.States != b.States || a.Transitions != b.Transitions || a.Pruned != b.Pruned || a.Frontier != b.Frontier {
			t.Fatalf("one worker and %d differ: %+v vs %+v", workers, a, b)
		}
	}
}

// TestDeterministicCounterexample: several workers find the counterexample
// one finds, move for move.
func TestDeterministicCounterexample(t *testing.T) {
	m := mutate.All()[0]
	var paths [2]string
	for i, workers := range []int{1, 2} {
		res, err := Run(Options{Depth: 14, Writes: -1, Mutation: m, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if res.Violation == nil {
			t.Fatalf("%d workers: no violation with mutation %s", workers, m.Name)
		}
		paths[i] = fmt.Sprint(res.Violation.Path)
	}
	if paths[0] != paths[1] {
		t.Fatalf("counterexamples differ:\n1 worker:  %s\n2 workers: %s", paths[0], paths[1])
	}
}

// TestBadOptions: bounds out of range are errors, not panics.
func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Depth: -1}, {InFlight: 300}, {WriteLen: -2}} {
		if _, err := Run(o); err == nil || !strings.Contains(err.Error(), "check:") {
			t.Errorf("Run(%+v) = %v, want a check: error", o, err)
		}
	}
}

func TestHashSet(t *testing.T) {
	s := newStateSet()
	const n = 300000
	for i := 0; i < n; i++ {
		k := hashKey([]byte{byte(i), byte(i >> 8), byte(i >> 16), 7})
		if id, fresh := s.insert(k, int32(i)); !fresh || id != int32(i) {
			t.Fatalf("key %d: insert = %d, %v; want new %d (a hash collision among %d small keys?)", i, id, fresh, i, n)
		}
	}
	for i := 0; i < n; i += 977 {
		k := hashKey([]byte{byte(i), byte(i >> 8), byte(i >> 16), 7})
		if id, fresh := s.insert(k, -1); fresh || id != int32(i) {
			t.Fatalf("key %d: second insert = %d, %v; want existing %d", i, id, fresh, i)
		}
	}
}
