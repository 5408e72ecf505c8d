package trace

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// heapSampler is a Sink that samples the live heap every so many
// segments.
type heapSampler struct {
	n    int
	peak uint64
	sum  []ConnSummary
}

func (h *heapSampler) Segment(*Verdict) error {
	if h.n++; h.n%20000 == 0 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
	return nil
}

func (h *heapSampler) Conn(*ConnSummary) error { return nil }

// TestMemoryBounded: a spoofed SYN flood (200,000 SYNs from distinct
// ports, each answered with a SYN+ACK, none completed) in a capture read
// with MaxConns 2,000: the live heap stays bounded by the connections
// kept, not by the capture, and the summary names the flood.
func TestMemoryBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w := pcapgo.NewWriterNanos(bw)
	w.WriteFileHeader(65536, layers.LinkTypeRaw)
	server := netip.MustParseAddr("10.9.0.1")
	pkt := make([]byte, 128)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	write := func(src, dst netip.Addr, sp, dp uint16, flags uint8, seq, ack uint32) {
		h := header.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: flags, Window: 1000}
		n, err := header.EncodeTCP(pkt, src, dst, &h, nil, 64)
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Microsecond)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: n, Length: n}, pkt[:n])
	}
	const syns = 200_000
	for i := range syns {
		src := netip.AddrFrom4([4]byte{10, 8, byte(i >> 16), byte(i >> 8)})
		sp := uint16(1024 + i%50000)
		write(src, server, sp, 80, uint8(machine.SYN), uint32(i)*7, 0)
		write(server, src, 80, sp, uint8(machine.SYN|machine.ACK), uint32(i)*13, uint32(i)*7+1)
	}
	bw.Flush()
	f.Close()

	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	capt, err := OpenCapture(in)
	if err != nil {
		t.Fatal(err)
	}
	var h heapSampler
	sum, err := New(&h, Options{MaxConns: 2000}).Run(capt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Conns != syns || sum.Deviations != 0 {
		t.Errorf("%d connections, %d deviations; want %d, 0", sum.Conns, sum.Deviations, syns)
	}
	if len(sum.Flood) == 0 {
		t.Error("no SYN-flood signature in the summary")
	}
	t.Logf("%d segments, peak live heap %.1f MiB with MaxConns 2000; %v", sum.Segments, float64(h.peak)/(1<<20), sum.Flood)
	if h.peak > 64<<20 {
		t.Errorf("peak live heap %d MiB: not bounded by MaxConns", h.peak>>20)
	}
}
