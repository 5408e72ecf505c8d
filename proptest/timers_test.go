package proptest

import (
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// TestUserTimeoutRestartsOnProgress is invariant 36 over a transfer that
// lasts several user timeouts: every ACK of new data restarts the user
// timer, so a slow but moving connection is never given up.
func TestUserTimeoutRestartsOnProgress(t *testing.T) {
	cfg := testCfg()
	cfg.SndBuf, cfg.RcvBuf = 80, 80
	w := NewWorld(Options{Config: cfg})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	a := w.Net().Conn(simnet.A)
	w.Write(simnet.A, 80)
	start := w.Net().Now()
	// One segment gets through every 2 s, far slower than the RTO: the
	// rest are lost and sent again.
	for i := 0; i < 40 && w.Err() == nil && a.Vars().SndUna != a.Vars().SndNxt; i++ {
		if len(w.Net().Link(simnet.A)) > 0 {
			w.Deliver(simnet.A, 0)
		}
		for len(w.Net().Link(simnet.A)) > 0 {
			w.Drop(simnet.A, 0)
		}
		for len(w.Net().Link(simnet.B)) > 0 {
			w.Deliver(simnet.B, 0)
		}
		w.AdvanceBy(2 * time.Second)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if took := w.Net().Now() - start; took <= w.cfg.UserTimeout {
		t.Fatalf("the transfer took %v, not longer than UserTimeout %v: the test shows nothing", took, w.cfg.UserTimeout)
	}
	if st := a.State(); st != machine.StateEstablished {
		t.Fatalf("A is %v after a slow transfer, want ESTABLISHED", st)
	}
}

// TestFinWait1WaitsForUserTimeout is invariant 36 in FIN-WAIT-1: an ACK of
// some data (not the FIN) arms no FIN-WAIT-2 timer, so a peer that goes
// quiet for longer than FinWait2 but less than UserTimeout is waited for.
func TestFinWait1WaitsForUserTimeout(t *testing.T) {
	w := NewWorld(Options{Config: testCfg()})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	w.Write(simnet.A, 16)
	w.Close(simnet.A)
	w.Deliver(simnet.A, 0) // the first 8 bytes
	for len(w.Net().Link(simnet.B)) > 0 {
		w.Deliver(simnet.B, 0) // their ACK
	}
	quiet := w.cfg.FinWait2 + (w.cfg.UserTimeout-w.cfg.FinWait2)/2
	for end := w.Net().Now() + quiet; w.Net().Now() < end && w.Err() == nil; {
		for len(w.Net().Link(simnet.A)) > 0 {
			w.Drop(simnet.A, 0)
		}
		if !w.Advance() {
			break
		}
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if st := w.State(simnet.A); st != machine.StateFinWait1 {
		t.Fatalf("A is %v after %v of silence in FIN-WAIT-1, want FIN-WAIT-1 (UserTimeout %v)", st, quiet, w.cfg.UserTimeout)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestZeroWindowProbingKeepsConnection is invariant 36 under a shut
// window: a peer that keeps answering the zero-window probes is alive, so
// probing goes on for longer than the user timeout (RFC 9293 3.8.6.1).
func TestZeroWindowProbingKeepsConnection(t *testing.T) {
	cfg := testCfg()
	cfg.RcvBuf = 16
	w := NewWorld(Options{Config: cfg})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	w.Write(simnet.A, 32) // B never reads: its window shuts after 16 bytes
	start := w.Net().Now()
	for w.Net().Now()-start < 3*w.cfg.UserTimeout && w.Err() == nil {
		if w.Net().InFlight() > 0 {
			deliverAll(w)
		} else if !w.Advance() {
			break
		}
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if st := w.State(simnet.A); st != machine.StateEstablished {
		t.Fatalf("A is %v after probing a shut window for %v with the peer answering, want ESTABLISHED (UserTimeout %v)",
			st, w.Net().Now()-start, w.cfg.UserTimeout)
	}
	if v := w.Net().Conn(simnet.A).Vars(); v.SndWnd != 0 {
		t.Fatalf("A's SND.WND is %d: the window never shut, the test shows nothing", v.SndWnd)
	}
}
