package tunnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// rawPeer drives a stack through a Pipe with hand-made segments: the test
// plays the remote TCP.
type rawPeer struct {
	t      testing.TB
	s      *Stack
	wire   *Pipe // the test's end
	local  netip.Addr
	remote netip.Addr // the stack's address
	in     chan header.Packet
}

var (
	rawStackAddr = netip.MustParseAddr("10.0.0.2")
	rawPeerAddr  = netip.MustParseAddr("10.0.0.1")
)

func newRawPeer(t testing.TB, mutate func(*Config)) *rawPeer {
	t.Helper()
	checkGoroutines(t)
	stackEnd, testEnd := NewPipe(1500)
	cfg := Config{Device: stackEnd, Addrs: []netip.Addr{rawStackAddr}, Machine: testMachineConfig()}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, s: s, wire: testEnd, local: rawPeerAddr, remote: rawStackAddr, in: make(chan header.Packet, 1024)}
	go p.readLoop()
	t.Cleanup(func() {
		s.Close()
		testEnd.Close()
		for range p.in { // until readLoop ends
		}
	})
	return p
}

// send writes one segment from the peer's port sport to the stack's dport.
func (p *rawPeer) send(sport, dport uint16, flags uint8, seq, ack uint32, payload []byte) {
	p.t.Helper()
	h := header.TCP{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: flags, Window: 65535}
	if flags&header.FlagSYN != 0 {
		h.Opts.MSS, h.Opts.HasMSS = 1460, true
	}
	b := make([]byte, Headroom+1500)
	n, err := header.EncodeTCP(b[Headroom:], p.local, p.remote, &h, payload, 64)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.wire.WriteBatch([][]byte{b[:Headroom+n]}, Headroom); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next segment the stack sent, or fails after a second.
func (p *rawPeer) recv() header.Packet {
	p.t.Helper()
	pkt, ok := p.recvWithin(time.Second)
	if !ok {
		p.t.Fatal("no segment from the stack within 1s")
	}
	return pkt
}

// recvWithin returns the next segment, or ok false after d.
func (p *rawPeer) recvWithin(d time.Duration) (header.Packet, bool) {
	p.t.Helper()
	select {
	case pkt := <-p.in:
		return pkt, true
	case <-time.After(d):
		return header.Packet{}, false
	}
}

// readLoop decodes what the stack sends into p.in until the pipe closes.
func (p *rawPeer) readLoop() {
	bufs := [][]byte{make([]byte, Headroom+1500)}
	sizes := []int{0}
	for {
		if _, err := p.wire.ReadBatch(bufs, sizes, Headroom); err != nil {
			close(p.in)
			return
		}
		var pkt header.Packet
		b := append([]byte(nil), bufs[0][Headroom:Headroom+sizes[0]]...)
		if err := header.Decode(b, &pkt); err != nil {
			panic(err) // the stack sent a packet its own codec rejects
		}
		p.in <- pkt
	}
}

func flagsOf(p header.Packet) machine.Flags { return machine.Flags(p.TCP.Flags) & flagMask }

// TestClosedPortRST: segments to a port without listener get the CLOSED
// row's RST; an RST gets nothing.
func TestClosedPortRST(t *testing.T) {
	p := newRawPeer(t, nil)
	p.send(4000, 81, header.FlagSYN, 1000, 0, nil)
	r := p.recv()
	if flagsOf(r) != machine.RST|machine.ACK || r.TCP.Seq != 0 || r.TCP.Ack != 1001 {
		t.Fatalf("reply to SYN: %v seq=%d ack=%d, want RST+ACK seq=0 ack=1001", flagsOf(r), r.TCP.Seq, r.TCP.Ack)
	}
	if r.TCP.SrcPort != 81 || r.TCP.DstPort != 4000 || r.Src != rawStackAddr || r.Dst != rawPeerAddr {
		t.Fatalf("reply addressed %v:%d -> %v:%d", r.Src, r.TCP.SrcPort, r.Dst, r.TCP.DstPort)
	}
	p.send(4000, 81, header.FlagACK, 5, 77777, []byte("data"))
	r = p.recv()
	if flagsOf(r) != machine.RST || r.TCP.Seq != 77777 {
		t.Fatalf("reply to ACK: %v seq=%d, want RST seq=77777", flagsOf(r), r.TCP.Seq)
	}
	p.send(4000, 81, header.FlagRST, 5, 0, nil)
	if r, ok := p.recvWithin(100 * time.Millisecond); ok {
		t.Fatalf("the stack answered an RST with %v", flagsOf(r))
	}
	if got := p.s.Stats().NoConn; got != 3 {
		t.Fatalf("Stats.NoConn = %d, want 3", got)
	}
}

// TestListenHandshakeAndDemux: a SYN to a listener gets SYN+ACK acking
// x+1; segments are demultiplexed by the full 4-tuple; an ACK to the
// listening port from an unknown tuple gets the LISTEN row's RST.
func TestListenHandshakeAndDemux(t *testing.T) {
	p := newRawPeer(t, nil)
	ln, err := p.s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	isn := map[uint16]uint32{5000: 0xfffffff0, 5001: 12345} // one crosses 2^32
	iss := map[uint16]uint32{}
	for sport, x := range isn {
		p.send(sport, 80, header.FlagSYN, x, 0, nil)
		r := p.recv()
		if flagsOf(r) != machine.SYN|machine.ACK || r.TCP.Ack != x+1 || r.TCP.DstPort != sport {
			t.Fatalf("reply to SYN from %d: %v ack=%d, want SYN+ACK ack=%d", sport, flagsOf(r), r.TCP.Ack, x+1)
		}
		if !r.TCP.Opts.HasMSS || r.TCP.Opts.MSS != 1460 {
			t.Fatalf("SYN+ACK MSS option %v/%d, want 1460 (MTU 1500 - 40)", r.TCP.Opts.HasMSS, r.TCP.Opts.MSS)
		}
		iss[sport] = r.TCP.Seq
	}
	// Complete both handshakes with data that says whose it is.
	for sport, x := range isn {
		p.send(sport, 80, header.FlagACK|header.FlagPSH, x+1, iss[sport]+1, []byte{byte(sport)})
	}
	got := map[byte]uint16{}
	for range 2 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		got[b[0]] = uint16(c.RemoteAddr().(*net.TCPAddr).Port)
		c.(*Conn).Abort()
	}
	for sport := range isn {
		if got[byte(sport)] != sport {
			t.Fatalf("data from port %d delivered to the connection of port %d", sport, got[byte(sport)])
		}
	}
	// Drain the ACKs and RSTs the above produced.
	for {
		if _, ok := p.recvWithin(50 * time.Millisecond); !ok {
			break
		}
	}
	p.send(5002, 80, header.FlagACK, 1, 4242, nil)
	r := p.recv()
	if flagsOf(r) != machine.RST || r.TCP.Seq != 4242 {
		t.Fatalf("reply to a stray ACK at a listener: %v seq=%d, want RST seq=4242", flagsOf(r), r.TCP.Seq)
	}
}

