package check

import "testing"

// BenchmarkChecker measures the exploration rate (design.md's target: at
// least a million states per second on one core) at a fixed bound. A's ISS
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
