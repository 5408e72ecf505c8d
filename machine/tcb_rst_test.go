package machine

import (
	"errors"
	"testing"
	"time"
)

// established returns a pair after the handshake and the two Conns' vars.
func established(t *testing.T, a, b *Config) *pair {
	t.Helper()
	p := newPair(t, a, b)
	p.open()
	return p
}

// An RST with SEG.SEQ == RCV.NXT resets the connection (invariant 14).
func TestRstExact(t *testing.T) {
	p := established(t, nil, nil)
	v := p.A().Vars()
	rst := Segment{Seq: v.RcvNxt, Flags: RST}
	if r := p.A().Input(p.now, &rst); r != RuleSyncRcvRst {
		t.Fatalf("rule %v, want sync_rcv_rst", r)
	}
	if p.A().State() != StateClosed || !errors.Is(p.A().Err(), ErrReset) {
		t.Fatalf("state %v err %v; want CLOSED, ErrReset", p.A().State(), p.A().Err())
	}
	if len(p.A().Outbox()) != 0 {
		t.Fatalf("answered a RST: %v", p.A().Outbox())
	}
	checkVars(t, p.A())
	if _, err := p.A().Write(p.now, []byte("x")); !errors.Is(err, ErrNotExist) {
		t.Errorf("Write after reset: %v", err)
	}
}

// An in-window RST that is not exact gets one challenge ACK and changes
// nothing; an out-of-window RST is dropped silently (invariant 14).
func TestRstInWindowAndOld(t *testing.T) {
	p := established(t, nil, nil)
	c := p.A()
	before := c.Vars()
	key := c.AppendKey(nil)
	rst := Segment{Seq: before.RcvNxt + 100, Flags: RST}
	if r := c.Input(p.now, &rst); r != RuleSyncRcvRstWindow {
		t.Fatalf("in-window RST: rule %v", r)
	}
	out := c.Outbox()
	if len(out) != 1 || out[0].Flags != ACK || out[0].Seq != before.SndNxt || out[0].Ack != before.RcvNxt {
		t.Fatalf("challenge ACK %v; want ACK seq=%d ack=%d", out, before.SndNxt, before.RcvNxt)
	}
	c.ClearOutbox()
	if c.State() != StateEstablished || c.Vars() != before {
		t.Fatalf("in-window RST changed the connection: %v %+v", c.State(), c.Vars())
	}
	for _, seq := range []uint32{before.RcvNxt - 1, before.RcvNxt + before.RcvWnd, before.RcvNxt + 1<<31} {
		old := Segment{Seq: seq, Flags: RST | ACK, Ack: before.SndNxt}
		if r := c.Input(p.now, &old); r != RuleSyncRcvRstOld {
			t.Fatalf("RST seq=%d (RCV.NXT %d, RCV.WND %d): rule %v, want sync_rcv_rst_old", seq, before.RcvNxt, before.RcvWnd, r)
		}
		if len(c.Outbox()) != 0 {
			t.Fatalf("out-of-window RST answered: %v", c.Outbox())
		}
	}
	// Nothing but the challenge-ACK budget moved.
	if c.State() != StateEstablished || c.Vars() != before {
		t.Fatal("out-of-window RST changed the connection")
	}
	if string(key[:2]) != string(c.AppendKey(nil)[:2]) {
		t.Fatal("state or error changed")
	}
}

// A SYN in a synchronized state gets a challenge ACK (RFC 5961 4.2) and the
// connection stays.
func TestSynInEstablished(t *testing.T) {
	p := established(t, nil, nil)
	c := p.B()
	v := c.Vars()
	syn := Segment{Seq: v.RcvNxt + 5, Flags: SYN, Window: 1000}
	if r := c.Input(p.now, &syn); r != RuleSyncRcvSyn {
		t.Fatalf("rule %v", r)
	}
	if out := c.Outbox(); len(out) != 1 || out[0].Flags != ACK || out[0].Ack != v.RcvNxt {
		t.Fatalf("reply %v", out)
	}
	if c.State() != StateEstablished || c.Vars() != v {
		t.Fatal("SYN changed the connection")
	}
}

