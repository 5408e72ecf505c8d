package machine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The loopback harness: two Conns that deliver each other's outboxes, with
// time advanced to the next deadline. Tests steer it with a drop filter and
// see every segment in its log.

var (
	tupleA = Tuple{
		LocalAddr: netip.AddrFrom4([4]byte{10, 0, 0, 1}), LocalPort: 40000,
		RemoteAddr: netip.AddrFrom4([4]byte{10, 0, 0, 2}), RemotePort: 80,
	}
	tupleB = Tuple{LocalAddr: tupleA.RemoteAddr, LocalPort: tupleA.RemotePort, RemoteAddr: tupleA.LocalAddr, RemotePort: tupleA.LocalPort}
)

// wire is one segment in flight, with its payload copied.
type wire struct {
	from int // 0: A, 1: B
	seg  Segment
}

func (w wire) String() string {
	return fmt.Sprintf("%c %v seq=%d ack=%d win=%d len=%d", "AB"[w.from], w.seg.Flags, w.seg.Seq, w.seg.Ack, w.seg.Window, len(w.seg.Payload))
}

type pair struct {
	t    testing.TB
	now  time.Duration
	c    [2]*Conn
	cfg  [2]*Config
	drop func(w wire) bool // true: the segment is lost
	sent []wire            // every segment emitted, in order
	got  [2][]byte         // bytes each side read (eager reads)
	eof  [2]bool
	// stranded: bytes left readable when Read failed with ErrClosing.
	stranded [2]int
	// eager: read everything readable after every step.
	eager bool
	rules [2][]Rule
	buf   []byte
}

// newPair builds two CLOSED Conns; nil configs get test defaults: Nagle
// off (as Go's net.TCPConn), so a write goes out whole at once.
func newPair(t testing.TB, a, b *Config) *pair {
	t.Helper()
	if a == nil {
		a = &Config{ISNKey: [16]byte{1}, NoDelay: true}
	}
	if b == nil {
		b = &Config{ISNKey: [16]byte{2}, NoDelay: true}
	}
	p := &pair{t: t, now: time.Hour, cfg: [2]*Config{a, b}, eager: true, buf: make([]byte, 64<<10)}
	p.c[0] = NewConn(a, tupleA)
	p.c[1] = NewConn(b, tupleB)
	return p
}

func (p *pair) A() *Conn { return p.c[0] }
func (p *pair) B() *Conn { return p.c[1] }

// collect takes side i's outbox into the returned wires (payloads copied).
func (p *pair) collect(i int) []wire {
	var out []wire
	for _, s := range p.c[i].Outbox() {
		s.Payload = bytes.Clone(s.Payload)
		w := wire{from: i, seg: s}
		p.sent = append(p.sent, w)
		out = append(out, w)
	}
	p.c[i].ClearOutbox()
	return out
}

// readAll reads what side i has, if eager. Bytes left buffered when a Read
// fails with ErrClosing are counted in stranded (they must never be).
func (p *pair) readAll(i int) {
	if !p.eager {
		return
	}
	for p.c[i].Readable() > 0 || (p.c[i].PeerClosed() && !p.eof[i]) {
		rd := p.c[i].Readable()
		n, err := p.c[i].Read(p.now, p.buf)
		p.got[i] = append(p.got[i], p.buf[:n]...)
		if errors.Is(err, ErrClosing) {
			p.stranded[i] = rd
		}
		if err == io.EOF {
			p.eof[i] = true
		}
		if err != nil || n == 0 {
			break
		}
	}
}

// flush delivers segments both ways until none are in flight. It returns
// the number delivered.
func (p *pair) flush() int {
	p.t.Helper()
	n := 0
	for round := 0; ; round++ {
		if round > 100000 {
			p.t.Fatalf("flush does not settle; last: %v", p.sent[len(p.sent)-1])
		}
		p.readAll(0)
		p.readAll(1)
		ws := append(p.collect(0), p.collect(1)...)
		if len(ws) == 0 {
			return n
		}
		for _, w := range ws {
			if p.drop != nil && p.drop(w) {
				continue
			}
			to := 1 - w.from
			seg := w.seg
			r := p.c[to].Input(p.now, &seg)
			p.rules[to] = append(p.rules[to], r)
			n++
		}
	}
}

