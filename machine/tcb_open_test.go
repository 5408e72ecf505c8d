package machine

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Invariant 4: SYN-ACK acks x+1, the final ACK acks y+1, the first data
// byte is x+1 (and y+1 the other way).
func TestHandshake(t *testing.T) {
	p := newPair(t, nil, nil)
	p.open()
	syn := p.segs(func(w wire) bool { return w.from == 0 && w.seg.Flags == SYN })
	synack := p.segs(func(w wire) bool { return w.from == 1 && w.seg.Flags == SYN|ACK })
	if len(syn) != 1 || len(synack) != 1 {
		t.Fatalf("want one SYN and one SYN+ACK, got %d and %d\n%s", len(syn), len(synack), p.trace(10))
	}
	x, y := syn[0].seg.Seq, synack[0].seg.Seq
	if synack[0].seg.Ack != x+1 {
		t.Errorf("SYN+ACK acks %d, want x+1 = %d", synack[0].seg.Ack, x+1)
	}
	if syn[0].seg.MSS != DefaultMSS || synack[0].seg.MSS != DefaultMSS {
		t.Errorf("MSS options %d, %d; want %d", syn[0].seg.MSS, synack[0].seg.MSS, DefaultMSS)
	}
	final := p.sent[2]
	if final.from != 0 || final.seg.Flags != ACK || final.seg.Ack != y+1 || final.seg.Seq != x+1 {
		t.Errorf("third segment %v; want A ACK seq=%d ack=%d", final, x+1, y+1)
	}
	if v := p.A().Vars(); v.ISS != x || v.IRS != y || v.SndUna != x+1 || v.RcvNxt != y+1 || v.Passive {
		t.Errorf("A vars %+v", v)
	}
	if v := p.B().Vars(); v.ISS != y || v.IRS != x || v.SndUna != y+1 || v.RcvNxt != x+1 || !v.Passive {
		t.Errorf("B vars %+v", v)
	}
	p.write(0, []byte("hello"))
	p.write(1, []byte("world"))
	data := p.segs(func(w wire) bool { return len(w.seg.Payload) > 0 })
	if len(data) != 2 || data[0].seg.Seq != x+1 || data[1].seg.Seq != y+1 {
		t.Fatalf("first data segments %v; want seq x+1=%d and y+1=%d", data, x+1, y+1)
	}
	if string(p.got[1]) != "hello" || string(p.got[0]) != "world" {
		t.Errorf("B read %q, A read %q", p.got[1], p.got[0])
	}
	for _, c := range p.c {
		checkVars(t, c)
		if _, ok := c.NextDeadline(); ok {
			t.Errorf("%v: a timer is armed with nothing outstanding", c.State())
		}
	}
}

// The ISNs sit just below 2^32 on both sides, so sequence numbers wrap
// during the handshake and the transfer (invariant 2).
func TestSequenceWrap(t *testing.T) {
	cfgA := &Config{ISNKey: [16]byte{1}, UserTimeout: 48 * time.Hour}
	cfgB := &Config{ISNKey: [16]byte{2}, UserTimeout: 48 * time.Hour}
	p := newPair(t, cfgA, cfgB)
	tick := 4 * time.Microsecond
	const issA, issB = 1<<32 - 700, 1<<32 - 300
	// now such that A's ISS = 2^32 - 700.
	fa := ISN(&cfgA.ISNKey, tupleA, 0)
	p.now = time.Duration(issA-fa) * tick
	if err := p.B().Listen(p.now); err != nil {
		t.Fatal(err)
	}
	if err := p.A().Connect(p.now); err != nil {
		t.Fatal(err)
	}
	if iss := p.A().Vars().ISS; iss != issA {
		t.Fatalf("A's ISS %d, want 2^32-700", iss)
	}
	// Deliver the SYN when B's ISS comes out as 2^32 - 300.
	fb := ISN(&cfgB.ISNKey, tupleB, p.now)
	p.now += time.Duration(issB-fb) * tick
	syn := p.collect(0)
	p.B().Input(p.now, &syn[0].seg)
	if iss := p.B().Vars().ISS; iss != issB {
		t.Fatalf("B's ISS %d, want 2^32-300", iss)
	}
	p.runUntil("ESTABLISHED", func() bool { return p.A().State() == StateEstablished && p.B().State() == StateEstablished })
	a, b := pattern(5000, 1), pattern(3000, 2)
	p.write(0, a)
	p.write(1, b)
	p.runUntil("delivery", func() bool { return len(p.got[1]) == len(a) && len(p.got[0]) == len(b) })
	if !bytes.Equal(p.got[1], a) || !bytes.Equal(p.got[0], b) {
		t.Fatal("data corrupted across the wrap")
	}
	if v := p.A().Vars(); v.SndNxt != uint32(issA+1+5000-1<<32) || v.SndNxt > 1<<20 {
		t.Errorf("A's SND.NXT %d did not wrap to %d", v.SndNxt, uint32(issA+1+5000-1<<32))
	}
	if v := p.B().Vars(); v.RcvNxt != uint32(issA+1+5000-1<<32) {
		t.Errorf("B's RCV.NXT %d", v.RcvNxt)
	}
	closeBoth(t, p)
}

