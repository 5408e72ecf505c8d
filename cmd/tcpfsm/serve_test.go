package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-addr", "10.78.0.1/24"},
		{"-listen", "10.78.0.2:80"},
		{"-addr", "10.78.0.1", "-listen", "10.78.0.2:80"},
		{"-addr", "10.78.0.1/24", "-listen", "10.79.0.2:80"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.1:80"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2:0"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2:80", "-app", "ftp"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2:80", "-faults", "loss=x"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2:80", "-cc", "vegas"},
		{"-addr", "10.78.0.1/24", "-listen", "10.78.0.2:80", "extra"},
	} {
		var out, errOut bytes.Buffer
		if code := runServe(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("serve %q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// TestServe runs serve (as root, in a namespace of its own) with the echo
// application, talks to it with the kernel's TCP, stops it with SIGTERM
// and checks what it printed.
func TestServe(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	pcapPath := filepath.Join(t.TempDir(), "serve.pcap")
	_, stop := startServe(t, "-tun", "tfsmserve", "-addr", "10.78.0.1/24", "-listen", "10.78.0.2:7",
		"-app", "echo", "-msl", "100ms", "-pcap", pcapPath)
	c, err := net.Dial("tcp", "10.78.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("echo me"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "echo me" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	time.Sleep(100 * time.Millisecond) // let the last transitions print
	printed := stop()
	for _, want := range []string{"LISTEN -rcv_syn-> SYN-RECEIVED  [listen_rcv_syn 3.10.7.2]", "-> CLOSED", "stopping", "packets in"} {
		if !strings.Contains(printed, want) {
			t.Errorf("serve's output lacks %q", want)
		}
	}
	if fi, err := os.Stat(pcapPath); err != nil || fi.Size() <= 24 {
		t.Errorf("pcap %s: %v, %v", pcapPath, fi, err)
	}
}

// TestServeCloseWaitLeak runs serve with -app noclose, the CLOSE-WAIT leak
// on purpose: the kernel client closes, the application reads EOF and
// never closes, so the connection sits in CLOSE-WAIT; -closewait-warn must
// name it with its 4-tuple and age, and -stats must count it with its age.
func TestServeCloseWaitLeak(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	out, stop := startServe(t, "-tun", "tfsmleak", "-addr", "10.85.0.1/24", "-listen", "10.85.0.2:9",
		"-app", "noclose", "-closewait-warn", "300ms", "-stats", "200ms", "-q")
	c, err := net.Dial("tcp", "10.85.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := c.LocalAddr().(*net.TCPAddr)
	c.Write([]byte("bye"))
	c.(*net.TCPConn).CloseWrite() // our FIN: serve's side goes to CLOSE-WAIT and stays
	want := fmt.Sprintf("CLOSE-WAIT: 10.85.0.2:9 <- %s:%d in CLOSE-WAIT for", client.IP, client.Port)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning %q in:\n%s", want, out.String())
		}
	}
	time.Sleep(250 * time.Millisecond) // one more stats line
	printed := stop()
	if n := strings.Count(printed, "CLOSE-WAIT: "); n != 1 {
		t.Errorf("%d CLOSE-WAIT warnings, want 1 (once per stay)", n)
	}
	if !regexp.MustCompile(`stats at [^:]+: connections LISTEN 1, CLOSE-WAIT 1 \(oldest [0-9.]+m?s\)`).MatchString(printed) {
		t.Errorf("no stats line counting the connection in CLOSE-WAIT with its age")
	}
	if !strings.Contains(printed, "RSTs sent") || !strings.Contains(printed, "drops: malformed ") {
		t.Errorf("the stats lines lack the counters")
	}
}

// startServe runs serve with args in the background and waits until it is
// up; stop sends SIGTERM, waits for it to exit 0 and returns what it printed.
func startServe(t *testing.T, args ...string) (out *syncBuffer, stop func() string) {
	t.Helper()
	out = &syncBuffer{}
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- runServe(args, out, &errOut) }()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "Ctrl-C stops"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: stdout %q, stderr %q", out.String(), errOut.String())
		}
	}
	return out, func() string {
		t.Helper()
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d; stderr %q", code, errOut.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop on SIGTERM")
		}
		printed := out.String()
		t.Logf("serve printed:\n%s", printed)
		return printed
	}
}
