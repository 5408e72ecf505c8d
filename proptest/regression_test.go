package proptest

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Regression tests: the shortest runs rapid and the checker found for
// bugs, replayed move by move so that they stay fixed.

// TestRegressionFINRetransmitAtWrap: with A's FIN at sequence number
// 2^32-1 (so SND.NXT wraps to 0), the retransmission timer must resend the
// data and the FIN, not the data plus a stale byte in the FIN's place
// (invariants 2, 7 and 17).
func TestRegressionFINRetransmitAtWrap(t *testing.T) {
	start, err := StartNearWrap(testCfg(), 4) // ISS 2^32-4: data at -3, -2; FIN at -1
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorld(Options{Config: testCfg(), Start: start})
	w.Connect(simnet.A)
	w.Write(simnet.A, 2)
	w.Listen(simnet.B)
	w.Deliver(simnet.A, 0)
	w.Deliver(simnet.B, 0)
	w.Close(simnet.A)
	w.Advance() // retransmission timeout
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestRegressionDataWithFINReadable: data that arrives together with the
// peer's FIN, moving the receiver from FIN-WAIT-1 to CLOSING (or from
// FIN-WAIT-2 to TIME-WAIT) in one step, must still be readable: every byte
// written is delivered (invariant 17).
func TestRegressionDataWithFINReadable(t *testing.T) {
	w := NewWorld(Options{Config: testCfg()})
	w.Listen(simnet.B)
	w.Connect(simnet.A)
	w.Deliver(simnet.A, 0) // SYN: B is SYN-RECEIVED
	w.Deliver(simnet.B, 0) // SYN+ACK: A is ESTABLISHED; its ACK is in flight
	w.Write(simnet.B, 3)   // queued until B's SYN is ACKed
	w.Close(simnet.A)
	w.Close(simnet.B)      // SYN-RECEIVED -> FIN-WAIT-1: the FIN follows the data
	w.Deliver(simnet.A, 0) // A's ACK: B sends its data and FIN together
	w.Deliver(simnet.B, 0) // ... which move A from FIN-WAIT-1 to CLOSING at once
	n, err := w.Read(simnet.A, 64)
	if n != 3 {
		t.Errorf("A (now %v) read %d bytes, err %v; B wrote 3 before its FIN", w.State(simnet.A), n, err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestRegressionNoACKLoop: an old SYN from B's aborted first connection
// reaches A during a simultaneous open; both applications then close in
// SYN-RECEIVED. The two sides disagree about the initial sequence numbers
// and must not answer each other's ACKs with ACKs forever (invariant 18:
// no livelock): one of them has to reset the connection.
func TestRegressionNoACKLoop(t *testing.T) {
	start, err := StartNearWrap(testCfg(), NearWrapGap+1)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorld(Options{Config: testCfg(), Start: start})
	w.Connect(simnet.B)
	w.Abort(simnet.B) // B's SYN stays in flight
	w.Connect(simnet.A)
	w.Advance()            // A retransmits its SYN; time passes, so B's next ISS differs
	w.Deliver(simnet.B, 0) // the old SYN: A goes SYN-RECEIVED with the wrong IRS
	w.Connect(simnet.B)
	w.Deliver(simnet.A, 0) // A's SYN: B goes SYN-RECEIVED
	if a, b := w.State(simnet.A), w.State(simnet.B); a != machine.StateSynReceived || b != machine.StateSynReceived {
		t.Fatalf("setup: A is %v and B is %v, want both SYN-RECEIVED", a, b)
	}
	w.Close(simnet.A)
	w.Close(simnet.B)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}
