package tunnet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// pipePair is two stacks joined by an in-memory link.
type pipePair struct {
	a, b         *Stack
	addrA, addrB netip.Addr
}

var (
	pipeAddrA = netip.MustParseAddr("10.0.0.1")
	pipeAddrB = netip.MustParseAddr("10.0.0.2")
)

func testMachineConfig() machine.Config {
	return machine.Config{MSL: 50 * time.Millisecond, MinRTO: 20 * time.Millisecond, InitialRTO: 100 * time.Millisecond}
}

func newPipePair(t testing.TB, mutate func(a, b *Config)) *pipePair {
	t.Helper()
	da, db := NewPipe(1500)
	ca := Config{Device: da, Addrs: []netip.Addr{pipeAddrA}, Machine: testMachineConfig()}
	cb := Config{Device: db, Addrs: []netip.Addr{pipeAddrB}, Machine: testMachineConfig()}
	if mutate != nil {
		mutate(&ca, &cb)
	}
	a, err := New(ca)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cb)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return &pipePair{a: a, b: b, addrA: pipeAddrA, addrB: pipeAddrB}
}

// waitDrained waits until s has no connection left (listeners aside).
func waitDrained(t testing.TB, s *Stack, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		snap := s.Snapshot()
		delete(snap, machine.StateListen)
		n := 0
		for _, v := range snap {
			n += v
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections left after %v: %v", within, snap)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPipeEchoAndClose(t *testing.T) {
	p := newPipePair(t, nil)
	ln, err := p.b.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	c, err := p.a.DialContext(context.Background(), "tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1<<20)
	rand.Read(msg)
	go func() {
		c.Write(msg)
		c.(*Conn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(msg) {
		t.Fatalf("echo mismatch: got %d bytes, want %d", len(got), len(msg))
	}
	c.Close()
	waitDrained(t, p.a, 2*time.Second)
	waitDrained(t, p.b, 2*time.Second)
}
