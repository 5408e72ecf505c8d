package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

type record struct {
	ts  time.Time
	pkt []byte
}

func readAll(t *testing.T, r io.Reader) (*pcapgo.Reader, []gopacket.CaptureInfo, [][]byte) {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var cis []gopacket.CaptureInfo
	var pkts [][]byte
	for {
		data, ci, err := pr.ReadPacketData()
		if err == io.EOF {
			return pr, cis, pkts
		}
		if err != nil {
			t.Fatal(err)
		}
		cis = append(cis, ci)
		pkts = append(pkts, data)
	}
}

func TestRoundTrip(t *testing.T) {
	base := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	recs := []record{
		{base, tcpSYN4()},
		{base.Add(1500 * time.Nanosecond), tcpSYN6()},
		{base.Add(time.Second), bytes.Repeat([]byte{0x45, 1, 2}, 500)},
		{base.Add(2 * time.Second), []byte{}},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(r.ts, r.pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pr, cis, pkts := readAll(t, &buf)
	if pr.LinkType() != LinkTypeRaw {
		t.Errorf("link type %v, want %d", pr.LinkType(), LinkTypeRaw)
	}
	if pr.Snaplen() != DefaultSnaplen {
		t.Errorf("snaplen %d", pr.Snaplen())
	}
	if len(pkts) != len(recs) {
		t.Fatalf("read %d packets, wrote %d", len(pkts), len(recs))
	}
	for i, r := range recs {
		if !bytes.Equal(pkts[i], r.pkt) {
			t.Errorf("packet %d differs", i)
		}
		if !cis[i].Timestamp.Equal(r.ts) {
			t.Errorf("packet %d timestamp %v, want %v", i, cis[i].Timestamp, r.ts)
		}
		if cis[i].Length != len(r.pkt) || cis[i].CaptureLength != len(r.pkt) {
			t.Errorf("packet %d lengths %d/%d, want %d", i, cis[i].CaptureLength, cis[i].Length, len(r.pkt))
		}
	}
}

func TestSnaplenTruncates(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 64)
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 100)
	for i := range pkt {
		pkt[i] = byte(i)
	}
	if err := w.WritePacket(time.Unix(1, 0), pkt); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	_, cis, pkts := readAll(t, &buf)
	if len(pkts) != 1 || !bytes.Equal(pkts[0], pkt[:64]) || cis[0].Length != 100 || cis[0].CaptureLength != 64 {
		t.Fatalf("got %d packets, lengths %+v", len(pkts), cis)
	}
}

