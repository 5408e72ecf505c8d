package trace

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// writeBulkCapture writes a capture of conns connections, interleaved, each
// a handshake, then requests of 10 bytes from the client each answered
// by an ACK, then a close: n segments in all (one TCB state explains each).
func writeBulkCapture(tb testing.TB, path string, conns, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeRaw); err != nil {
		tb.Fatal(err)
	}
	type side struct {
		addr netip.Addr
		port uint16
		seq  uint32
	}
	type conn struct{ c, s side }
	cs := make([]conn, conns)
	for i := range cs {
		cs[i] = conn{
			c: side{netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000, uint32(i) * 7777},
			s: side{netip.MustParseAddr("10.3.0.1"), 80, uint32(i) * 99991},
		}
	}
	pkt := make([]byte, 256)
	payload := make([]byte, 10)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	written := 0
	emit := func(from, to *side, flags machine.Flags, ack uint32, n int) {
		h := header.TCP{SrcPort: from.port, DstPort: to.port, Seq: from.seq, Ack: ack, Flags: uint8(flags), Window: 65535}
		k, err := header.EncodeTCP(pkt, from.addr, to.addr, &h, payload[:n], 64)
		if err != nil {
			tb.Fatal(err)
		}
		at = at.Add(time.Microsecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: k, Length: k}, pkt[:k]); err != nil {
			tb.Fatal(err)
		}
		from.seq += uint32(n)
		if flags&(machine.SYN|machine.FIN) != 0 {
			from.seq++
		}
		written++
	}
	for i := range cs {
		c := &cs[i]
		emit(&c.c, &c.s, machine.SYN, 0, 0)
		emit(&c.s, &c.c, machine.SYN|machine.ACK, c.c.seq, 0)
		emit(&c.c, &c.s, machine.ACK, c.s.seq, 0)
	}
	per := (n - 7*conns) / (2 * conns)
	for r := 0; r < per; r++ {
		for i := range cs {
			c := &cs[i]
			emit(&c.c, &c.s, machine.PSH|machine.ACK, c.s.seq, 10)
			emit(&c.s, &c.c, machine.ACK, c.c.seq, 0)
		}
	}
	for i := range cs {
		c := &cs[i]
		emit(&c.c, &c.s, machine.FIN|machine.ACK, c.s.seq, 0)
		emit(&c.s, &c.c, machine.ACK, c.c.seq, 0)
		emit(&c.s, &c.c, machine.FIN|machine.ACK, c.c.seq, 0)
		emit(&c.c, &c.s, machine.ACK, c.s.seq, 0)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
}

type discard struct{}

func (discard) Segment(*Verdict) error  { return nil }
func (discard) Conn(*ConnSummary) error { return nil }

// BenchmarkTrace judges a capture of a million segments (100 connections,
// interleaved) per iteration and reports segments per second: issue 10's
// target is 1 million on one core (go test ./trace -run '^$' -bench
// Trace -benchtime 3x -cpu 1).
func BenchmarkTrace(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bulk.pcap")
	const segs = 1_000_000
	writeBulkCapture(b, path, 100, segs)
	b.ResetTimer()
	var total int
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		c, err := OpenCapture(f)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := New(discard{}, Options{}).Run(c)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Deviations != 0 {
			b.Fatalf("%d deviations", sum.Deviations)
		}
		total += sum.Segments
		f.Close()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "segments/s")
}
