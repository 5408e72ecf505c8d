package machine

import (
	"testing"
	"time"
)

// delackPair is an established pair with delayed ACKs and no quick-ACK
// phase, and Nagle off, time stopped.
func delackPair(t *testing.T) *pair {
	t.Helper()
	a := &Config{ISNKey: [16]byte{1}, QuickACKs: -1, NoDelay: true}
	b := &Config{ISNKey: [16]byte{2}, QuickACKs: -1, NoDelay: true}
	return established(t, a, b)
}

// In-order text waits DelayedACK (40 ms) for its ACK, which rule
// any_delack then sends; the second full-sized segment is ACKed at once
// (RFC 5681 4.2, RFC 9293 3.8.6.3).
func TestDelayedACK(t *testing.T) {
	p := delackPair(t)
	a, b := p.A(), p.B()
	a.Write(p.now, []byte("request"))
	seg := a.Outbox()[0]
	a.ClearOutbox()
	b.Input(p.now, &seg)
	if n := len(b.Outbox()); n != 0 {
		t.Fatalf("in-order text ACKed at once: %v", b.Outbox())
	}
	at, ok := b.NextDeadline()
	if !ok || at != p.now+DefaultDelayedACK {
		t.Fatalf("next deadline %v (%v), want now + %v", at, ok, DefaultDelayedACK)
	}
	b.Tick(at)
	if out := b.Outbox(); len(out) != 1 || out[0].Flags != ACK || out[0].Ack != seg.Seq+7 {
		t.Fatalf("after the delayed-ACK timer: %v, want one ACK of %d", out, seg.Seq+7)
	}
	b.ClearOutbox()

	// Two full-sized segments: the second is ACKed at once.
	mss := int(b.rcvEffMSS())
	a.Write(p.now, make([]byte, 2*mss))
	out := append([]Segment(nil), a.Outbox()...)
	a.ClearOutbox()
	b.Input(p.now, &out[0])
	if len(b.Outbox()) != 0 {
		t.Fatalf("the first full segment ACKed at once")
	}
	b.Input(p.now, &out[1])
	if o := b.Outbox(); len(o) != 1 || o[0].Ack != out[1].Seq+uint32(mss) {
		t.Fatalf("after the second full segment: %v, want its ACK", o)
	}
}

// A reply written within the delay carries the ACK: one segment each way
// for a request and its response.
func TestDelayedACKPiggybacks(t *testing.T) {
	p := delackPair(t)
	a, b := p.A(), p.B()
	// B's first segment after its SYN+ACK announces its whole (scaled)
	// window, a window update of its own; let one go by.
	p.write(1, []byte("hello"))
	p.flush()
	p.now += time.Second
	a.Write(p.now, []byte("GET /"))
	req := a.Outbox()[0]
	a.ClearOutbox()
	b.Input(p.now, &req)
	b.Read(p.now+time.Millisecond, make([]byte, 64))
	b.Write(p.now+time.Millisecond, []byte("200 OK"))
	out := b.Outbox()
	if len(out) != 1 || len(out[0].Payload) != 6 || out[0].Ack != req.Seq+5 {
		t.Fatalf("response: %v, want one segment with the text that ACKs the request", out)
	}
	if _, ok := b.NextDeadline(); ok && b.t.isArmed(timerDelACK) {
		t.Fatal("the delayed-ACK timer still runs after the ACK went out")
	}
}

// Nagle (RFC 9293 3.7.4): with text unacknowledged, a short segment waits
// for the ACK; SetNoDelay(true) lets it go at the next event.
func TestNagle(t *testing.T) {
	a := &Config{ISNKey: [16]byte{1}, DelayedACK: -1}
	b := &Config{ISNKey: [16]byte{2}, DelayedACK: -1}
	p := established(t, a, b)
	ca := p.A()
	ca.Write(p.now, []byte("first"))
	if n := len(ca.Outbox()); n != 1 {
		t.Fatalf("the first short segment: %d sent, want 1 (nothing outstanding)", n)
	}
	first := ca.Outbox()[0]
	ca.ClearOutbox()
	ca.Write(p.now, []byte("second"))
	if n := len(ca.Outbox()); n != 0 {
		t.Fatalf("a short segment went out with text unacknowledged: %v", ca.Outbox())
	}
	p.B().Input(p.now, &first)
	ack := p.B().Outbox()[0]
	ca.Input(p.now, &ack)
	if o := ca.Outbox(); len(o) != 1 || string(o[0].Payload) != "second" {
		t.Fatalf("after the ACK: %v, want the held text", o)
	}
	ca.ClearOutbox()
	ca.Write(p.now, []byte("third"))
	if n := len(ca.Outbox()); n != 0 {
		t.Fatal("Nagle off too early")
	}
	ca.SetNoDelay(true)
	ca.Write(p.now, nil)
	if o := ca.Outbox(); len(o) != 1 || string(o[0].Payload) != "third" {
		t.Fatalf("after SetNoDelay(true): %v, want the held text", o)
	}
}
