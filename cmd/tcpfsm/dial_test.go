package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestDialUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "10.80.0.1:80"},
		{"-local", "10.80.0.2", "10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2"},
		{"-addr", "10.80.0.1/24", "-local", "10.81.0.2", "10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "10.80.0.1"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "10.80.0.1:0"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "[fd00::1]:80"},
		{"-addr", "10.80.0.1/24", "-local", "x", "10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "-faults", "loss=x", "10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "-cc", "vegas", "10.80.0.1:80"},
		{"-addr", "10.80.0.1/24", "-local", "10.80.0.2", "10.80.0.1:80", "extra"},
	} {
		var out, errOut bytes.Buffer
		if code := runDial(args, strings.NewReader(""), &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("dial %q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// kernelServer listens with the kernel's TCP on port (all addresses of
// the test's namespace) and runs serve on one connection.
func kernelServer(t *testing.T, port string, serve func(c *net.TCPConn)) {
	t.Helper()
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c.(*net.TCPConn))
	}()
}

// TestDial runs dial (as root, in a namespace of its own) against kernel
// servers: one where dial closes first (it must wait out TIME-WAIT), one
// that closes first (dial goes CLOSE-WAIT -> LAST-ACK), and a refused port.
func TestDial(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	args := func(tun, net string, port string) []string {
		return []string{"-tun", tun, "-addr", net + ".1/24", "-local", net + ".2", "-msl", "100ms", net + ".1:" + port}
	}

	t.Run("client closes first", func(t *testing.T) {
		kernelServer(t, "7101", func(c *net.TCPConn) {
			line, _ := io.ReadAll(c) // until dial's FIN
			c.Write(bytes.ToUpper(line))
		})
		var out, errOut syncBuffer
		start := time.Now()
		code := runDial(args("tfsmdial1", "10.82.0", "7101"), strings.NewReader("hello over tcpfsm\n"), &out, &errOut)
		took := time.Since(start)
		t.Logf("stderr:\n%s", errOut.String())
		if code != 0 || out.String() != "HELLO OVER TCPFSM\n" {
			t.Fatalf("exit %d, stdout %q; want 0 and the upper-cased line", code, out.String())
		}
		for _, want := range []string{"ESTABLISHED -close-> FIN-WAIT-1", "FIN-WAIT-2 -rcv_fin-> TIME-WAIT", "TIME-WAIT -timeout_2msl-> CLOSED", "CLOSED by [time_wait_timeout]"} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if took < 200*time.Millisecond {
			t.Errorf("dial took %v: it must wait out TIME-WAIT's 2*MSL = 200ms", took)
		}
	})

	t.Run("server closes first", func(t *testing.T) {
		kernelServer(t, "7102", func(c *net.TCPConn) {
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("bye\n"))
		})
		pr, pw := io.Pipe() // standard input stays open: the server ends it
		defer pw.Close()
		go pw.Write([]byte("hi\n"))
		var out, errOut syncBuffer
		code := runDial(args("tfsmdial2", "10.83.0", "7102"), pr, &out, &errOut)
		t.Logf("stderr:\n%s", errOut.String())
		if code != 0 || out.String() != "bye\n" {
			t.Fatalf("exit %d, stdout %q; want 0 and bye", code, out.String())
		}
		for _, want := range []string{"ESTABLISHED -rcv_fin-> CLOSE-WAIT", "CLOSE-WAIT -close-> LAST-ACK", "LAST-ACK -rcv_ack-> CLOSED", "CLOSED by [last_ack_rcv_ack_of_fin]"} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if strings.Contains(errOut.String(), "TIME-WAIT") {
			t.Errorf("the passive closer went through TIME-WAIT")
		}
	})

	t.Run("refused", func(t *testing.T) {
		var out, errOut syncBuffer
		code := runDial(args("tfsmdial3", "10.84.0", "7103"), strings.NewReader(""), &out, &errOut)
		t.Logf("stderr:\n%s", errOut.String())
		if code != 1 || !strings.Contains(errOut.String(), "refused") {
			t.Fatalf("exit %d; want 1 and a refused connection", code)
		}
	})
}