// closeBoth closes A then B and runs until both are CLOSED.
func closeBoth(t *testing.T, p *pair) {
	t.Helper()
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.runUntil("B in CLOSE-WAIT", func() bool { return p.B().State() == StateCloseWait })
	if err := p.B().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.runUntil("both CLOSED", func() bool { return p.A().State() == StateClosed && p.B().State() == StateClosed })
	for _, c := range p.c {
		checkVars(t, c)
		if c.Err() != nil {
			t.Errorf("orderly close left error %v", c.Err())
		}
	}
}

// Simultaneous open (invariant 11): both SYN-SENT -> SYN-RECEIVED ->
// ESTABLISHED, then data flows.
func TestSimultaneousOpen(t *testing.T) {
	var obs [2]stateLog
	cfgA := &Config{ISNKey: [16]byte{1}, Observer: &obs[0]}
	cfgB := &Config{ISNKey: [16]byte{2}, Observer: &obs[1]}
	p := newPair(t, cfgA, cfgB)
	if err := p.A().Connect(p.now); err != nil {
		t.Fatal(err)
	}
	if err := p.B().Connect(p.now); err != nil {
		t.Fatal(err)
	}
	p.runUntil("ESTABLISHED", func() bool {
		return p.A().State() == StateEstablished && p.B().State() == StateEstablished
	})
	want := []State{StateClosed, StateSynSent, StateSynReceived, StateEstablished}
	for i := range obs {
		if !equalStates(obs[i].states, want) {
			t.Errorf("side %c went %v, want %v", "AB"[i], obs[i].states, want)
		}
		if p.c[i].Vars().Passive {
			t.Errorf("side %c thinks its open was passive", "AB"[i])
		}
	}
	p.write(0, []byte("ping"))
	p.write(1, []byte("pong"))
	if string(p.got[1]) != "ping" || string(p.got[0]) != "pong" {
		t.Errorf("got %q and %q", p.got[1], p.got[0])
	}
}

// stateLog is an Observer recording the distinct states a Conn passes.
type stateLog struct {
	states []State
	rules  []Rule
}

func (l *stateLog) Transition(_ *Conn, from State, _ Event, rule Rule, to State) {
	if len(l.states) == 0 {
		l.states = append(l.states, from)
	}
	if to != l.states[len(l.states)-1] {
		l.states = append(l.states, to)
	}
	l.rules = append(l.rules, rule)
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// User calls in the wrong state fail with the contract's errors.
func TestCallErrors(t *testing.T) {
	c := NewConn(nil, tupleA)
	if _, err := c.Write(0, []byte("x")); !errors.Is(err, ErrNotExist) {
		t.Errorf("Write in CLOSED: %v, want ErrNotExist", err)
	}
	if _, err := c.Read(0, make([]byte, 1)); !errors.Is(err, ErrNotExist) {
		t.Errorf("Read in CLOSED: %v", err)
	}
	if err := c.Close(0); !errors.Is(err, ErrNotExist) {
		t.Errorf("Close in CLOSED: %v", err)
	}
	if err := c.Listen(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(0); !errors.Is(err, ErrIllegalInState) {
		t.Errorf("Listen in LISTEN: %v, want ErrIllegalInState", err)
	}
	if err := c.Connect(0); !errors.Is(err, ErrIllegalInState) {
		t.Errorf("Connect in LISTEN: %v, want ErrIllegalInState", err)
	}
	if err := c.Close(0); err != nil || c.State() != StateClosed {
		t.Errorf("Close in LISTEN: %v, state %v", err, c.State())
	}

	p := newPair(t, nil, nil)
	p.open()
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	if _, err := p.A().Write(p.now, []byte("late")); !errors.Is(err, ErrClosing) {
		t.Errorf("Write in %v: %v, want ErrClosing", p.A().State(), err)
	}
	if err := p.A().Close(p.now); !errors.Is(err, ErrClosing) {
		t.Errorf("second Close: %v, want ErrClosing", err)
	}
	if n, err := p.B().Read(p.now, make([]byte, 10)); n != 0 || err != nil {
		t.Errorf("Read with nothing there: %d, %v; want 0, nil", n, err)
	}
}

// Write on a LISTEN Conn turns it into an active open (listen_send), and
// the queued data follows the handshake.
func TestListenSend(t *testing.T) {
	p := newPair(t, nil, nil)
	if err := p.A().Listen(p.now); err != nil {
		t.Fatal(err)
	}
	if err := p.B().Listen(p.now); err != nil {
		t.Fatal(err)
	}
	if n, err := p.A().Write(p.now, []byte("early")); n != 5 || err != nil {
		t.Fatalf("Write in LISTEN: %d, %v", n, err)
	}
	if p.A().State() != StateSynSent {
		t.Fatalf("A in %v after Write in LISTEN", p.A().State())
	}
	p.runUntil("data", func() bool { return string(p.got[1]) == "early" })
}
