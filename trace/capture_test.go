package trace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// rawPackets returns the IP packets of a raw-IP capture.
func rawPackets(t *testing.T, pcap []byte) [][]byte {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
}

// frame wraps an IP packet in link type lt's header.
func frame(lt layers.LinkType, ip []byte) []byte {
	proto := uint16(0x0800)
	if ip[0]>>4 == 6 {
		proto = 0x86dd
	}
	var h []byte
	switch lt {
	case layers.LinkTypeEthernet: // with a VLAN tag, as a trunk port shows it
		h = make([]byte, 18)
		binary.BigEndian.PutUint16(h[12:], 0x8100)
		binary.BigEndian.PutUint16(h[16:], proto)
	case layers.LinkTypeLinuxSLL:
		h = make([]byte, 16)
		binary.BigEndian.PutUint16(h[14:], proto)
	case linkTypeLinuxSLL2:
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], proto)
	case layers.LinkTypeNull:
		h = []byte{2, 0, 0, 0}
	}
	return append(h, ip...)
}

// TestLinkTypes: the same capture as raw IP, Ethernet with a VLAN tag,
// Linux cooked SLL and SLL2 (what tcpdump -i any writes) and BSD
// loopback gets the same verdicts.
func TestLinkTypes(t *testing.T) {
	sc := scenarios()[0]
	raw := encodePcap(t, record(t, sc))
	want, _ := runCapture(t, raw)
	pkts := rawPackets(t, raw)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, linkTypeLinuxSLL2, layers.LinkTypeNull} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65536, lt); err != nil {
			t.Fatal(err)
		}
		for i, p := range pkts {
			f := frame(lt, p)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}, f); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := runCapture(t, buf.Bytes())
		if len(got.segs) != len(want.segs) || len(got.deviations()) != 0 {
			t.Errorf("link type %v: %d verdicts, %d deviations; want %d, 0", lt, len(got.segs), len(got.deviations()), len(want.segs))
		}
	}
}

// TestPcapng reads a pcapng capture.
func TestPcapng(t *testing.T) {
	raw := encodePcap(t, record(t, scenarios()[1]))
	pkts := rawPackets(t, raw)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range pkts {
		f := frame(layers.LinkTypeEthernet, p)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := runCapture(t, buf.Bytes())
	if len(got.segs) != len(pkts) || len(got.deviations()) != 0 {
		t.Errorf("pcapng: %d verdicts, %d deviations; want %d, 0", len(got.segs), len(got.deviations()), len(pkts))
	}
}

// TestBadCaptures: a capture cut short, or that is not one, is an error
// naming the frame (or the file), never a panic; what came before it is
// still judged.
func TestBadCaptures(t *testing.T) {
	raw := encodePcap(t, record(t, scenarios()[0]))
	if _, err := OpenCapture(strings.NewReader("not a capture at all")); !errors.Is(err, ErrNotCapture) {
		t.Errorf("garbage: %v, want ErrNotCapture", err)
	}
	cut := raw[:len(raw)-7]
	capt, err := OpenCapture(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	var c collect
	_, err = New(&c, Options{}).Run(capt)
	n := len(rawPackets(t, raw))
	if err == nil || !strings.Contains(err.Error(), "frame") {
		t.Fatalf("a capture cut inside frame %d: error %v, want one naming the frame", n, err)
	}
	if len(c.segs) != n-1 {
		t.Errorf("%d verdicts before the cut, want %d", len(c.segs), n-1)
	}
}

// FuzzTrace: any bytes after a valid pcap header are judged or refused
// with an error; never a panic or a hang.
func FuzzTrace(f *testing.F) {
	for _, sc := range scenarios()[:6] {
		f.Add(encodePcap(f, record(f, sc))[24:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var hdr bytes.Buffer
		w := pcapgo.NewWriter(&hdr)
		w.WriteFileHeader(65536, layers.LinkTypeRaw)
		capt, err := OpenCapture(bytes.NewReader(append(hdr.Bytes(), body...)))
		if err != nil {
			return
		}
		New(discard{}, Options{MaxConns: 8}).Run(capt)
	})
}

// TestMalformedPacketsSkipped: an IP fragment and a packet with a broken
// header in the middle of a capture are counted and named, not judged, and
// the trace goes on: every other segment gets its verdict.
func TestMalformedPacketsSkipped(t *testing.T) {
	raw := encodePcap(t, record(t, scenarios()[0]))
	pkts := rawPackets(t, raw)
	frag := bytes.Clone(pkts[3])
	frag[6] |= 0x20 // IPv4 more-fragments
	broken := bytes.Clone(pkts[4])
	broken[0] = 0x41 // IPv4 with a 4-byte header
	mixed := append(append(append([][]byte{}, pkts[:3]...), frag, broken), pkts[3:]...)
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65536, layers.LinkTypeRaw)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range mixed {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(p), Length: len(p)}, p)
	}
	c, sum := runCapture(t, buf.Bytes())
	if sum.Malformed != 2 || len(sum.MalformedFrames) != 2 || !strings.Contains(sum.MalformedFrames[0], "frame 4") {
		t.Fatalf("malformed %d, named %q; want frames 4 and 5", sum.Malformed, sum.MalformedFrames)
	}
	if len(c.segs) != len(pkts) || len(c.deviations()) != 0 {
		t.Errorf("%d verdicts, %d deviations; want %d, 0", len(c.segs), len(c.deviations()), len(pkts))
	}
}