// Challenge ACKs are limited per connection (invariant 15): one Conn
// exhausting its budget does not silence another, and the budget refills
// after a second.
func TestChallengeACKLimit(t *testing.T) {
	cfg := &Config{ISNKey: [16]byte{1}, ChallengeACKs: 3}
	p1 := established(t, cfg, nil)
	p2 := established(t, cfg, nil) // shares the Config, as Conns of one stack do
	count := func(p *pair, n int) int {
		c := p.A()
		c.ClearOutbox()
		for i := 0; i < n; i++ {
			rst := Segment{Seq: c.Vars().RcvNxt + 1, Flags: RST}
			c.Input(p.now, &rst)
		}
		k := len(c.Outbox())
		c.ClearOutbox()
		return k
	}
	if k := count(p1, 10); k != 3 {
		t.Fatalf("first connection: %d challenge ACKs for 10 RSTs, want 3", k)
	}
	if k := count(p2, 10); k != 3 {
		t.Fatalf("second connection got %d challenge ACKs: the limit is not per connection", k)
	}
	p1.now += 500 * time.Millisecond
	if k := count(p1, 1); k != 0 {
		t.Fatalf("within the second: %d more", k)
	}
	p1.now += 600 * time.Millisecond
	if k := count(p1, 10); k != 3 {
		t.Fatalf("after a second: %d, want 3 again", k)
	}
}

// RST replies to segments arriving in CLOSED have the RFC 9293 3.10.7.1
// form, and no RST is answered with a RST (invariant 13).
func TestClosedRstForm(t *testing.T) {
	c := NewConn(nil, tupleA)
	cases := []struct {
		in   Segment
		want Segment
	}{
		{Segment{Seq: 1000, Flags: SYN}, Segment{Seq: 0, Ack: 1001, Flags: RST | ACK}},
		{Segment{Seq: 1000, Flags: FIN, Payload: []byte("abc")}, Segment{Seq: 0, Ack: 1004, Flags: RST | ACK}},
		{Segment{Seq: 1<<32 - 1, Flags: SYN | FIN}, Segment{Seq: 0, Ack: 1, Flags: RST | ACK}},
		{Segment{Seq: 1000, Ack: 777, Flags: ACK}, Segment{Seq: 777, Flags: RST}},
		{Segment{Seq: 1000, Ack: 777, Flags: ACK | PSH, Payload: []byte("x")}, Segment{Seq: 777, Flags: RST}},
		{Segment{Seq: 1000, Ack: 777, Flags: SYN | ACK}, Segment{Seq: 777, Flags: RST}},
	}
	for _, tc := range cases {
		if r := c.Input(0, &tc.in); r != RuleClosedRcvSegment {
			t.Fatalf("%v: rule %v", tc.in.Flags, r)
		}
		out := c.Outbox()
		if len(out) != 1 || out[0].Seq != tc.want.Seq || out[0].Ack != tc.want.Ack || out[0].Flags != tc.want.Flags || out[0].Window != 0 || len(out[0].Payload) != 0 {
			t.Errorf("reply to %v seq=%d: %+v, want %+v", tc.in.Flags, tc.in.Seq, out, tc.want)
		}
		c.ClearOutbox()
	}
	for _, f := range []Flags{RST, RST | ACK, RST | SYN, RST | FIN | ACK} {
		seg := Segment{Seq: 5, Ack: 6, Flags: f}
		c.Input(0, &seg)
		if len(c.Outbox()) != 0 {
			t.Errorf("answered %v with %v", f, c.Outbox())
		}
	}
	if c.State() != StateClosed {
		t.Fatal("left CLOSED")
	}
	if _, ok := c.NextDeadline(); ok {
		t.Fatal("timer armed in CLOSED")
	}
}

// LISTEN: an ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST is ignored.
func TestListenRst(t *testing.T) {
	c := NewConn(nil, tupleB)
	if err := c.Listen(0); err != nil {
		t.Fatal(err)
	}
	ack := Segment{Seq: 9, Ack: 4242, Flags: ACK}
	if r := c.Input(0, &ack); r != RuleListenRcvAck {
		t.Fatalf("rule %v", r)
	}
	if out := c.Outbox(); len(out) != 1 || out[0].Flags != RST || out[0].Seq != 4242 {
		t.Fatalf("reply %v", out)
	}
	c.ClearOutbox()
	rst := Segment{Seq: 9, Flags: RST}
	if r := c.Input(0, &rst); r != RuleListenRcvRst || len(c.Outbox()) != 0 || c.State() != StateListen {
		t.Fatalf("RST in LISTEN: rule %v, out %v, state %v", r, c.Outbox(), c.State())
	}
}

