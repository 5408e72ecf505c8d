package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// tinyCapture writes a raw-IP pcap of segments from a (10.5.0.1:40000) and
// b (10.5.0.2:80): fromA, flags, seq, ack for each.
func tinyCapture(t *testing.T, segs [][4]uint32) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65536, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddr("10.5.0.1"), netip.MustParseAddr("10.5.0.2")
	pkt := make([]byte, 128)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range segs {
		src, dst, sp, dp := a, b, uint16(40000), uint16(80)
		if s[0] == 0 {
			src, dst, sp, dp = b, a, dp, sp
		}
		h := header.TCP{SrcPort: sp, DstPort: dp, Flags: uint8(s[1]), Seq: s[2], Ack: s[3], Window: 1000}
		n, err := header.EncodeTCP(pkt, src, dst, &h, nil, 64)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: n, Length: n}, pkt[:n]); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	fSYN = header.FlagSYN
	fRST = header.FlagRST
	fACK = header.FlagACK
)

func TestTraceCommand(t *testing.T) {
	// A refused connect: SYN, then RST+ACK from CLOSED.
	refused := tinyCapture(t, [][4]uint32{{1, fSYN, 1000, 0}, {0, fRST | fACK, 0, 1001}})
	// The same, and then the client answers the RST with a RST.
	rstRst := tinyCapture(t, [][4]uint32{{1, fSYN, 1000, 0}, {0, fRST | fACK, 0, 1001}, {1, fRST, 1001, 0}})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"explained", []string{refused}, 0, "closed_rcv_segment"},
		{"deviation", []string{rstRst}, 1, "RST answered with RST"},
		{"json", []string{"-format", "json", refused}, 0, `"type":"conn"`},
		{"mermaid", []string{"-format", "mermaid", refused}, 0, "sequenceDiagram"},
		{"filter out", []string{"-conn", "443", refused}, 0, "0 TCP segments in 0 connections"},
		{"bad format", []string{"-format", "xml", refused}, 2, ""},
		{"bad filter", []string{"-conn", "nope", refused}, 2, ""},
		{"no file", []string{filepath.Join(t.TempDir(), "missing.pcap")}, 2, ""},
		{"two files", []string{refused, refused}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runTrace(tc.args, &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
			if tc.code == 2 && errOut.Len() == 0 {
				t.Error("exit 2 without a word on stderr")
			}
		})
	}
	// JSON Lines: every line an object; segments carry the fields issue 10
	// names.
	var out bytes.Buffer
	runTrace([]string{"-format", "json", rstRst}, &out, &bytes.Buffer{})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	segs := 0
	for _, l := range lines {
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		if o["type"] != "segment" {
			continue
		}
		segs++
		for _, k := range []string{"frame", "conn", "dir", "flags", "seq", "ack", "len", "rules", "states", "deviation"} {
			if _, ok := o[k]; !ok {
				t.Errorf("segment object lacks %q: %s", k, l)
			}
		}
		if o["frame"] == float64(3) {
			d, ok := o["deviation"].(map[string]any)
			if !ok || d["side"] != "10.5.0.1:40000" || d["expected"] == "" || d["why"] == "" {
				t.Errorf("frame 3's deviation: %v", o["deviation"])
			}
		} else if o["deviation"] != nil {
			t.Errorf("frame %v deviates: %v", o["frame"], o["deviation"])
		}
	}
	if segs != 3 {
		t.Errorf("%d segment objects, want 3", segs)
	}
}
