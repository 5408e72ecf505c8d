package trace

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// The scenarios below run two machine.Conns against each other with time
// as an argument and record every segment that crosses, in order, as a
// capture: clean captures of a spec-following TCP, for the trace to
// explain without a deviation and for the corruptions to spoil.

var (
	simA = netip.MustParseAddr("10.1.0.1")
	simB = netip.MustParseAddr("10.1.0.2")
)

// capSeg is one recorded segment.
type capSeg struct {
	at    time.Duration
	fromA bool
	seg   machine.Segment // Payload copied
}

type sim struct {
	t    testing.TB
	a, b *machine.Conn
	now  time.Duration
	segs []capSeg
	// drop, when set, loses a segment (it is not recorded: the capture
	// point is past the loss).
	drop func(fromA bool, s *machine.Segment) bool
}

func newSim(t testing.TB, cfgA, cfgB *machine.Config) *sim {
	ta := machine.Tuple{LocalAddr: simA, LocalPort: 40000, RemoteAddr: simB, RemotePort: 80}
	tb := machine.Tuple{LocalAddr: simB, LocalPort: 80, RemoteAddr: simA, RemotePort: 40000}
	return &sim{t: t, a: machine.NewConn(cfgA, ta), b: machine.NewConn(cfgB, tb)}
}

// deliver hands each side's segments to the other until both are quiet.
func (s *sim) deliver() {
	for round := 0; len(s.a.Outbox())+len(s.b.Outbox()) > 0; round++ {
		if round > 100000 {
			s.t.Fatal("the two ends never went quiet")
		}
		for _, fromA := range []bool{true, false} {
			from, to := s.a, s.b
			if !fromA {
				from, to = s.b, s.a
			}
			out := append([]machine.Segment(nil), from.Outbox()...)
			for i := range out {
				out[i].Payload = append([]byte(nil), out[i].Payload...)
			}
			from.ClearOutbox()
			for i := range out {
				if s.drop != nil && s.drop(fromA, &out[i]) {
					continue
				}
				s.segs = append(s.segs, capSeg{at: s.now, fromA: fromA, seg: out[i]})
				s.now += 10 * time.Microsecond
				to.Input(s.now, &out[i])
			}
		}
	}
}

// advance moves time on by d, firing timers as they fall due.
func (s *sim) advance(d time.Duration) {
	end := s.now + d
	for {
		next := end
		for _, c := range []*machine.Conn{s.a, s.b} {
			if at, ok := c.NextDeadline(); ok && at < next {
				next = at
			}
		}
		if next > s.now {
			s.now = next
		}
		s.a.Tick(s.now)
		s.b.Tick(s.now)
		s.deliver()
		if next >= end {
			return
		}
	}
}

func (s *sim) write(c *machine.Conn, p []byte) {
	for len(p) > 0 {
		n, err := c.Write(s.now, p)
		if err != nil {
			s.t.Fatal(err)
		}
		p = p[n:]
		s.deliver()
		if n == 0 {
			s.drain()
			s.advance(50 * time.Millisecond)
		}
	}
	s.deliver()
}

// drain reads everything readable at both ends.
func (s *sim) drain() {
	buf := make([]byte, 64<<10)
	for _, c := range []*machine.Conn{s.a, s.b} {
		for c.Readable() > 0 {
			if _, err := c.Read(s.now, buf); err != nil {
				break
			}
		}
	}
	s.deliver()
}

// pcap encodes the recorded segments as a raw-IP pcap.
func (s *sim) pcap() []byte {
	return encodePcap(s.t, s.segs)
}

func encodePcap(t testing.TB, segs []capSeg) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pkt := make([]byte, 70000)
	for _, c := range segs {
		src, dst := simA, simB
		sp, dp := uint16(40000), uint16(80)
		if !c.fromA {
			src, dst, sp, dp = dst, src, dp, sp
		}
		h := headerOf(&c.seg, sp, dp)
		n, err := header.EncodeTCP(pkt, src, dst, &h, c.seg.Payload, 64)
		if err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: base.Add(c.at), CaptureLength: n, Length: n}
		if err := w.WritePacket(ci, pkt[:n]); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func headerOf(s *machine.Segment, sp, dp uint16) header.TCP {
	h := header.TCP{SrcPort: sp, DstPort: dp, Seq: s.Seq, Ack: s.Ack, Flags: uint8(s.Flags), Window: s.Window}
	o := &h.Opts
	if s.MSS != 0 {
		o.HasMSS, o.MSS = true, s.MSS
	}
	if s.Opts&machine.OptWScale != 0 {
		o.HasWScale, o.WScale = true, s.WScale
	}
	o.SACKPermitted = s.Opts&machine.OptSACKPermitted != 0
	if s.Opts&machine.OptTimestamps != 0 {
		o.HasTS, o.TSVal, o.TSEcr = true, s.TSVal, s.TSEcr
	}
	for i := range int(s.NumSACK) {
		o.SACK[i] = header.SACKBlock{Left: s.SACK[i].Left, Right: s.SACK[i].Right}
	}
	o.NumSACK = int(s.NumSACK)
	return h
}