// TestBacklog: without SYN cookies, a SYN finding the backlog full of
// established connections waiting for Accept is dropped (there is no
// half-open one to evict); accepting frees a slot.
func TestBacklog(t *testing.T) {
	p := newRawPeer(t, func(c *Config) {
		c.SYNCookies = SYNCookiesOff
		c.Backlog = 2
		c.Machine.InitialRTO = time.Minute // no SYN+ACK retransmissions to confuse the count
	})
	ln, err := p.s.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for i := range 2 {
		p.send(uint16(6000+i), 80, header.FlagSYN, 100, 0, nil)
		r := p.recv()
		if flagsOf(r) != machine.SYN|machine.ACK {
			t.Fatalf("SYN %d: got %v", i, flagsOf(r))
		}
		p.send(uint16(6000+i), 80, header.FlagACK, 101, r.TCP.Seq+1, nil)
	}
	waitState(t, p.s, machine.StateEstablished, 2)
	p.send(6002, 80, header.FlagSYN, 100, 0, nil)
	if r, ok := p.recvWithin(100 * time.Millisecond); ok {
		t.Fatalf("third SYN with a backlog of 2 established answered with %v to port %d", flagsOf(r), r.TCP.DstPort)
	}
	if st := p.s.Stats(); st.BacklogFull != 1 || st.HalfOpenEvicted != 0 {
		t.Fatalf("Stats.BacklogFull = %d, HalfOpenEvicted = %d; want 1, 0", st.BacklogFull, st.HalfOpenEvicted)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.(*Conn).Abort()
	p.send(6003, 80, header.FlagSYN, 100, 0, nil)
	for {
		r := p.recv()
		if r.TCP.DstPort == 6003 {
			if flagsOf(r) != machine.SYN|machine.ACK {
				t.Fatalf("SYN after Accept freed a slot: got %v", flagsOf(r))
			}
			break
		}
	}
}

// TestPipeErrors: refused, reset, deadlines and use after Close, between
// two stacks.
func TestPipeErrors(t *testing.T) {
	checkGoroutines(t)
	pp := newPipePair(t, nil)
	ctx := context.Background()
	_, err := pp.a.DialContext(ctx, "tcp", "10.0.0.2:9")
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, machine.ErrRefused) {
		t.Fatalf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
	ln, err := pp.b.Listen("tcp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := pp.b.Listen("tcp", "10.0.0.2:9"); err == nil {
		t.Fatal("second listener on a taken port succeeded")
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := pp.a.DialContext(ctx, "tcp", "10.0.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}

	// Deadline.
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v, want a timeout wrapping os.ErrDeadlineExceeded", err)
	}
	c.SetReadDeadline(time.Time{})

	// A blocked Read wakes on data.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(20 * time.Millisecond)
		sc.Write([]byte("wake"))
	}()
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "wake" {
		t.Fatalf("read %q, %v", b, err)
	}
	wg.Wait()

	// Reset: the server aborts, the client sees ECONNRESET.
	sc.(*Conn).Abort()
	_, err = c.Read(b)
	if !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, machine.ErrReset) {
		t.Fatalf("read after the peer's abort: %v, want ECONNRESET", err)
	}
	c.Close()
	if _, err := c.Read(b); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write(b); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	waitDrained(t, pp.a, time.Second)
	waitDrained(t, pp.b, time.Second)
}

