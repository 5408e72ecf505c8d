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
// (EADDRNOTAVAIL, for longer than the retries wait).
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
				// Each subtest its own ports: the other's sit in TIME-WAIT.
				lo := map[bool]int{true: 40000, false: 41000}[ts]
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
