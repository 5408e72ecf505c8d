package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
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
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runServe([]string{"-tun", "tfsmserve", "-addr", "10.78.0.1/24", "-listen", "10.78.0.2:7",
			"-app", "echo", "-msl", "100ms", "-pcap", pcapPath}, &out, &errOut)
	}()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "Ctrl-C stops"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: stdout %q, stderr %q", out.String(), errOut.String())
		}
	}
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
	for _, want := range []string{"LISTEN -rcv_syn-> SYN-RECEIVED  [listen_rcv_syn 3.10.7.2]", "-> CLOSED", "stopping", "packets in"} {
		if !strings.Contains(printed, want) {
			t.Errorf("serve's output lacks %q", want)
		}
	}
	if fi, err := os.Stat(pcapPath); err != nil || fi.Size() <= 24 {
		t.Errorf("pcap %s: %v, %v", pcapPath, fi, err)
	}
}
