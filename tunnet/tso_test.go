package tunnet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// wholeSink is a sinkDevice that also takes whole packets (WholeWriter),
// keeping a copy of each with its segment size.
type wholeSink struct {
	*sinkDevice
	pkts    [][]byte
	gso     []int
	discard bool // count only
	n       int
}

func (d *wholeSink) Offloads() bool { return true }

func (d *wholeSink) WriteWhole(q int, pkt []byte, offset, gsoSize int) error {
	d.n++
	if d.discard {
		return nil
	}
	d.pkts = append(d.pkts, bytes.Clone(pkt[offset:]))
	d.gso = append(d.gso, gsoSize)
	return nil
}

// TestTSOJoins: consecutive full-sized segments of one connection in a
// batch become one packet with their payloads in order, valid IP header,
// the pseudo-header sum in the checksum field and the segment size; what
// does not continue it (another connection, a gap, a different ACK, after
// a short segment, a FIN) starts a packet of its own.
func TestTSOJoins(t *testing.T) {
	dev := &wholeSink{sinkDevice: newSinkDevice()}
	s, err := New(Config{Device: dev, Addrs: []netip.Addr{rawStackAddr}, Machine: testMachineConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ww == nil {
		t.Fatal("the stack does not use the WholeWriter")
	}
	a := machine.Tuple{LocalAddr: rawStackAddr, LocalPort: 80, RemoteAddr: rawPeerAddr, RemotePort: 4000}
	b := a
	b.RemotePort = 4001
	data := make([]byte, 20*1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	seg := func(seq uint32, n int, flags machine.Flags, ack uint32) *machine.Segment {
		return &machine.Segment{Seq: seq, Ack: ack, Flags: flags, Window: 100, Opts: machine.OptTimestamps, TSVal: 5, TSEcr: 6,
			Payload: data[seq-1000 : int(seq)-1000+n]}
	}
	tx := s.newTx()
	add := func(t *machine.Tuple, sg *machine.Segment) { tx.addSegment(t, 0, sg) }
	add(&a, seg(1000, 1000, machine.ACK, 1))             // starts packet 0
	add(&a, seg(2000, 1000, machine.ACK, 1))             // joins
	add(&a, seg(3000, 1000, machine.ACK|machine.PSH, 1)) // joins, PSH
	add(&a, seg(4000, 600, machine.ACK, 1))              // joins: the last may be short
	add(&a, seg(4600, 1000, machine.ACK, 1))             // packet 1: after a short one
	add(&b, seg(5600, 1000, machine.ACK, 1))             // packet 2: another connection
	add(&b, seg(6600, 1000, machine.ACK, 2))             // packet 3: another ACK
	add(&b, seg(8600, 1000, machine.ACK, 2))             // packet 4: a gap
	add(&b, seg(9600, 1000, machine.ACK|machine.FIN, 2)) // packet 5: a FIN
	s.flushTx(tx)

	wantLens := []int{3600, 1000, 1000, 1000, 1000, 1000}
	wantGSO := []int{1000, 0, 0, 0, 0, 0}
	if len(dev.pkts) != len(wantLens) {
		t.Fatalf("%d packets written, want %d", len(dev.pkts), len(wantLens))
	}
	for i, pkt := range dev.pkts {
		var p header.Packet
		if err := header.DecodeUnchecked(pkt, &p); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if header.Checksum(pkt[:20]) != 0 {
			t.Errorf("packet %d: IPv4 header checksum wrong", i)
		}
		if len(p.Payload) != wantLens[i] || dev.gso[i] != wantGSO[i] {
			t.Errorf("packet %d: %d bytes of payload, segment size %d; want %d, %d", i, len(p.Payload), dev.gso[i], wantLens[i], wantGSO[i])
		}
		off := int(p.TCP.Seq) - 1000
		if !bytes.Equal(p.Payload, data[off:off+len(p.Payload)]) {
			t.Errorf("packet %d: payload is not the bytes from %d on", i, p.TCP.Seq)
		}
		if got, want := binary.BigEndian.Uint16(pkt[20+16:]), header.PseudoHeaderSum(p.Src, p.Dst, header.ProtocolTCP, len(pkt)-20); got != want {
			t.Errorf("packet %d: checksum field %#x, want the pseudo-header sum %#x", i, got, want)
		}
	}
	if dev.pkts[0][20+13]&header.FlagPSH == 0 {
		t.Error("the super-segment lost the PSH of a segment it took")
	}

	// Once warm, a batch of joined segments allocates nothing.
	var segs [10]*machine.Segment
	for k := range segs {
		segs[k] = seg(uint32(1000+k*1000), 1000, machine.ACK, 1)
	}
	dev.discard, dev.n = true, 0
	allocs := testing.AllocsPerRun(100, func() {
		for _, sg := range segs {
			add(&a, sg)
		}
		s.flushTx(tx)
	})
	if allocs != 0 || dev.n != 101 {
		t.Errorf("%v allocations and %v packets per batch, want 0 and 1", allocs, float64(dev.n)/101)
	}
}