// SYN-RECEIVED: an exact RST returns a passive open to LISTEN, and closes an
// active (simultaneous) open with ErrRefused (invariant 12).
func TestSynReceivedRst(t *testing.T) {
	// Passive.
	p := newPair(t, nil, nil)
	if err := p.B().Listen(p.now); err != nil {
		t.Fatal(err)
	}
	if err := p.A().Connect(p.now); err != nil {
		t.Fatal(err)
	}
	syn := p.collect(0)
	p.B().Input(p.now, &syn[0].seg)
	if p.B().State() != StateSynReceived {
		t.Fatal(p.B().State())
	}
	rst := Segment{Seq: p.B().Vars().RcvNxt, Flags: RST}
	if r := p.B().Input(p.now, &rst); r != RuleSynRcvdRcvRstPassive || p.B().State() != StateListen {
		t.Fatalf("passive: rule %v state %v", r, p.B().State())
	}
	if p.B().Err() != nil {
		t.Errorf("listener got error %v", p.B().Err())
	}
	if _, ok := p.B().NextDeadline(); ok {
		t.Error("SYN+ACK timer survived the return to LISTEN")
	}

	// Active: simultaneous open.
	q := newPair(t, nil, nil)
	q.A().Connect(q.now)
	q.B().Connect(q.now)
	sb := q.collect(1)
	q.collect(0)
	q.A().Input(q.now, &sb[0].seg)
	if q.A().State() != StateSynReceived {
		t.Fatal(q.A().State())
	}
	rst = Segment{Seq: q.A().Vars().RcvNxt, Flags: RST}
	if r := q.A().Input(q.now, &rst); r != RuleSynRcvdRcvRstActive || q.A().State() != StateClosed {
		t.Fatalf("active: rule %v state %v", r, q.A().State())
	}
	if !errors.Is(q.A().Err(), ErrRefused) {
		t.Errorf("err %v, want ErrRefused", q.A().Err())
	}
}

// SYN-SENT: a RST acknowledging our SYN means refused; one without an
// acceptable ACK is dropped; a bad ACK gets <SEQ=SEG.ACK><CTL=RST>.
func TestSynSentRst(t *testing.T) {
	c := NewConn(&Config{ISNKey: [16]byte{3}}, tupleA)
	if err := c.Connect(0); err != nil {
		t.Fatal(err)
	}
	c.ClearOutbox()
	iss := c.Vars().ISS
	bad := Segment{Seq: 50, Ack: iss + 7, Flags: ACK}
	if r := c.Input(0, &bad); r != RuleSynSentRcvBadAck {
		t.Fatalf("bad ACK: %v", r)
	}
	if out := c.Outbox(); len(out) != 1 || out[0].Flags != RST || out[0].Seq != iss+7 {
		t.Fatalf("reply %v", out)
	}
	c.ClearOutbox()
	for _, s := range []Segment{{Seq: 50, Flags: RST}, {Seq: 50, Ack: iss, Flags: RST | ACK}} {
		if r := c.Input(0, &s); r != RuleSynSentRcvBadRst || len(c.Outbox()) != 0 || c.State() != StateSynSent {
			t.Fatalf("%v ack=%d: rule %v", s.Flags, s.Ack, r)
		}
	}
	rst := Segment{Seq: 0, Ack: iss + 1, Flags: RST | ACK}
	if r := c.Input(0, &rst); r != RuleSynSentRcvRst || c.State() != StateClosed || !errors.Is(c.Err(), ErrRefused) {
		t.Fatalf("refused: rule %v state %v err %v", r, c.State(), c.Err())
	}
	checkVars(t, c)
}

// ABORT in a synchronized state sends <SEQ=SND.NXT><CTL=RST>; the peer's
// exact check accepts it and reports a reset.
func TestAbort(t *testing.T) {
	p := established(t, nil, nil)
	p.write(0, []byte("some data"))
	nxt := p.A().Vars().SndNxt
	p.A().Abort(p.now)
	if p.A().State() != StateClosed || !errors.Is(p.A().Err(), ErrReset) {
		t.Fatalf("A %v %v", p.A().State(), p.A().Err())
	}
	out := p.A().Outbox()
	if len(out) != 1 || out[0].Flags != RST || out[0].Seq != nxt {
		t.Fatalf("abort sent %v", out)
	}
	p.flush()
	if p.B().State() != StateClosed || !errors.Is(p.B().Err(), ErrReset) {
		t.Fatalf("B %v %v", p.B().State(), p.B().Err())
	}
}

// TIME-WAIT and RST: RFC 9293 closes on an exact RST; with the RFC 1337
// option it is ignored.
func TestTimeWaitRst(t *testing.T) {
	for _, opt := range []bool{false, true} {
		cfg := &Config{ISNKey: [16]byte{1}, RFC1337: opt}
		p := established(t, cfg, nil)
		p.A().Close(p.now)
		p.flush()
		p.B().Close(p.now)
		p.flush()
		if p.A().State() != StateTimeWait {
			t.Fatal(p.A().State())
		}
		rst := Segment{Seq: p.A().Vars().RcvNxt, Flags: RST}
		r := p.A().Input(p.now, &rst)
		switch {
		case opt && (r != RuleTimeWaitRcvRst1337 || p.A().State() != StateTimeWait):
			t.Errorf("RFC 1337: rule %v state %v", r, p.A().State())
		case !opt && (r != RuleTimeWaitRcvRst || p.A().State() != StateClosed):
			t.Errorf("RFC 9293: rule %v state %v", r, p.A().State())
		}
	}
}

