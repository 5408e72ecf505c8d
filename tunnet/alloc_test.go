package tunnet

import (
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// sinkDevice swallows what the stack writes (counting it) and has nothing
// to read until closed: tests drive the input path by hand.
type sinkDevice struct {
	mu      sync.Mutex
	written int
	closed  chan struct{}
	once    sync.Once
}

func newSinkDevice() *sinkDevice { return &sinkDevice{closed: make(chan struct{})} }

func (d *sinkDevice) ReadBatch(bufs [][]byte, sizes []int, offset int) (int, error) {
	<-d.closed
	return 0, os.ErrClosed
}

func (d *sinkDevice) WriteBatch(bufs [][]byte, offset int) error {
	d.mu.Lock()
	d.written += len(bufs)
	d.mu.Unlock()
	return nil
}

func (d *sinkDevice) BatchSize() int { return 64 }
func (d *sinkDevice) MTU() int       { return 1500 }
func (d *sinkDevice) Close() error   { d.once.Do(func() { close(d.closed) }); return nil }

// hotPath is an established connection driven directly through the
// stack's input path (decode, demux, Classify/Step, encode, device write),
// bypassing the reader goroutine so that a test can count allocations.
type hotPath struct {
	s        *Stack
	ep       *endpoint
	rx       *rxState
	peer     netip.Addr
	pkt      []byte
	seq, ack uint32
	payload  []byte
	scrap    []byte
	hdr      header.TCP
}

func newHotPath(t testing.TB) *hotPath {
	s, err := New(Config{Device: newSinkDevice(), Addrs: []netip.Addr{rawStackAddr}, Machine: testMachineConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := &hotPath{
		s: s, rx: &rxState{s: s, tx: s.newTx()}, peer: rawPeerAddr,
		pkt: make([]byte, 1500), seq: 1000, payload: make([]byte, 1460), scrap: make([]byte, 64<<10),
	}
	h.rx.emit = h.rx.emitFlushed
	h.deliver(t, header.FlagSYN, nil)
	h.seq++
	h.ep = s.demux.lookup(machine.Tuple{LocalAddr: rawStackAddr, LocalPort: 80, RemoteAddr: rawPeerAddr, RemotePort: 9000})
	if h.ep == nil {
		t.Fatal("no connection after the SYN")
	}
	h.ep.mu.Lock()
	h.ack = h.ep.mc.Vars().ISS + 1
	h.ep.mu.Unlock()
	h.deliver(t, header.FlagACK, nil)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.(*Conn).Abort() })
	return h
}

// deliver hands one segment from the peer to the stack's input path.
func (h *hotPath) deliver(tb testing.TB, flags uint8, payload []byte) {
	h.hdr = header.TCP{SrcPort: 9000, DstPort: 80, Seq: h.seq, Ack: h.ack, Flags: flags, Window: 65535}
	n, err := header.EncodeTCP(h.pkt, h.peer, rawStackAddr, &h.hdr, payload, 64)
	if err != nil {
		tb.Fatal(err)
	}
	h.rx.now = h.s.now()
	h.rx.deliver(h.pkt[:n], false)
	h.s.flushTx(h.rx.tx)
}

// step delivers one full-sized data segment and lets the application read
// it, as the reader goroutine and a Read would.
func (h *hotPath) step(tb testing.TB) {
	h.deliver(tb, header.FlagACK, h.payload)
	h.seq += uint32(len(h.payload))
	ep := h.ep
	ep.mu.Lock()
	now := h.s.now()
	for ep.mc.Readable() > 0 {
		ep.mc.Read(now, h.scrap)
	}
	ep.after(now, h.rx.tx)
	ep.mu.Unlock()
	h.s.flushTx(h.rx.tx)
}

// TestHotPathNoAllocs: a data segment for an established connection, from
// decode to the ACK written to the device, allocates nothing.
func TestHotPathNoAllocs(t *testing.T) {
	h := newHotPath(t)
	for range 100 { // warm up: buffers grow to their working size
		h.step(t)
	}
	if n := testing.AllocsPerRun(1000, func() { h.step(t) }); n != 0 {
		t.Fatalf("%v allocations per segment on the input path, want 0", n)
	}
	if st := h.ep.stateOf(); st != machine.StateEstablished {
		t.Fatalf("connection in %v after the run", st)
	}
	// An ACK for every second full-sized segment (the reads leave half
	// the window open: no window update of their own).
	if w := h.s.dev.(*sinkDevice).written; w < 1100/2 {
		t.Fatalf("%d packets written for 1100 data segments: the ACKs are missing", w)
	}
}

// BenchmarkHotPath measures one data segment through the input path and
// the application's read, with its ACK encoded and written (to a device
// that discards it: no system call).
func BenchmarkHotPath(b *testing.B) {
	h := newHotPath(b)
	for range 100 {
		h.step(b)
	}
	b.SetBytes(int64(len(h.payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.step(b)
	}
}
