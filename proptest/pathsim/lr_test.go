package pathsim

import (
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
)

// Invariant 52: a retransmission that is lost again is found lost once
// text sent after it is SACKed, and resent, without waiting for the
// retransmission timer (machine's lostAgain; RFC 8985 6.2's rule). At 5%
// loss each way, 10 MiB over a 40 ms path in five seeded runs: with the
// rule the Reno sender takes 72 timeouts, without it 171 (measured after
// fast recovery's exit to slow start); the bound sits between.
func TestLostRetransmissions(t *testing.T) {
	var timeouts uint64
	for seed := uint64(1); seed <= 5; seed++ {
		r, err := Run(Path{Delay: 20 * time.Millisecond, Loss: 0.05, Seed: seed}, []Flow{bulk(cc.Reno, 10<<20, 0)}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r.Flows[0].Done == 0 {
			t.Fatalf("seed %d: the transfer did not finish", seed)
		}
		timeouts += r.Flows[0].Timeouts
	}
	if timeouts > 120 {
		t.Errorf("invariant 52: five 10 MiB transfers at 5%% loss took %d retransmission timeouts; lost retransmissions found from the SACKs keep it under 120", timeouts)
	}
}
