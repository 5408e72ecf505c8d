package machine

import (
	"testing"
	"time"
)

// BenchmarkConnInput is one in-order data segment arriving in ESTABLISHED:
// classify, step (process_ack, accept_text), the ACK it sends, and the
// application reading the text. It must not allocate.
func BenchmarkConnInput(b *testing.B) {
	for _, size := range []int{0, 100, 1460} {
		b.Run(sizeName(size), func(b *testing.B) {
			c, seg := benchEstablished(b)
			payload := pattern(size, 3)
			seg.Payload = payload
			seg.Flags = ACK
			if size > 0 {
				seg.Flags |= PSH
			}
			buf := make([]byte, 2048)
			now := time.Duration(time.Hour)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				s := seg
				if c.Input(now, &s) == RuleNone {
					b.Fatal("no rule")
				}
				if size > 0 {
					c.Read(now, buf)
				}
				c.ClearOutbox()
				seg.Seq += uint32(size)
			}
			if c.State() != StateEstablished {
				b.Fatalf("left ESTABLISHED: %v", c.State())
			}
		})
	}
}

func sizeName(n int) string {
	switch n {
	case 0:
		return "ack"
	case 100:
		return "100B"
	}
	return "1460B"
}

// benchEstablished returns a Conn in ESTABLISHED (passive side) and a
// segment template from its peer at RCV.NXT acknowledging SND.NXT.
func benchEstablished(b *testing.B) (*Conn, Segment) {
	b.Helper()
	p := newPair(b, nil, nil)
	p.open()
	if p.B().State() != StateEstablished {
		b.Fatal("handshake failed")
	}
	// Warm the buffers.
	p.write(0, pattern(100000, 1))
	p.write(1, pattern(100000, 2))
	v := p.B().Vars()
	return p.B(), Segment{Seq: v.RcvNxt, Ack: v.SndNxt, Window: MaxWindow}
}

// BenchmarkConnBulk moves 1 MiB from A to B over the loopback harness
// (without copying segments): sending, ACK processing, receiving, reading.
func BenchmarkConnBulk(b *testing.B) {
	p := newPair(b, nil, nil)
	p.open()
	data := pattern(1<<20, 9)
	buf := make([]byte, 64<<10)
	a, c := p.A(), p.B()
	var scratch []Segment
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := 0
		read := 0
		for read < len(data) {
			if w < len(data) {
				n, _ := a.Write(p.now, data[w:])
				w += n
			}
			scratch = append(scratch[:0], a.Outbox()...)
			for i := range scratch {
				c.Input(p.now, &scratch[i])
			}
			a.ClearOutbox()
			for {
				n, _ := c.Read(p.now, buf)
				read += n
				if n == 0 {
					break
				}
			}
			scratch = append(scratch[:0], c.Outbox()...)
			c.ClearOutbox()
			for i := range scratch {
				a.Input(p.now, &scratch[i])
			}
		}
	}
}