// TestDialContextCancel: a dial to a peer that never answers ends with
// the context, and leaves nothing behind.
func TestDialContextCancel(t *testing.T) {
	p := newRawPeer(t, nil) // the raw peer never answers the SYN
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.s.DialContext(ctx, "tcp", "10.0.0.1:80")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial: %v, want context.DeadlineExceeded", err)
	}
	waitDrained(t, p.s, time.Second)
}

// TestObserver: the observer sees the passive open with the segment's
// numbers and the reply.
func TestObserver(t *testing.T) {
	var mu sync.Mutex
	var seen []Transition
	p := newRawPeer(t, func(c *Config) {
		c.Observer = func(tr Transition) {
			mu.Lock()
			tr.Sent = append([]SegmentInfo(nil), tr.Sent...)
			seen = append(seen, tr)
			mu.Unlock()
		}
	})
	ln, err := p.s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p.send(7000, 80, header.FlagSYN, 555, 0, nil)
	r := p.recv()
	p.send(7000, 80, header.FlagRST, 556, 0, nil)
	p.send(7001, 81, header.FlagSYN, 1, 0, nil) // closed port
	p.recv()
	deadline := time.Now().Add(time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 {
		t.Fatalf("observer saw %d transitions, want 3: %+v", len(seen), seen)
	}
	find := func(rule machine.Rule) (Transition, bool) {
		for _, tr := range seen {
			if tr.Rule == rule {
				return tr, true
			}
		}
		return Transition{}, false
	}
	syn, ok := find(machine.RuleListenRcvSyn)
	if !ok || syn.From != machine.StateListen || syn.To != machine.StateSynReceived ||
		!syn.HasRecv || syn.Recv.Seq != 555 || syn.Recv.Flags != machine.SYN ||
		len(syn.Sent) != 1 || syn.Sent[0].Seq != r.TCP.Seq || syn.Sent[0].Ack != 556 {
		t.Fatalf("listen_rcv_syn: %v %+v", ok, syn)
	}
	if rst, ok := find(machine.RuleSynRcvdRcvRstPassive); !ok || rst.To != machine.StateListen {
		t.Fatalf("syn_rcvd_rcv_rst_passive: %v %+v, want a return to LISTEN", ok, rst)
	}
	closed, ok := find(machine.RuleClosedRcvSegment)
	if !ok || !closed.Scratch || len(closed.Sent) != 1 || closed.Sent[0].Flags != machine.RST|machine.ACK {
		t.Fatalf("closed_rcv_segment: %v %+v, want the scratch CLOSED machine's RST", ok, closed)
	}
	for _, tr := range seen {
		if tr.Rule == machine.RuleClosedOpenPassive {
			t.Fatalf("the bookkeeping CLOSED -> LISTEN of a child was reported: %+v", tr)
		}
	}
	if n := p.s.Snapshot()[machine.StateSynReceived]; n != 0 {
		t.Fatalf("%d connections left in SYN-RECEIVED after the RST", n)
	}
}

func TestConfigErrors(t *testing.T) {
	d, _ := NewPipe(1500)
	for name, cfg := range map[string]Config{
		"no device":   {Addrs: []netip.Addr{rawStackAddr}},
		"no address":  {Device: d},
		"unspecified": {Device: d, Addrs: []netip.Addr{netip.IPv4Unspecified()}},
		"mapped":      {Device: d, Addrs: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.2")}},
		"zone":        {Device: d, Addrs: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}},
		"backlog":     {Device: d, Addrs: []netip.Addr{rawStackAddr}, Backlog: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	tiny, _ := NewPipe(100)
	if _, err := New(Config{Device: tiny, Addrs: []netip.Addr{rawStackAddr}}); err == nil {
		t.Error("MTU 100: New succeeded")
	}
	p := newRawPeer(t, nil)
	for _, addr := range []string{"10.0.0.2", "10.9.9.9:80", "host:80", ":0", ":99999"} {
		if _, err := p.s.Listen("tcp", addr); err == nil {
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	for _, addr := range []string{"10.0.0.1", "[fd00::1]:80", "example.com:80", "10.0.0.1:0"} {
		if _, err := p.s.Dial("tcp", addr); err == nil {
			t.Errorf("Dial(%q) succeeded", addr)
		}
	}
	if _, err := p.s.Listen("udp", ":80"); err == nil {
		t.Error("Listen(udp) succeeded")
	}
}