// advance moves time to the earliest deadline, fires it, and flushes. It
// reports false when no timer is armed.
func (p *pair) advance() bool {
	p.t.Helper()
	da, oka := p.c[0].NextDeadline()
	db, okb := p.c[1].NextDeadline()
	var at time.Duration
	switch {
	case oka && okb:
		at = min(da, db)
	case oka:
		at = da
	case okb:
		at = db
	default:
		return false
	}
	if at > p.now {
		p.now = at
	}
	p.c[0].Tick(p.now)
	p.c[1].Tick(p.now)
	p.flush()
	return true
}

// runUntil flushes and advances until cond holds.
func (p *pair) runUntil(what string, cond func() bool) {
	p.t.Helper()
	p.flush()
	for i := 0; !cond(); i++ {
		if i > 10000 || !p.advance() {
			p.t.Fatalf("never reached %s: A %v B %v now %v\n%s", what, p.A().State(), p.B().State(), p.now, p.trace(20))
		}
	}
}

// trace is the last n segments sent.
func (p *pair) trace(n int) string {
	var b strings.Builder
	for _, w := range p.sent[max(0, len(p.sent)-n):] {
		fmt.Fprintln(&b, w)
	}
	return b.String()
}

// open runs a handshake: B listens, A connects.
func (p *pair) open() {
	p.t.Helper()
	if err := p.B().Listen(p.now); err != nil {
		p.t.Fatal(err)
	}
	if err := p.A().Connect(p.now); err != nil {
		p.t.Fatal(err)
	}
	p.runUntil("ESTABLISHED", func() bool {
		return p.A().State() == StateEstablished && p.B().State() == StateEstablished
	})
}

// write queues all of data on side i, pumping the network as the send
// buffer fills.
func (p *pair) write(i int, data []byte) {
	p.t.Helper()
	for len(data) > 0 {
		n, err := p.c[i].Write(p.now, data)
		if err != nil {
			p.t.Fatalf("write on %c: %v", "AB"[i], err)
		}
		data = data[n:]
		if p.flush() == 0 && n == 0 && !p.advance() {
			p.t.Fatalf("write on %c stalls", "AB"[i])
		}
	}
	p.flush()
}

// segs returns the sent segments matching f.
func (p *pair) segs(f func(w wire) bool) []wire {
	var out []wire
	for _, w := range p.sent {
		if f(w) {
			out = append(out, w)
		}
	}
	return out
}

// pattern is n deterministic bytes.
func pattern(n int, salt byte) []byte {
	b := make([]byte, n)
	x := uint32(salt) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// checkVars asserts invariant 3 on c.
func checkVars(t *testing.T, c *Conn) {
	t.Helper()
	v := c.Vars()
	if c.State() == StateClosed {
		if v != (Vars{}) {
			t.Fatalf("CLOSED with a TCB: %+v", v)
		}
		if _, ok := c.NextDeadline(); ok {
			t.Fatal("CLOSED with a timer armed")
		}
		return
	}
	if c.State() >= StateSynSent && !(SeqLEQ(v.SndUna, v.SndNxt) && SeqLEQ(v.SndNxt, v.SndUna+max(v.SndWnd, 1))) {
		t.Fatalf("%v: SND.UNA %d SND.NXT %d SND.WND %d break invariant 3", c.State(), v.SndUna, v.SndNxt, v.SndWnd)
	}
}

// window is the window in bytes seg, sent by side i, announces: its field
// scaled by that side's shift, except on a SYN.
func (p *pair) window(i int, seg *Segment) uint32 {
	if seg.Flags&SYN != 0 {
		return uint32(seg.Window)
	}
	return uint32(seg.Window) << p.c[i].t.rcvShift
}
