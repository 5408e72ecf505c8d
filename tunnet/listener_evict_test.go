package tunnet

import (
	"io"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// waitState waits until s holds exactly n connections in state st.
func waitState(t testing.TB, s *Stack, st machine.State, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := s.Snapshot()[st]
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections in %v after 2s, want %d (%v)", got, st, n, s.Snapshot())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBacklogEvictsOldestHalfOpen: without SYN cookies, with the backlog
// full of half-open connections (SYN+ACKs never answered, as for spoofed
// SYNs), a new SYN is answered and the oldest half-open connection is
// reset to make room; the others live on and can still complete.
func TestBacklogEvictsOldestHalfOpen(t *testing.T) {
	const backlog = 3
	p := newRawPeer(t, func(c *Config) {
		c.SYNCookies = SYNCookiesOff
		c.Backlog = backlog
		c.Machine.InitialRTO = time.Minute // no SYN+ACK retransmissions to confuse the count
	})
	ln, err := p.s.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	iss := map[uint16]uint32{}
	for i := range backlog {
		port := uint16(7000 + i)
		p.send(port, 80, header.FlagSYN, 100, 0, nil)
		r := p.recv()
		if flagsOf(r) != machine.SYN|machine.ACK || r.TCP.DstPort != port {
			t.Fatalf("SYN from %d: got %v to %d", port, flagsOf(r), r.TCP.DstPort)
		}
		iss[port] = r.TCP.Seq
	}
	waitState(t, p.s, machine.StateSynReceived, backlog)

	// Each new SYN evicts the oldest half-open connection left.
	for i, victim := range []uint16{7000, 7001} {
		port := uint16(7000 + backlog + i)
		p.send(port, 80, header.FlagSYN, 100, 0, nil)
		var gotRST, gotSynAck bool
		for !gotRST || !gotSynAck {
			r := p.recv()
			switch {
			case r.TCP.DstPort == victim && flagsOf(r) == machine.RST:
				if r.TCP.Seq != iss[victim]+1 {
					t.Errorf("RST to %d: seq %d, want SND.NXT %d", victim, r.TCP.Seq, iss[victim]+1)
				}
				gotRST = true
			case r.TCP.DstPort == port && flagsOf(r) == machine.SYN|machine.ACK:
				iss[port] = r.TCP.Seq
				gotSynAck = true
			default:
				t.Fatalf("SYN from %d: unexpected %v to %d", port, flagsOf(r), r.TCP.DstPort)
			}
		}
		if st := p.s.Stats(); st.HalfOpenEvicted != uint64(i+1) || st.BacklogFull != 0 {
			t.Fatalf("after SYN from %d: HalfOpenEvicted = %d, BacklogFull = %d; want %d, 0", port, st.HalfOpenEvicted, st.BacklogFull, i+1)
		}
		waitState(t, p.s, machine.StateSynReceived, backlog)
	}

	// A survivor completes its handshake and is accepted.
	p.send(7002, 80, header.FlagACK, 101, iss[7002]+1, nil)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.(*Conn).Abort()
	if got := c.RemoteAddr().String(); got != "10.0.0.1:7002" {
		t.Errorf("accepted %s, want 10.0.0.1:7002", got)
	}
	// An evicted one is gone: its late ACK is answered with RST.
	p.send(7000, 80, header.FlagACK, 101, iss[7000]+1, nil)
	for {
		r := p.recv()
		if r.TCP.DstPort == 7000 {
			if flagsOf(r) != machine.RST {
				t.Fatalf("late ACK of an evicted connection: got %v, want RST", flagsOf(r))
			}
			break
		}
	}
}

// TestSynCookiesOnOverflow: with the backlog full of half-open
// connections, a new SYN gets a SYN cookie and no connection (the count of
// SYN-RECEIVED stays); the ACK returning the cookie evicts the oldest
// half-open connection and is the new connection, which Accept returns; an
// ACK with a wrong cookie gets an RST.
func TestSynCookiesOnOverflow(t *testing.T) {
	const backlog = 2
	p := newRawPeer(t, func(c *Config) {
		c.Backlog = backlog
		c.Machine.InitialRTO = time.Minute
	})
	ln, err := p.s.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for i := range backlog {
		p.send(uint16(7100+i), 80, header.FlagSYN, 100, 0, nil)
		if r := p.recv(); flagsOf(r) != machine.SYN|machine.ACK {
			t.Fatalf("SYN %d: got %v", i, flagsOf(r))
		}
	}
	waitState(t, p.s, machine.StateSynReceived, backlog)
	p.send(7200, 80, header.FlagSYN, 5000, 0, nil)
	r := p.recv()
	if flagsOf(r) != machine.SYN|machine.ACK || r.TCP.DstPort != 7200 || r.TCP.Ack != 5001 {
		t.Fatalf("SYN with the backlog full: %v to %d ack %d, want a cookie SYN+ACK", flagsOf(r), r.TCP.DstPort, r.TCP.Ack)
	}
	waitState(t, p.s, machine.StateSynReceived, backlog)     // no state for it
	p.send(7200, 80, header.FlagACK, 5001, r.TCP.Seq+2, nil) // a wrong cookie
	if bad := p.recv(); flagsOf(bad) != machine.RST {
		t.Fatalf("wrong cookie: got %v, want RST", flagsOf(bad))
	}
	p.send(7200, 80, header.FlagACK|header.FlagPSH, 5001, r.TCP.Seq+1, []byte("hi"))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("read %q, %v; want the text the cookie's ACK carried", buf, err)
	}
	if st := p.s.Stats(); st.CookiesSent != 1 || st.CookiesTaken != 1 || st.HalfOpenEvicted != 1 {
		t.Fatalf("Stats: cookies sent %d, taken %d, half-open evicted %d; want 1, 1, 1", st.CookiesSent, st.CookiesTaken, st.HalfOpenEvicted)
	}
}

// TestListenerCloseAbortsHalfOpen: closing a listener resets its
// half-open connections at once (as the queued ones): none lingers in
// SYN-RECEIVED retransmitting its SYN+ACK for a port nobody listens on.
func TestListenerCloseAbortsHalfOpen(t *testing.T) {
	p := newRawPeer(t, func(c *Config) { c.Machine.InitialRTO = time.Minute })
	ln, err := p.s.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		p.send(uint16(7300+i), 80, header.FlagSYN, 100, 0, nil)
		if r := p.recv(); flagsOf(r) != machine.SYN|machine.ACK {
			t.Fatalf("SYN %d: got %v", i, flagsOf(r))
		}
	}
	waitState(t, p.s, machine.StateSynReceived, 2)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := p.recv(); flagsOf(r) != machine.RST {
			t.Fatalf("after Close: got %v, want an RST for each half-open connection", flagsOf(r))
		}
	}
	waitState(t, p.s, machine.StateSynReceived, 0)
}