func TestWriteBatch(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	bufs := [][]byte{[]byte("xxAAAA"), []byte("xxBBBBBB"), []byte("xxC")}
	if err := w.WriteBatch(time.Unix(5, 0), bufs, []int{4, 3, 1}, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(time.Unix(5, 0), bufs, []int{7}, 2); err == nil {
		t.Error("size beyond buffer accepted")
	}
	if err := w.WriteBatch(time.Unix(5, 0), bufs, nil, 9); err == nil {
		t.Error("offset beyond buffer accepted")
	}
	w.Close()
	_, _, pkts := readAll(t, &buf)
	want := []string{"AAAA", "BBB", "C"}
	if len(pkts) != len(want) {
		t.Fatalf("read %d packets", len(pkts))
	}
	for i := range want {
		if string(pkts[i]) != want[i] {
			t.Errorf("packet %d = %q, want %q", i, pkts[i], want[i])
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				// A packet whose every byte names its writer, of a length
				// naming its index: torn records would show.
				pkt := bytes.Repeat([]byte{byte(g)}, 1+i%300)
				if err := w.WritePacket(time.Unix(int64(i), 0), pkt); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	_, _, pkts := readAll(t, &buf)
	if len(pkts) != writers*each {
		t.Fatalf("read %d packets, want %d", len(pkts), writers*each)
	}
	count := map[string]int{}
	for _, p := range pkts {
		if len(bytes.Trim(p, string(p[:1]))) != 0 {
			t.Fatalf("torn packet %x", p)
		}
		count[fmt.Sprint(p[0], len(p))]++
	}
	for g := range writers {
		for i := range each {
			if count[fmt.Sprint(g, 1+i%300)] == 0 {
				t.Fatalf("writer %d packet %d missing", g, i)
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestErrors(t *testing.T) {
	if _, err := NewWriter(io.Discard, DefaultSnaplen+1); err == nil {
		t.Error("huge snaplen accepted")
	}
	w, err := NewWriter(failWriter{}, 0)
	if err != nil {
		t.Fatal(err) // buffered: the header is not written yet
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("flush to a failing writer: %v", err)
	}
	w2, _ := NewWriter(io.Discard, 0)
	w2.Close()
	if err := w2.WritePacket(time.Now(), []byte{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "dir.pcap"), 0); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}

func TestWritePacketDoesNotAllocate(t *testing.T) {
	w, _ := NewWriter(io.Discard, 0)
	pkt := tcpSYN4()
	ts := time.Now()
	if n := testing.AllocsPerRun(1000, func() { w.WritePacket(ts, pkt) }); n != 0 {
		t.Errorf("WritePacket allocates %v times per call", n)
	}
}

// TestTshark writes real TCP SYNs (IPv4 and IPv6, valid checksums) and has
// tshark decode them.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install -y tshark); skipping the Wireshark cross-check")
	}
	path := filepath.Join(t.TempDir(), "syn.pcap")
	w, err := Create(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.WritePacket(now, tcpSYN4())
	w.WritePacket(now.Add(time.Millisecond), tcpSYN6())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "tcp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=,",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "tcp.dstport",
		"-e", "tcp.flags", "-e", "tcp.seq_raw", "-e", "tcp.checksum.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		"10.99.0.1,,40000,80,0x0002,305419896,1",
		",fd00:99::1,40000,80,0x0002,305419896,1",
	}
	if len(lines) != len(want) {
		t.Fatalf("tshark printed %q", out)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("packet %d: tshark says %q, want %q (ip.src,ipv6.src,sport,dport,flags,seq,checksum good=1)", i, lines[i], want[i])
		}
	}
}

func BenchmarkWritePacket(b *testing.B) {
	w, _ := NewWriter(io.Discard, 0)
	pkt := make([]byte, 1500)
	ts := time.Now()
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		w.WritePacket(ts, pkt)
	}
}

// tcpSYN4 is 10.99.0.1:40000 -> 10.99.0.2:80 SYN, seq 0x12345678, MSS 1460.
func tcpSYN4() []byte {
	src, dst := []byte{10, 99, 0, 1}, []byte{10, 99, 0, 2}
	tcp := synSegment()
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	copy(ip[12:], src)
	copy(ip[16:], dst)
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
	pseudo := sum(sum(0, src), dst) + 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum(pseudo, tcp)))
	return append(ip, tcp...)
}

// tcpSYN6 is fd00:99::1:40000 -> fd00:99::2:80 SYN, same segment.
func tcpSYN6() []byte {
	src := []byte{0xfd, 0, 0, 0x99, 15: 1}
	dst := []byte{0xfd, 0, 0, 0x99, 15: 2}
	tcp := synSegment()
	ip := make([]byte, 40)
	ip[0], ip[6], ip[7] = 0x60, 6, 64
	binary.BigEndian.PutUint16(ip[4:], uint16(len(tcp)))
	copy(ip[8:], src)
	copy(ip[24:], dst)
	pseudo := sum(sum(0, src), dst) + 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum(pseudo, tcp)))
	return append(ip, tcp...)
}

func synSegment() []byte {
	tcp := make([]byte, 24)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], 0x12345678)
	tcp[12] = 6 << 4 // data offset: 24 bytes
	tcp[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], []byte{2, 4, 0x05, 0xb4}) // MSS 1460
	return tcp
}

func sum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
