package check

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkChecker measures the exploration rate (design.md's target: at
// least a million states per second on one core, and 1.7 times that with
// two: run it with -cpu 1,2) at a fixed bound. A's ISS
// is 2^32-3 (its data ends at 2^32-1, its FIN is 0) rather than the
// default 2^32-4, which reaches the FIN-at-2^32-1 retransmission bug of
// docs/checking.md in 7 moves and would measure nothing.
func BenchmarkChecker(b *testing.B) {
	states := 0
	for b.Loop() {
		res, err := Run(Options{Depth: 18, WrapK: 3})
		if err != nil {
			b.Fatal(err)
		}
		if res.Violation != nil {
			b.Fatalf("the benchmark needs a clean exploration: %v", res.Violation)
		}
		states += res.States
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
	b.ReportMetric(float64(states)/float64(b.N), "states/op")
}

// BenchmarkCheckerFaults measures the rate with loss, duplication and
// reordering, where most states are at the depth bound (the frontier the
// checker never expands, and so never saves).
func BenchmarkCheckerFaults(b *testing.B) {
	states := 0
	for b.Loop() {
		res, err := Run(Options{Depth: 10, Loss: true, Dup: true, Reorder: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Violation != nil {
			b.Fatalf("the benchmark needs a clean exploration: %v", res.Violation)
		}
		states += res.States
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
	b.ReportMetric(float64(states)/float64(b.N), "states/op")
}

// BenchmarkCheckerIndependent runs GOMAXPROCS searches of BenchmarkChecker
// at once, one worker each, and reports their states/s together: what the
// machine's cores give this memory-bound work with nothing shared, the
// ceiling of BenchmarkChecker's own scaling.
func BenchmarkCheckerIndependent(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	var states atomic.Int64
	for b.Loop() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				res, err := Run(Options{Depth: 18, WrapK: 3, Workers: 1})
				if err != nil {
					b.Error(err)
					return
				}
				states.Add(int64(res.States))
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(states.Load())/b.Elapsed().Seconds(), "states/s")
}