// scenario is a named exchange between A (the client) and B (the server).
type scenario struct {
	name string
	run  func(s *sim)
	cfgA machine.Config
	cfgB machine.Config
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func open(s *sim) {
	if err := s.b.Listen(s.now); err != nil {
		s.t.Fatal(err)
	}
	if err := s.a.Connect(s.now); err != nil {
		s.t.Fatal(err)
	}
	s.deliver()
}

// closeBoth closes first, lets the FIN cross and be read, closes second,
// and lets the timers run out.
func closeBoth(s *sim, first, second *machine.Conn) {
	first.Close(s.now)
	s.deliver()
	s.drain()
	second.Close(s.now)
	s.deliver()
	finish(s)
}

// finish lets both ends' timers run out (TIME-WAIT, retransmissions).
func finish(s *sim) { s.drain(); s.advance(10 * time.Second) }

var msl = machine.Config{MSL: time.Second}

func scenarios() []scenario {
	small := msl
	small.RcvBuf = 4096
	noOpts := msl
	noOpts.NoSACK, noOpts.NoTimestamps, noOpts.NoWindowScale = true, true, true
	return []scenario{
		{name: "client-closes", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(300))
			s.drain()
			s.write(s.b, payload(2000))
			s.drain()
			closeBoth(s, s.a, s.b)
		}},
		{name: "server-closes", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(100))
			s.drain()
			s.write(s.b, payload(5000))
			closeBoth(s, s.b, s.a)
		}},
		{name: "simultaneous-close", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(10))
			s.drain()
			s.a.Close(s.now)
			s.b.Close(s.now)
			s.deliver()
			finish(s)
		}},
		{name: "abort", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(500))
			s.drain()
			s.a.Abort(s.now)
			s.deliver()
			finish(s)
		}},
		{name: "refused", cfgA: msl, cfgB: msl, run: func(s *sim) {
			s.a.Connect(s.now)
			s.deliver()
			finish(s)
		}},
		{name: "half-close", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(200))
			s.a.Close(s.now)
			s.deliver()
			s.drain()
			s.write(s.b, payload(3000))
			s.drain()
			s.write(s.b, payload(3000))
			s.b.Close(s.now)
			s.deliver()
			finish(s)
		}},
		{name: "keep-alive", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			for range 3 {
				s.write(s.a, payload(120))
				s.drain()
				s.write(s.b, payload(900))
				s.drain()
				s.advance(100 * time.Millisecond)
			}
			closeBoth(s, s.a, s.b)
		}},
		{name: "zero-window", cfgA: msl, cfgB: small, run: func(s *sim) {
			open(s)
			for i := 0; i < 3; i++ {
				s.a.Write(s.now, payload(8000))
				s.deliver()
				s.advance(3 * time.Second) // probes of the closed window
				s.drain()
			}
			for range 20 { // until the receiver has read it all
				s.drain()
				s.advance(time.Second)
			}
			closeBoth(s, s.a, s.b)
		}},
		{name: "loss", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			n := 0
			s.drop = func(fromA bool, seg *machine.Segment) bool {
				if fromA && len(seg.Payload) > 0 {
					n++
					return n == 3 || n == 9
				}
				return false
			}
			s.write(s.a, payload(30000))
			s.advance(2 * time.Second)
			s.drain()
			s.drop = nil
			closeBoth(s, s.a, s.b)
		}},
		{name: "bulk", cfgA: msl, cfgB: msl, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(300000))
			s.drain()
			closeBoth(s, s.a, s.b)
		}},
		{name: "no-options", cfgA: noOpts, cfgB: noOpts, run: func(s *sim) {
			open(s)
			s.write(s.a, payload(20000))
			s.drain()
			s.write(s.b, payload(20000))
			s.drain()
			closeBoth(s, s.b, s.a)
		}},
		{name: "syn-lost", cfgA: msl, cfgB: msl, run: func(s *sim) {
			first := true
			s.drop = func(fromA bool, seg *machine.Segment) bool {
				if fromA && seg.Flags&machine.SYN != 0 && first {
					first = false
					return true
				}
				return false
			}
			open(s)
			s.advance(5 * time.Second)
			s.write(s.a, payload(50))
			s.drain()
			closeBoth(s, s.a, s.b)
		}},
	}
}

// record runs a scenario and returns its segments.
func record(t testing.TB, sc scenario) []capSeg {
	a, b := sc.cfgA, sc.cfgB
	s := newSim(t, &a, &b)
	sc.run(s)
	return s.segs
}
