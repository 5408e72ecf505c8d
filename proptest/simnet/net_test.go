package simnet

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	_ "pgregory.net/rapid" // accept -rapid.* flags: CI passes them to ./proptest/...
)

func testConfig() *machine.Config {
	return &machine.Config{
		ISNKey: [16]byte{7}, MSS: 16, RcvBuf: 64, SndBuf: 4096,
		MSL: time.Second, InitialRTO: 100 * time.Millisecond, MinRTO: 50 * time.Millisecond,
		MaxRTO: 800 * time.Millisecond, UserTimeout: time.Minute, FinWait2: 10 * time.Second,
	}
}

// transfer is one random run: A connects, writes data and, once
// established, closes; B
// listens, reads to the end and closes.
type transfer struct {
	stats    Stats
	now      time.Duration
	received []byte
	err      error
}

func runTransfer(seed uint64, f Faults, data []byte) transfer {
	n := New(Options{A: testConfig(), Seed: seed, Faults: f})
	n.Listen(B)
	n.Connect(A)
	if k, err := n.Write(A, data); k != len(data) || err != nil {
		return transfer{err: errors.New("write did not take all the data")}
	}
	var got []byte
	buf := make([]byte, 64)
	aClosed, bClosed := false, false
	err := n.Run(200000, func(n *Net) bool {
		if !aClosed && n.Conn(A).State() == machine.StateEstablished {
			n.Close(A) // CLOSE in SYN-SENT would abandon the connection
			aClosed = true
		}
		for {
			k, err := n.Read(B, buf)
			got = append(got, buf[:k]...)
			if errors.Is(err, io.EOF) && !bClosed {
				n.Close(B)
				bClosed = true
			}
			if k == 0 {
				break
			}
		}
		return n.Conn(A).State() == machine.StateClosed && n.Conn(B).State() == machine.StateClosed
	})
	return transfer{stats: n.Stats(), now: n.Now(), received: got, err: err}
}

func TestRandomRunDelivers(t *testing.T) {
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	faults := Faults{Drop: 0.15, Dup: 0.1, Reorder: 0.3, Delay: 5 * time.Millisecond}
	for seed := uint64(1); seed <= 30; seed++ {
		r := runTransfer(seed, faults, data)
		if r.err != nil {
			t.Fatalf("seed %d: %v", seed, r.err)
		}
		if !bytes.Equal(r.received, data) {
			t.Fatalf("seed %d: B read %d bytes, want the %d A wrote, in order", seed, len(r.received), len(data))
		}
		if r.stats.Dropped == 0 || r.stats.Duplicated == 0 {
			t.Errorf("seed %d: faults did not happen: %+v", seed, r.stats)
		}
	}
}

func TestRandomRunRepeatable(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 30)
	faults := Faults{Drop: 0.2, Dup: 0.2, Reorder: 0.5, Delay: 3 * time.Millisecond}
	distinct := map[Stats]bool{}
	for seed := uint64(1); seed <= 10; seed++ {
		a, b := runTransfer(seed, faults, data), runTransfer(seed, faults, data)
		if a.stats != b.stats || a.now != b.now || !bytes.Equal(a.received, b.received) {
			t.Fatalf("seed %d: two runs differ: %+v at %v vs %+v at %v", seed, a.stats, a.now, b.stats, b.now)
		}
		distinct[a.stats] = true
	}
	if len(distinct) < 5 {
		t.Errorf("10 seeds gave only %d distinct runs: the seed hardly matters", len(distinct))
	}
}

// TestPayloadsAreCopied: a segment in flight keeps its bytes after the
// sender's buffer is reused (outbox payloads alias the send buffer).
func TestPayloadsAreCopied(t *testing.T) {
	n := New(Options{A: testConfig()})
	n.Listen(B)
	n.Connect(A)
	n.Deliver(A, 0)
	n.Deliver(B, 0)
	n.Deliver(A, 0)
	first := bytes.Repeat([]byte{'1'}, 8)
	n.Write(A, first)
	n.Duplicate(A, 0) // a copy stays in flight
	n.Deliver(A, 0)
	n.Deliver(B, 0) // B's ACK frees A's buffer
	n.Write(A, bytes.Repeat([]byte{'2'}, 200))
	if got := n.Link(A)[0].Seg.Payload; !bytes.Equal(got, first) {
		t.Fatalf("the duplicate in flight now carries %q, want %q: the Net must copy payloads out of the outbox", got, first)
	}
}

// TestLifetime: segments older than the lifetime are discarded when time
// passes (the MSL assumption).
func TestLifetime(t *testing.T) {
	n := New(Options{A: testConfig(), Lifetime: time.Second})
	n.Connect(A)
	if n.InFlight() != 1 {
		t.Fatalf("%d segments in flight after connect, want 1", n.InFlight())
	}
	n.AdvanceTo(n.Now() + 500*time.Millisecond)
	n.AdvanceTo(n.Now() + 600*time.Millisecond)
	for _, p := range n.Link(A) {
		if n.Now()-p.Sent > time.Second {
			t.Errorf("a segment sent at %v is still in flight at %v", p.Sent, n.Now())
		}
	}
	if n.Stats().Expired == 0 {
		t.Error("no segment expired")
	}
}

// TestSaveRestore: a restored Net behaves as the saved one did.
func TestSaveRestore(t *testing.T) {
	n := New(Options{A: testConfig()})
	n.Listen(B)
	n.Connect(A)
	n.Write(A, []byte("hello"))
	var s Snapshot
	n.Save(&s)
	key := string(n.AppendKey(nil))
	n.Deliver(A, 0)
	n.Deliver(B, 0)
	if string(n.AppendKey(nil)) == key {
		t.Fatal("delivering segments did not change the key")
	}
	n.Restore(&s)
	if got := string(n.AppendKey(nil)); got != key {
		t.Fatal("the restored Net's key differs from the saved one's")
	}
	n.Deliver(A, 0)
	n.Deliver(B, 0)
	n.Deliver(A, 0)
	if a, b := n.Conn(A).State(), n.Conn(B).State(); a != machine.StateEstablished || b != machine.StateEstablished {
		t.Fatalf("after restore and handshake: A %v, B %v", a, b)
	}
}

func TestNextDeadline(t *testing.T) {
	n := New(Options{A: testConfig(), Faults: Faults{Delay: 7 * time.Millisecond}})
	if _, ok := n.NextDeadline(); ok {
		t.Fatal("an idle Net has a deadline")
	}
	n.Connect(A)
	d, ok := n.NextDeadline()
	if !ok || d != n.Now()+7*time.Millisecond {
		t.Fatalf("NextDeadline = %v, %v; want the SYN's arrival at %v", d, ok, n.Now()+7*time.Millisecond)
	}
	timer, _ := n.NextTimer()
	n.Drop(A, 0)
	if d, _ := n.NextDeadline(); d != timer {
		t.Fatalf("with nothing in flight NextDeadline = %v, want A's timer %v", d, timer)
	}
}
