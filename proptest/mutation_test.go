package proptest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/proptest/mutate"
	"pgregory.net/rapid"
)

// failRecorder is a rapid.TB that records a failure instead of failing
// the test: TestMutation expects rapid to fail.
type failRecorder struct {
	name   string
	failed bool
	msgs   []string
}

func (r *failRecorder) Helper()                  {}
func (r *failRecorder) Name() string             { return r.name }
func (r *failRecorder) Logf(string, ...any)      {}
func (r *failRecorder) Log(...any)               {}
func (r *failRecorder) Skipf(f string, a ...any) { r.Errorf("skipped: "+f, a...) }
func (r *failRecorder) Skip(a ...any)            { r.Error(append([]any{"skipped: "}, a...)...) }
func (r *failRecorder) SkipNow()                 { r.Error("skipped") }
func (r *failRecorder) Errorf(f string, a ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *failRecorder) Error(a ...any)            { r.failed = true; r.msgs = append(r.msgs, fmt.Sprint(a...)) }
func (r *failRecorder) Fatalf(f string, a ...any) { r.Errorf(f, a...) }
func (r *failRecorder) Fatal(a ...any)            { r.Error(a...) }
func (r *failRecorder) FailNow()                  { r.failed = true }
func (r *failRecorder) Fail()                     { r.failed = true }
func (r *failRecorder) Failed() bool              { return r.failed }
func (r *failRecorder) String() string            { return strings.Join(r.msgs, "\n") }

var _ rapid.TB = (*failRecorder)(nil)

// TestMutationRapid checks that the property test catches each built-in
// mutation (a deliberately broken rule or segment) and names the invariant
// it breaks. rapid's failure file goes to a temporary directory, not to
// the package's testdata.
func TestMutationRapid(t *testing.T) {
	for _, m := range mutate.All() {
		t.Run(m.Name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			want := fmt.Sprintf("invariant %d:", m.Invariant)
			// rapid reports the first failure it finds, from a random seed: a
			// round of -rapid.checks cases may miss a mutation that needs a
			// rarer walk, or surface a different failure first. Run rounds
			// until one names the mutation's invariant.
			var rec *failRecorder
			failedRounds := 0
			for try := 0; try < 20; try++ {
				rec = &failRecorder{name: fmt.Sprintf("%s_%d", t.Name(), try)} // its own failure file
				rapid.Check(rec, property(Options{Mutation: m}))
				if !rec.failed {
					continue
				}
				failedRounds++
				if strings.Contains(rec.String(), want) {
					break
				}
				first, _, _ := strings.Cut(rec.msgs[0], "\n")
				t.Logf("round %d failed on something else: %s", try+1, first)
			}
			if failedRounds == 0 {
				t.Fatalf("rapid found no failure with mutation %s (%s) in 20 rounds", m.Name, m.Doc)
			}
			if !strings.Contains(rec.String(), want) {
				t.Fatalf("mutation %s: rapid failed, but never on %q:\n%s", m.Name, want, rec)
			}
			first, _, _ := strings.Cut(rec.msgs[0], "\n")
			t.Logf("caught: %s", first)
		})
	}
}
