package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// idleRSS opens n connections from the kernel to the stack under test and
// leaves them idle, and returns how much this process's resident memory
// grew per connection. The process also holds the kernel side's n client
// sockets (their Go objects; the kernel's own memory is not in RSS): setup
// A, where both ends are kernel sockets, measures that harness cost.
func idleRSS(s stackUnderTest, n int) (bytesPerConn float64, err error) {
	ln, err := s.Listen(9005)
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	before := rss()
	clients := make([]net.Conn, 0, n)
	servers := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		for _, c := range servers {
			c.Close()
		}
	}()
	addr := netip.AddrPortFrom(s.Addr(), 9005).String()
	// In batches smaller than a listener's backlog, each accepted before
	// the next: a burst beyond it would leave handshakes whose last ACK
	// was dropped half-open at the server, and an idle client never
	// sends again to complete them.
	const batch = 64
	for len(clients) < n {
		for range min(batch, n-len(clients)) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return 0, fmt.Errorf("connection %d: %w", len(clients)+1, err)
			}
			clients = append(clients, c)
		}
		for len(servers) < len(clients) {
			select {
			case c := <-accepted:
				servers = append(servers, c)
			case <-time.After(10 * time.Second):
				return 0, fmt.Errorf("accepted %d of %d", len(servers), len(clients))
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // delayed ACKs and the like settle
	after := rss()
	writeHeapProfile()
	return float64(after-before) / float64(n), nil
}

// rss is this process's resident set after a GC that returns what it can
// to the system, in bytes.
func rss() int64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
