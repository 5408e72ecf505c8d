package proptest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// coverageWalks and coverageMoves size the seeded random walks of
// TestCoverage: fixed, so that the test is exactly repeatable.
const (
	coverageWalks = 2000
	coverageMoves = 80
)

// TestCoverage checks invariant 20: every rule of spec/tcp.yaml fires
// somewhere in the property suite's moves. It replays a fixed set of
// seeded random walks (the moves of TestProperty, chosen by a seeded
// generator instead of rapid) and the targeted scenarios, then fails
// listing every rule that never fired.
func TestCoverage(t *testing.T) {
	cov := &Coverage{}
	failed := 0
	for seed := uint64(1); seed <= coverageWalks; seed++ {
		if err := coverageWalk(seed, cov, true); err != nil {
			// Report the first few violations, replayed with history
			// (walks are deterministic), and keep counting coverage.
			if failed++; failed <= 3 {
				t.Errorf("walk %d: %v", seed, coverageWalk(seed, &Coverage{}, false))
			}
		}
	}
	if failed > 3 {
		t.Errorf("%d of %d walks broke an invariant", failed, coverageWalks)
	}
	for _, sc := range scenarios {
		p := &pathRecorder{}
		w := NewWorld(Options{Config: testCfg(), Observer: observers{cov, p}})
		p.w = w
		if err := sc.run(w, p); err != nil {
			t.Errorf("scenario %s: %v", sc.name, err)
		}
	}
	if missing := cov.Missing(); len(missing) > 0 {
		var b strings.Builder
		for _, r := range missing {
			info := r.Info()
			fmt.Fprintf(&b, "\n  %s (spec line %d): from %v on %v", r, info.Line, info.From, info.On)
		}
		t.Errorf("invariant 20: %d of %d rules never fired:%s", len(missing), machine.NumRules-1, b.String())
	}
}

// coverageWalk is one seeded random walk and its fair ending.
func coverageWalk(seed uint64, cov *Coverage, quiet bool) error {
	c := NewSeededChooser(seed)
	cfg := testCfg()
	cfg.RFC1337 = seed%4 == 0
	cfg.SYNCookies = seed%5 == 0
	// A third of the walks run with a small receive buffer behind a large
	// send buffer, where a sender can fill the window several times over.
	if seed%3 == 0 {
		cfg.RcvBuf, cfg.SndBuf = 10, 80
	}
	start := time.Duration(0)
	if seed%2 == 0 {
		var err error
		if start, err = StartNearWrap(cfg, NearWrapGap+1+uint32(seed%600)); err != nil {
			return err
		}
	}
	w := NewWorld(Options{Config: cfg, Start: start, Observer: cov, Quiet: quiet})
	if err := w.RandomWalk(c, coverageMoves); err != nil {
		return err
	}
	return w.Finish()
}
