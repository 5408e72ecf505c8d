package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tcpfsm/tcpfsm/trace"

	"github.com/tcpfsm/tcpfsm/internal/netns"
)

// inFreshNetns reports whether the test runs inside a fresh network
// namespace. If not, as root, it re-runs this one test in a new namespace
// (which dies with the child: nothing to clean up), checks that it passed,
// and returns false: the caller returns. Without root it skips.
func inFreshNetns(t *testing.T) bool {
	t.Helper()
	if netns.Inside(netns.EnvMarker) {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skipf("needs root to create a network namespace and a TUN device (euid %d)", os.Geteuid())
	}
	parent, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netns.EnvMarker+"="+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a fresh network namespace: %v\n%s", t.Name(), err, out)
	}
	t.Logf("ran in a fresh network namespace:\n%s", out)
	return false
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-bogus"},
		{"extra"},
		{"-msl", "0s"},
		{"-msl", "-1s"},
		{"-faults", "loss=200%"},
		{"-faults", "nonsense"},
	} {
		var out, errOut bytes.Buffer
		if code := runDemo(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("demo %q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := runDemo([]string{"-h"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "usage: tcpfsm demo") {
		t.Errorf("demo -h: exit %d, stdout %q", code, out.String())
	}
}

// TestDemo runs the whole demo (as root, in a namespace of its own) and
// checks its story and its pcap.
func TestDemo(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	pcapPath := filepath.Join(t.TempDir(), "demo.pcap")
	var out, errOut bytes.Buffer
	code := runDemo([]string{"-pcap", pcapPath, "-msl", "100ms"}, &out, &errOut)
	story := out.String()
	t.Logf("demo output:\n%s", story)
	if code != 0 || errOut.Len() != 0 {
		t.Fatalf("demo: exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{
		"listen_rcv_syn (3.10.7.2)",        // the passive open
		"-- SYN seq=x ---",                 // relative numbering
		"<-- SYN+ACK seq=y ack=x+1",        // the SYN+ACK acknowledges x+1
		"syn_rcvd_rcv_ack",                 // the handshake's last ACK
		"ESTABLISHED -> FIN-WAIT-1",        // tcpfsm closes first in exchange 1
		"time_wait_timeout (3.10.8) after", // and its TIME-WAIT ends
		"CLOSE-WAIT -> LAST-ACK",           // tcpfsm closes second in exchange 2
		"last_ack_rcv_ack_of_fin",
		"closed_rcv_segment (3.10.7.1)", // the refused connect
		"connection refused",
		"(inferred)",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
	b, err := os.ReadFile(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b[0:4]) != 0xa1b23c4d || binary.LittleEndian.Uint32(b[20:24]) != 101 {
		t.Fatalf("%s is not a nanosecond pcap with LINKTYPE_RAW (%d bytes)", pcapPath, len(b))
	}
	n := 0
	for off := 24; off+16 <= len(b); n++ {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:off+12]))
	}
	if n < 20 {
		t.Fatalf("the pcap holds %d packets; three exchanges need at least 20", n)
	}
	checkTraceTellsStory(t, story, b)
}

// sameStory reports whether the trace's path through the states is the
// demo's, but for what no segment shows at the end of the demo's: a timer
// taking TIME-WAIT to CLOSED, or the machine's Conn going back to LISTEN
// when the runtime reuses it.
func sameStory(trace, demo string) bool {
	if trace == demo {
		return true
	}
	rest, ok := strings.CutPrefix(demo, trace)
	if !ok || rest == "" {
		return false
	}
	for _, st := range strings.Split(strings.TrimPrefix(rest, " -> "), " -> ") {
		if st != "CLOSED" && st != "LISTEN" {
			return false
		}
	}
	return true
}

// summaries is a trace.Sink that keeps the connections' summaries.
type summaries []trace.ConnSummary

func (s *summaries) Segment(*trace.Verdict) error { return nil }
func (s *summaries) Conn(c *trace.ConnSummary) error {
	*s = append(*s, *c)
	return nil
}

// checkTraceTellsStory: tcpfsm trace on the demo's pcap tells the demo's
// story: no deviation, and for each exchange the same path through the
// states for tcpfsm (whose states the demo takes from the machine itself)
// and for the kernel (which the demo infers), but for TIME-WAIT's end,
// which no segment shows.
func checkTraceTellsStory(t *testing.T, story string, pcap []byte) {
	t.Helper()
	capt, err := trace.OpenCapture(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var got summaries
	sum, err := trace.New(&got, trace.Options{}).Run(capt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deviations != 0 {
		t.Errorf("tcpfsm trace finds %d deviations in the demo's pcap", sum.Deviations)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	var want [][2]string // per exchange: tcpfsm's path, the kernel's
	for _, line := range strings.Split(story, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "tcpfsm: "):
			want = append(want, [2]string{strings.TrimPrefix(line, "tcpfsm: ")})
		case strings.HasPrefix(line, "kernel: ") && len(want) > 0:
			want[len(want)-1][1] = strings.TrimSuffix(strings.TrimPrefix(line, "kernel: "), " (inferred)")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("trace finds %d connections, the demo tells %d", len(got), len(want))
	}
	path := func(p []trace.StateSpan) string {
		var names []string
		for _, sp := range p {
			names = append(names, sp.State.String())
		}
		return strings.Join(names, " -> ")
	}
	for i, c := range got {
		stack := 0
		if c.Ends[1].Addr() == demoStackAddr {
			stack = 1
		}
		for j, who := range []string{"tcpfsm", "kernel"} {
			side := stack
			if j == 1 {
				side = 1 - stack
			}
			if tr := path(c.Path[side]); !sameStory(tr, want[i][j]) {
				t.Errorf("exchange %d, %s: trace says %q, the demo %q", i+1, who, tr, want[i][j])
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