// TIME-WAIT: a SYN with a higher sequence number opens a new incarnation
// when a listener exists (RFC 6191); otherwise it gets a challenge ACK.
func TestTimeWaitNewIncarnation(t *testing.T) {
	p := established(t, nil, nil)
	// B closes first so B ends in TIME-WAIT, as a server would.
	p.write(1, pattern(3000, 9))
	p.B().Close(p.now)
	p.flush()
	p.A().Close(p.now)
	p.flush()
	if p.B().State() != StateTimeWait {
		t.Fatal(p.B().State())
	}
	old := p.B().Vars()
	syn := Segment{Seq: old.RcvNxt + 100000, Flags: SYN, Window: 5000, MSS: 1000}
	if r := p.B().Input(p.now, &syn); r != RuleTimeWaitRcvSynOld || p.B().State() != StateTimeWait {
		t.Fatalf("no listener: rule %v state %v", r, p.B().State())
	}
	p.B().ClearOutbox()
	p.B().SetAcceptIncarnation(true)
	behind := Segment{Seq: old.RcvNxt - 10, Flags: SYN}
	if r := p.B().Input(p.now, &behind); r != RuleTimeWaitRcvSynOld {
		t.Fatalf("old SYN: rule %v", r)
	}
	p.B().ClearOutbox()
	if r := p.B().Input(p.now, &syn); r != RuleTimeWaitRcvSynNew || p.B().State() != StateSynReceived {
		t.Fatalf("new SYN: rule %v state %v", r, p.B().State())
	}
	v := p.B().Vars()
	if v.IRS != syn.Seq || v.RcvNxt != syn.Seq+1 || !v.Passive || v.MSS != 1000 {
		t.Errorf("new incarnation vars %+v", v)
	}
	if !SeqGEQ(v.ISS, old.SndNxt) {
		t.Errorf("new ISS %d below the old SND.NXT %d", v.ISS, old.SndNxt)
	}
	out := p.B().Outbox()
	if len(out) != 1 || out[0].Flags != SYN|ACK || out[0].Ack != syn.Seq+1 || out[0].Seq != v.ISS {
		t.Errorf("reply %v", out)
	}
}

// User timeout: a peer that never answers is given up after UserTimeout,
// with ErrTimeout; SYN-SENT never lasts forever (invariant 18).
func TestUserTimeout(t *testing.T) {
	cfg := &Config{ISNKey: [16]byte{1}, UserTimeout: 30 * time.Second}
	c := NewConn(cfg, tupleA)
	c.Connect(0)
	now := time.Duration(0)
	syns := 0
	for c.State() != StateClosed {
		syns += len(c.Outbox())
		c.ClearOutbox()
		at, ok := c.NextDeadline()
		if !ok {
			t.Fatal("SYN-SENT with no timer")
		}
		now = at
		c.Tick(now)
	}
	if now != 30*time.Second || !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("closed at %v with %v; want 30s, ErrTimeout", now, c.Err())
	}
	// 1+2+4+8+16 = 31 > 30: the SYN at 0, then at 1, 3, 7, 15 s.
	if syns != 5 {
		t.Errorf("%d SYNs, want 5", syns)
	}
	checkVars(t, c)
}

// FIN-WAIT-2 does not last forever when the peer never closes.
func TestFinWait2Timeout(t *testing.T) {
	cfg := &Config{ISNKey: [16]byte{1}, FinWait2: 7 * time.Second}
	p := established(t, cfg, nil)
	p.A().Close(p.now)
	p.flush()
	if p.A().State() != StateFinWait2 {
		t.Fatal(p.A().State())
	}
	start := p.now
	p.now += 5 * time.Second
	p.write(1, []byte("keepalive-ish data restarts the idle timer"))
	p.runUntil("A CLOSED", func() bool { return p.A().State() == StateClosed })
	if d := p.now - start; d != 12*time.Second {
		t.Errorf("FIN-WAIT-2 gave up after %v, want 5s+7s", d)
	}
	if !errors.Is(p.A().Err(), ErrTimeout) {
		t.Errorf("err %v", p.A().Err())
	}
}
