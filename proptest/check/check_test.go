package check

import (
	"strings"
	"testing"
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

// TestDeterministic: the same options explore the same graph.
func TestDeterministic(t *testing.T) {
	a, err := Run(Options{Depth: 10, Loss: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(Options{Depth: 10, Loss: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.States != b.States || a.Transitions != b.Transitions || a.Pruned != b.Pruned {
		t.Fatalf("two runs differ: %+v vs %+v", a, b)
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
