package machine

import (
	"errors"
	"testing"
	"time"
)

// A passive open whose SYN+ACKs are never answered (a spoofed SYN) ends at
// HandshakeTimeout after the SYN, through the user timeout, not after the
// full UserTimeout.
func TestHandshakeTimeoutSynReceived(t *testing.T) {
	const hs, user = 20 * time.Second, 10 * time.Minute
	cfg := &Config{ISNKey: [16]byte{7}, HandshakeTimeout: hs, UserTimeout: user}
	c := NewConn(cfg, tupleB)
	start := time.Hour
	if err := c.Listen(start); err != nil {
		t.Fatal(err)
	}
	syn := Segment{Seq: 1000, Flags: SYN, Window: 65535, MSS: 1460}
	c.Input(start, &syn)
	if c.State() != StateSynReceived {
		t.Fatalf("after SYN: %v, want SYN-RECEIVED", c.State())
	}
	now, synacks, rules := start, 0, []Rule(nil)
	log := &handshakeRuleLog{rules: &rules}
	cfg.Observer = log
	for c.State() != StateClosed {
		for _, s := range c.Outbox() {
			if s.Flags == SYN|ACK {
				synacks++
			}
		}
		c.ClearOutbox()
		at, ok := c.NextDeadline()
		if !ok {
			t.Fatalf("SYN-RECEIVED with no timer at %v", now-start)
		}
		if at-start > user {
			t.Fatalf("next deadline %v after the SYN, past the user timeout", at-start)
		}
		now = at
		c.Tick(now)
	}
	if got := now - start; got != hs {
		t.Errorf("closed %v after the SYN; want HandshakeTimeout %v", got, hs)
	}
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Errorf("err %v, want ErrTimeout", c.Err())
	}
	if len(rules) == 0 || rules[len(rules)-1] != RuleAnyUserTimeout {
		t.Errorf("rules %v; want the last to be any_user_timeout", rules)
	}
	if synacks < 2 {
		t.Errorf("%d SYN+ACKs sent; want the retransmissions before giving up", synacks)
	}
}

// The handshake bound never lengthens the user timeout: a UserTimeout
// shorter than HandshakeTimeout still ends the handshake first.
func TestHandshakeTimeoutCappedByUserTimeout(t *testing.T) {
	cfg := &Config{ISNKey: [16]byte{8}, HandshakeTimeout: time.Minute, UserTimeout: 9 * time.Second}
	c := NewConn(cfg, tupleA)
	if err := c.Connect(0); err != nil {
		t.Fatal(err)
	}
	now := time.Duration(0)
	for c.State() != StateClosed {
		c.ClearOutbox()
		at, ok := c.NextDeadline()
		if !ok {
			t.Fatal("SYN-SENT with no timer")
		}
		now = at
		c.Tick(now)
	}
	if now != 9*time.Second || !errors.Is(c.Err(), ErrTimeout) {
		t.Errorf("closed at %v with %v; want 9s, ErrTimeout", now, c.Err())
	}
}

// Once established, the user timeout is UserTimeout again, even when it is
// far longer than HandshakeTimeout: data unacknowledged for longer than
// HandshakeTimeout does not end the connection.
func TestHandshakeTimeoutSparesEstablished(t *testing.T) {
	const hs, user = 5 * time.Second, 2 * time.Minute
	a := &Config{ISNKey: [16]byte{1}, HandshakeTimeout: hs, UserTimeout: user}
	b := &Config{ISNKey: [16]byte{2}, HandshakeTimeout: hs, UserTimeout: user}
	p := newPair(t, a, b)
	p.open()
	// From now on every segment A sends is lost.
	p.drop = func(w wire) bool { return w.from == 0 }
	p.write(0, []byte("never acknowledged"))
	p.flush()
	sent := p.now
	p.runUntil("A CLOSED", func() bool { return p.A().State() == StateClosed })
	if got := p.now - sent; got != user {
		t.Errorf("established connection timed out %v after the write; want UserTimeout %v", got, user)
	}
	if !errors.Is(p.A().Err(), ErrTimeout) {
		t.Errorf("err %v, want ErrTimeout", p.A().Err())
	}
}

// handshakeRuleLog records the rules a Conn takes.
type handshakeRuleLog struct{ rules *[]Rule }

func (l *handshakeRuleLog) Transition(_ *Conn, _ State, _ Event, rule Rule, _ State) {
	*l.rules = append(*l.rules, rule)
}
