package proptest

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// TestBuffersGrowWithData drives both buffers past their first 4 KiB
// allocation while they hold data that does not start at the front of
// their storage: the send buffer after a partial ACK, the receive buffer
// after a partial read. Invariant 17 checks every byte sent and read, so
// storage that loses its place when it grows fails here.
func TestBuffersGrowWithData(t *testing.T) {
	cfg := testCfg()
	cfg.MSS, cfg.RcvBuf, cfg.SndBuf = 1000, 12000, 12000
	cfg.NoTimestamps = true // whole 1000-byte segments (a timestamps option takes 12 of them)
	w := NewWorld(Options{Config: cfg})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	// Send buffer: 5000 bytes, of which the first 2000 are acknowledged;
	// then 6000 more make it grow with 3000 bytes held 2000 in.
	w.Write(simnet.A, 5000)
	w.Deliver(simnet.A, 0)
	w.Deliver(simnet.A, 0)
	for len(w.Net().Link(simnet.B)) > 0 && w.Err() == nil {
		w.Deliver(simnet.B, 0) // B's ACKs of the first 2000 bytes
	}
	if q := w.Net().Conn(simnet.A).Vars().SndQueued; q != 3000 {
		t.Fatalf("A holds %d unacknowledged bytes, want 3000", q)
	}
	w.Write(simnet.A, 6000)
	// Receive buffer: B reads 700 of what it holds, then takes the rest
	// and grows with its readable bytes 700 in.
	w.Read(simnet.B, 700)
	deliverAll(w)
	w.Write(simnet.A, 4000)
	deliverAll(w)
	for i := 0; i < 100 && w.Net().Conn(simnet.B).Readable() > 0; i++ {
		w.Read(simnet.B, 1500)
		deliverAll(w)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if got := w.side[simnet.B].read; got != 15000 {
		t.Fatalf("B read %d bytes, want 15000", got)
	}
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		if snd, rcv := w.Net().Conn(s).Footprint(); max(snd, rcv) <= 8192 {
			t.Fatalf("%v's buffers hold %d and %d bytes: its busy buffer never grew past 8 KiB", s, snd, rcv)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}
