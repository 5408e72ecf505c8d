package machine

import (
	"bytes"
	"testing"
)

// CopyTo makes an independent Conn that behaves exactly like the original:
// fed the same inputs, both emit the same segments and keep equal keys.
func TestCopyToBehavesAlike(t *testing.T) {
	p := newPair(t, &Config{ISNKey: [16]byte{1}, RcvBuf: 10000}, nil)
	p.open()
	p.eager = false
	p.write(1, pattern(3000, 4)) // A holds unread text
	// Out-of-order text on A, so the reassembly ranges are copied too.
	p.B().Write(p.now, pattern(4000, 5))
	out := p.collect(1)
	if len(out) < 2 {
		t.Fatalf("want several segments, got %d", len(out))
	}
	p.A().Input(p.now, &out[1].seg)
	p.A().ClearOutbox()
	if p.A().t.ooo.n == 0 {
		t.Fatal("no out-of-order text held")
	}
	p.A().Write(p.now, []byte("unacknowledged"))

	orig := p.A()
	cp := NewConn(nil, Tuple{})
	orig.CopyTo(cp)
	if !bytes.Equal(orig.AppendKey(nil), cp.AppendKey(nil)) {
		t.Fatal("copy has a different key")
	}
	if len(cp.Outbox()) != len(orig.Outbox()) || len(cp.Outbox()) == 0 {
		t.Fatal("outbox not copied")
	}
	// The copy's payloads alias its own buffer, not the original's.
	for i, s := range cp.Outbox() {
		if len(s.Payload) > 0 && &s.Payload[0] == &orig.Outbox()[i].Payload[0] {
			t.Fatal("copied payload aliases the original's buffer")
		}
	}
	// Same inputs, same outputs.
	inputs := append([]wire(nil), out[0])
	inputs = append(inputs, out[2:]...)
	for _, w := range inputs {
		s1, s2 := w.seg, w.seg
		r1, r2 := orig.Input(p.now, &s1), cp.Input(p.now, &s2)
		if r1 != r2 {
			t.Fatalf("rules differ: %v vs %v", r1, r2)
		}
		if !bytes.Equal(orig.AppendKey(nil), cp.AppendKey(nil)) {
			t.Fatal("keys diverged")
		}
	}
	b1, b2 := make([]byte, 10000), make([]byte, 10000)
	n1, _ := orig.Read(p.now, b1)
	n2, _ := cp.Read(p.now, b2)
	if n1 != n2 || !bytes.Equal(b1[:n1], b2[:n2]) || n1 != 7000 {
		t.Fatalf("reads differ or short: %d vs %d", n1, n2)
	}
	// Mutating the copy leaves the original alone.
	before := orig.AppendKey(nil)
	cp.Abort(p.now)
	if !bytes.Equal(before, orig.AppendKey(nil)) {
		t.Fatal("the copy shares state with the original")
	}
}

// The key tells apart what matters and ignores where a ring's head is.
func TestAppendKey(t *testing.T) {
	p := newPair(t, nil, nil)
	p.open()
	a := p.A()
	k0 := a.AppendKey(nil)
	a.Write(p.now, []byte("x"))
	if bytes.Equal(k0, a.AppendKey(nil)) {
		t.Fatal("sending data did not change the key")
	}
	c := NewConn(nil, Tuple{})
	a.CopyTo(c)
	c.snd.head = (c.snd.head + 100) % len(c.snd.buf)
	c.snd.write(0, []byte("x"))
	c.outbox = c.outbox[:0]
	a.ClearOutbox()
	if !bytes.Equal(a.AppendKey(nil), c.AppendKey(nil)) {
		t.Fatal("the ring's layout leaks into the key")
	}
}

// Once the destination is warm, CopyTo does not allocate.
func TestCopyToNoAlloc(t *testing.T) {
	p := newPair(t, nil, nil)
	p.open()
	p.eager = false
	p.write(1, pattern(20000, 1))
	p.A().Write(p.now, pattern(3000, 2))
	dst := NewConn(nil, Tuple{})
	p.A().CopyTo(dst)
	if n := testing.AllocsPerRun(100, func() { p.A().CopyTo(dst) }); n != 0 {
		t.Fatalf("CopyTo allocates %v times", n)
	}
	key := make([]byte, 0, 1<<16)
	if n := testing.AllocsPerRun(100, func() { key = p.A().AppendKey(key[:0]) }); n != 0 {
		t.Fatalf("AppendKey allocates %v times", n)
	}
}

func BenchmarkCopyTo(b *testing.B) {
	p := newPair(b, nil, nil)
	p.open()
	p.A().Write(p.now, pattern(1000, 2))
	dst := NewConn(nil, Tuple{})
	b.ReportAllocs()
	for b.Loop() {
		p.A().CopyTo(dst)
	}
}
