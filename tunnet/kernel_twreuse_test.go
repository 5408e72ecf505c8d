package tunnet

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// setSysctl writes a sysctl of the test's network namespace and restores
// it when the test ends.
func setSysctl(t *testing.T, name, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("sysctl %s: %v", name, err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatalf("sysctl %s=%s: %v", name, value, err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })
}

// TestKernelTimeWaitReuse: a kernel client that closes first keeps each
// connection's port in TIME-WAIT for 60 s. With timestamps negotiated and
// net.ipv4.tcp_tw_reuse=1 it may reuse such a port one second later, so a
// client confined to 200 ports opens 600 connections to tcpfsm one after
// another (retrying while every port is less than a second into
// TIME-WAIT); without timestamps it runs out of ports after 200
// (EADDRNOTAVAIL, for longer than the retries wait). A few more than 200
// may succeed: now and then the kernel sends its last ACK twice (once
// from the full socket, once from its TIME-WAIT socket; Linux 6.18), the
// second reaches tcpfsm in CLOSED, which answers with a reset (RFC 9293
// 3.10.7.1), and the kernel (tcp_rfc1337=0) ends that TIME-WAIT early.
//
// TCPFSM_TWREUSE_N=100000 runs the measurement over the kernel's whole
// default port range instead, one subtest per run (the other's TIME-WAIT
// ports would be in the way):
// -run 'TestKernelTimeWaitReuse/^timestamps$' opens 100,000 connections
// (about 10 s), -run 'TestKernelTimeWaitReuse/^no-timestamps$' runs out
// of ports after about 28,000.
func TestKernelTimeWaitReuse(t *testing.T) {
	n, ports := 600, 200
	if s := os.Getenv("TCPFSM_TWREUSE_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("TCPFSM_TWREUSE_N=%q: want a positive count", s)
		}
		n, ports = v, 0
	}
	for _, ts := range []bool{true, false} {
		name := map[bool]string{true: "timestamps", false: "no-timestamps"}[ts]
		t.Run(name, func(t *testing.T) {
			setSysctl(t, "net.ipv4.tcp_tw_reuse", "1")
			if ports > 0 {
				// Ports no socket holds: the other subtest's, and earlier
				// tests', sit in TIME-WAIT and would be one fewer to give.
				lo := unusedPorts(t, ports)
				setSysctl(t, "net.ipv4.ip_local_port_range", strconv.Itoa(lo)+" "+strconv.Itoa(lo+ports-1))
			}
			e := newKernelEnv(t, func(c *Config) { c.Machine.NoTimestamps = !ts })
			ln, err := e.s.Listen("tcp", e.stackAddr(5021))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go serveEcho(ln)
			start := time.Now()
			buf := make([]byte, 1)
			for i := 0; i < n; i++ {
				c, err := dialRetrying(e.stackAddr(5021), 2*time.Second)
				if err != nil {
					if !ts && errors.Is(err, syscall.EADDRNOTAVAIL) && i >= ports {
						t.Logf("without timestamps: out of ports after %d connections, as expected: %v", i, err)
						return
					}
					t.Fatalf("connection %d: %v", i, err)
				}
				if _, err := c.Write(buf); err != nil {
					t.Fatalf("connection %d: write: %v", i, err)
				}
				if _, err := c.Read(buf); err != nil {
					t.Fatalf("connection %d: read: %v", i, err)
				}
				c.Close() // the kernel closes first: its port goes to TIME-WAIT
			}
			d := time.Since(start)
			if !ts && ports > 0 {
				t.Fatalf("without timestamps, %d connections from %d ports succeeded: TIME-WAIT ports were reused without the check timestamps allow", n, ports)
			}
			t.Logf("%d connections from one address in %v: %.0f connections/s", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
		})
	}
}

// unusedPorts returns the first of n consecutive ports from 40000 up that
// no kernel TCP socket of this namespace has as its local port, in any
// state (/proc/net/tcp and tcp6).
func unusedPorts(t *testing.T, n int) int {
	t.Helper()
	used := map[int]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("listing the kernel's sockets: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			_, port, ok := strings.Cut(fields[1], ":") // local_address, ADDR:PORT in hex
			if !ok {
				t.Fatalf("%s: unexpected line %q", f, line)
			}
			p, err := strconv.ParseUint(port, 16, 16)
			if err != nil {
				t.Fatalf("%s: unexpected line %q: %v", f, line, err)
			}
			used[int(p)] = true
		}
	}
	run := 0 // free ports just below p
	for p := 40000; p < 60000; p++ {
		if used[p] {
			run = 0
			continue
		}
		if run++; run == n {
			return p - n + 1
		}
	}
	t.Fatalf("no %d consecutive free ports between 40000 and 60000", n)
	return 0
}

// dialRetrying dials, retrying while the kernel has no local port to give
// (EADDRNOTAVAIL), for up to wait.
func dialRetrying(addr string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err == nil || !errors.Is(err, syscall.EADDRNOTAVAIL) || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}
