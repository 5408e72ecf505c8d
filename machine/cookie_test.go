package machine

import (
	"bytes"
	"testing"
	"time"
)

// A listener with SYN cookies answers the SYN and keeps nothing (LISTEN,
// no timer); the returning ACK makes the connection, with the MSS the
// cookie encoded and the options the timestamp carried; data flows both
// ways.
func TestSynCookieHandshake(t *testing.T) {
	for _, opts := range []bool{true, false} {
		a := &Config{ISNKey: [16]byte{1}, NoDelay: true, MSS: 1400, NoTimestamps: !opts, NoWindowScale: !opts, NoSACK: !opts}
		b := &Config{ISNKey: [16]byte{2}, NoDelay: true, SYNCookies: true}
		p := newPair(t, a, b)
		p.B().Listen(p.now)
		p.A().Connect(p.now)
		syn := p.collect(0)[0]
		if r := p.B().Input(p.now, &syn.seg); r != RuleListenRcvSynCookie {
			t.Fatalf("rule %v, want listen_rcv_syn_cookie", r)
		}
		if _, armed := p.B().NextDeadline(); p.B().State() != StateListen || armed {
			t.Fatalf("after the cookie SYN+ACK: %v, timer %v; want LISTEN with no timer", p.B().State(), armed)
		}
		synack := p.collect(1)[0]
		p.A().Input(p.now, &synack.seg)
		ack := p.collect(0)[0]
		if r := p.B().Input(p.now, &ack.seg); r != RuleListenRcvCookieAck {
			t.Fatalf("rule %v, want listen_rcv_cookie_ack", r)
		}
		va, vb := p.A().Vars(), p.B().Vars()
		want := uint16(1400)
		if opts {
			want -= 12
		}
		if p.B().State() != StateEstablished || vb.MSS != want || vb.ISS != synack.seg.Seq || vb.IRS != syn.seg.Seq {
			t.Fatalf("B %v MSS %d ISS %d IRS %d; want ESTABLISHED, MSS %d, ISS %d, IRS %d", p.B().State(), vb.MSS, vb.ISS, vb.IRS, want, synack.seg.Seq, syn.seg.Seq)
		}
		if vb.Opts != va.Opts || vb.SndShift != va.RcvShift || vb.RcvShift != va.SndShift {
			t.Fatalf("options: A %v shifts %d/%d, B %v %d/%d", va.Opts, va.SndShift, va.RcvShift, vb.Opts, vb.SndShift, vb.RcvShift)
		}
		p.write(0, pattern(50000, 1))
		p.write(1, pattern(50000, 2))
		p.flush()
		if !bytes.Equal(p.got[1], pattern(50000, 1)) || !bytes.Equal(p.got[0], pattern(50000, 2)) {
			t.Fatalf("data over a cookie connection: got %d and %d bytes", len(p.got[1]), len(p.got[0]))
		}
	}
}

// An ACK whose cookie is wrong, or too old, is answered with an RST and
// makes no connection; without cookies in use, even a valid one is.
func TestSynCookieForged(t *testing.T) {
	b := NewConn(&Config{ISNKey: [16]byte{2}, SYNCookies: true}, tupleB)
	b.Listen(0)
	syn := Segment{Seq: 1000, Flags: SYN, Window: 1000, MSS: 1460}
	b.Input(0, &syn)
	cookie := b.Outbox()[0].Seq
	b.ClearOutbox()
	for _, tc := range []struct {
		name string
		ack  Segment
		at   int64 // cookie periods later
	}{
		{"wrong cookie", Segment{Seq: 1001, Ack: cookie + 2, Flags: ACK, Window: 100}, 0},
		{"wrong sequence number", Segment{Seq: 1002, Ack: cookie + 1, Flags: ACK, Window: 100}, 0},
		{"too old", Segment{Seq: 1001, Ack: cookie + 1, Flags: ACK, Window: 100}, 2},
	} {
		now := cookiePeriod * time.Duration(tc.at)
		if r := b.Input(now, &tc.ack); r != RuleListenRcvAck || b.State() != StateListen {
			t.Errorf("%s: rule %v, state %v; want listen_rcv_ack, LISTEN", tc.name, r, b.State())
		}
		if out := b.Outbox(); len(out) != 1 || out[0].Flags != RST {
			t.Errorf("%s: answer %v, want an RST", tc.name, out)
		}
		b.ClearOutbox()
	}
	ok := Segment{Seq: 1001, Ack: cookie + 1, Flags: ACK, Window: 100}
	c := NewConn(&Config{ISNKey: [16]byte{2}}, tupleB)
	c.Listen(0)
	if r := c.Input(0, &ok); r != RuleListenRcvAck {
		t.Errorf("a valid cookie with cookies off: rule %v, want listen_rcv_ack", r)
	}
	// A listener's clock does not go back (Conn.advance): a fresh one
	// with the same key checks the cookie one period on.
	b2 := NewConn(&Config{ISNKey: [16]byte{2}, SYNCookies: true}, tupleB)
	b2.Listen(0)
	if r := b2.Input(cookiePeriod, &ok); r != RuleListenRcvCookieAck {
		t.Errorf("a valid cookie one period later: rule %v, want listen_rcv_cookie_ack", r)
	}
}
