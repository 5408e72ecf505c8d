package machine

import (
	"errors"
	"testing"
	"time"
)

// Keepalive (RFC 1122 4.2.3.6): an idle connection probes after Idle with
// <SEQ=SND.NXT-1>; the peer's answer starts the idle time again; with the
// peer gone, Count probes Interval apart go unanswered and the connection
// ends with ErrTimeout Idle + Count*Interval after the peer was last heard.
func TestKeepalive(t *testing.T) {
	ka := KeepAlive{Enable: true, Idle: 10 * time.Second, Interval: time.Second, Count: 3}
	a := &Config{ISNKey: [16]byte{1}, KeepAlive: ka}
	p := established(t, a, nil)
	heard := p.now
	at, ok := p.A().NextDeadline()
	if !ok || at != heard+ka.Idle {
		t.Fatalf("keepalive deadline %v (%v), want %v", at, ok, heard+ka.Idle)
	}
	before := len(p.sent)
	p.advance() // the probe, answered
	probe := p.sent[before]
	v := p.A().Vars()
	if probe.from != 0 || probe.seg.Seq != v.SndNxt-1 || probe.seg.Flags != ACK || len(probe.seg.Payload) != 0 {
		t.Fatalf("probe %v, want an empty ACK with SEQ=SND.NXT-1=%d", probe, v.SndNxt-1)
	}
	if at, _ := p.A().NextDeadline(); at != p.now+ka.Idle {
		t.Fatalf("after the answer the next probe is due at %v, want %v (Idle again)", at, p.now+ka.Idle)
	}
	// The peer vanishes.
	p.drop = func(wire) bool { return true }
	heard = p.now
	probes := 0
	for p.A().State() == StateEstablished {
		n := len(p.sent)
		if !p.advance() {
			t.Fatal("no timer armed while the peer is silent")
		}
		if len(p.sent) > n && p.sent[n].from == 0 {
			probes++
		}
	}
	if !errors.Is(p.A().Err(), ErrTimeout) || p.A().State() != StateClosed {
		t.Fatalf("state %v err %v, want CLOSED, ErrTimeout", p.A().State(), p.A().Err())
	}
	if want := heard + ka.Idle + time.Duration(ka.Count)*ka.Interval; p.now != want || probes != ka.Count {
		t.Fatalf("given up at %v after %d probes, want %v after %d", p.now, probes, want, ka.Count)
	}
}

// Keepalive is off by default, and stays quiet while text is in flight
// (the retransmission timer watches the peer then).
func TestKeepaliveOffAndBusy(t *testing.T) {
	p := established(t, nil, nil)
	if _, ok := p.A().NextDeadline(); ok {
		t.Fatal("a timer runs on an idle connection without keepalive")
	}
	p.A().SetKeepAlive(p.now, KeepAlive{Enable: true, Idle: time.Second})
	if at, ok := p.A().NextDeadline(); !ok || at != p.now+time.Second {
		t.Fatalf("after SetKeepAlive: deadline %v (%v)", at, ok)
	}
	p.eager = false
	p.A().Write(p.now, []byte("x"))
	if p.A().t.isArmed(timerKeepalive) {
		t.Fatal("keepalive armed with text in flight")
	}
}
