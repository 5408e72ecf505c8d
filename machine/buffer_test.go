package machine

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The ring against a plain slice model: appends, reads, consumes, growth
// while wrapped, and slice never crossing the end.
func TestRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const limit = 20000
	var r ring
	var model []byte
	for i := 0; i < 20000; i++ {
		switch rng.IntN(3) {
		case 0: // append
			k := min(rng.IntN(3000), limit-r.n)
			p := pattern(k, byte(i))
			r.reserve(r.n+k, r.n, limit)
			r.write(r.n, p)
			r.n += k
			model = append(model, p...)
		case 1: // consume
			k := rng.IntN(r.n + 1)
			got := make([]byte, k)
			r.read(0, got)
			if !bytes.Equal(got, model[:k]) {
				t.Fatalf("step %d: read differs", i)
			}
			r.consume(k)
			model = model[k:]
		case 2: // slice
			if r.n == 0 {
				continue
			}
			off := rng.IntN(r.n)
			s := r.slice(off, r.n-off)
			if len(s) == 0 || !bytes.Equal(s, model[off:off+len(s)]) {
				t.Fatalf("step %d: slice differs", i)
			}
		}
		if r.n != len(model) || len(r.buf) > limit {
			t.Fatalf("step %d: n %d, model %d, storage %d", i, r.n, len(model), len(r.buf))
		}
		if k := r.appendTo(nil, 0, r.n); !bytes.Equal(k, model) {
			t.Fatalf("step %d: contents differ", i)
		}
	}
	var cp ring
	r.copyTo(&cp, r.n)
	if !bytes.Equal(cp.appendTo(nil, 0, cp.n), model) {
		t.Fatal("copy differs")
	}
}

// Held out-of-order ranges merge and join correctly whatever the order.
func TestReassemblyRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for run := 0; run < 200; run++ {
		c := NewConn(&Config{RcvBuf: 1 << 16}, tupleA)
		c.state = StateEstablished
		base := uint32(1<<32 - 3000) // across the wrap
		c.t.rcvNxt, c.t.irsValid, c.t.rcvAdv = base, true, base+1<<16
		data := pattern(10000, byte(run))
		type piece struct{ off, n int }
		var pieces []piece
		for off := 0; off < len(data); {
			n := 1 + rng.IntN(700)
			n = min(n, len(data)-off)
			pieces = append(pieces, piece{off, n})
			// Overlaps and duplicates too.
			if rng.IntN(4) == 0 && off > 50 {
				pieces = append(pieces, piece{off - 50, min(100, len(data)-off+50)})
			}
			off += n
		}
		rng.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
		for _, pc := range pieces {
			seg := Segment{Seq: base + uint32(pc.off), Flags: ACK, Payload: data[pc.off : pc.off+pc.n]}
			c.Input(0, &seg)
			c.ClearOutbox()
			for i := 1; i < c.t.ooo.n; i++ {
				if !SeqLT(c.t.ooo.r[i-1].end, c.t.ooo.r[i].start) {
					t.Fatalf("ranges overlap or touch: %v", c.t.ooo.r[:c.t.ooo.n])
				}
			}
		}
		got := make([]byte, len(data)+1)
		n, _ := c.Read(0, got)
		if c.t.ooo.n == 0 && n == len(data) {
			if !bytes.Equal(got[:n], data) {
				t.Fatal("reassembled data differs")
			}
			continue
		}
		// More than maxOOO holes at once drops text: what was read is
		// still an exact prefix.
		if !bytes.Equal(got[:n], data[:n]) {
			t.Fatal("prefix differs")
		}
	}
}
