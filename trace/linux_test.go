package trace

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

// linuxScenario is one exchange between two Linux endpoints, A (the
// client, in the test's namespace) and B (the server, in the second).
type linuxScenario struct {
	name string
	run  func(t *testing.T, e *linuxEnv)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// serve accepts one connection in B and runs h on it.
func serve(t *testing.T, ln net.Listener, h func(c net.Conn)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		h(c)
	}()
	return done
}

func dialA(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	must(t, err)
	return c
}

func readAll(c net.Conn) int64 { n, _ := io.Copy(io.Discard, c); return n }

func linuxScenarios() []linuxScenario {
	return []linuxScenario{
		{"client-closes-first", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				buf := make([]byte, 100)
				io.ReadFull(c, buf)
				c.Write(bytes.Repeat([]byte("r"), 1000))
				readAll(c)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write(bytes.Repeat([]byte("q"), 100))
			io.ReadFull(c, make([]byte, 1000))
			c.Close()
			<-done
		}},
		{"server-closes-first", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				c.Write(bytes.Repeat([]byte("r"), 5000))
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			readAll(c)
			c.Close()
			<-done
		}},
		{"refused", func(t *testing.T, e *linuxEnv) {
			if _, err := net.DialTimeout("tcp", addrB4+":81", 5*time.Second); err == nil {
				t.Fatal("connected to a port nothing listens on")
			}
		}},
		{"rst-abort-linger0", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, addrB4+":80")
			c.Write([]byte("hello"))
			time.Sleep(20 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			<-done
		}},
		{"data-both-ways", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { reqResp(c, 300, 3000); c.Close() })
			c := dialA(t, addrB4+":80")
			for range 5 {
				c.Write(bytes.Repeat([]byte("q"), 300))
				io.ReadFull(c, make([]byte, 3000))
			}
			c.Close()
			<-done
		}},
		{"half-close-client", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				readAll(c)
				for range 3 {
					c.Write(bytes.Repeat([]byte("r"), 20000))
					time.Sleep(5 * time.Millisecond)
				}
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write([]byte("request"))
			c.(*net.TCPConn).CloseWrite()
			readAll(c)
			c.Close()
			<-done
		}},
		{"half-close-server", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				c.Write([]byte("banner"))
				c.(*net.TCPConn).CloseWrite()
				readAll(c)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			readAll(c)
			c.Write(bytes.Repeat([]byte("q"), 50000))
			c.Close()
			<-done
		}},
		{"simultaneous-close", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			both := make(chan struct{})
			done := serve(t, ln, func(c net.Conn) {
				io.ReadFull(c, make([]byte, 4))
				<-both
				c.(*net.TCPConn).CloseWrite()
				readAll(c)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write([]byte("ping"))
			time.Sleep(10 * time.Millisecond)
			close(both)
			c.(*net.TCPConn).CloseWrite()
			readAll(c)
			c.Close()
			<-done
		}},
		{"http-keep-alive", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						break
					}
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
				}
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			req := []byte("GET / HTTP/1.1\r\nHost: b\r\n" + strings.Repeat("x", 64-29) + "\r\n\r\n")[:64]
			for range 4 {
				c.Write(req)
				io.ReadFull(c, make([]byte, 43))
				time.Sleep(5 * time.Millisecond)
			}
			c.Close()
			<-done
		}},
		{"zero-window-slow-reader", func(t *testing.T, e *linuxEnv) {
			lc := &net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			}}
			ln := e.listenB("tcp", addrB4+":80", lc)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				time.Sleep(700 * time.Millisecond) // the window fills and closes
				readAll(c)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write(make([]byte, 200000))
			c.Close()
			<-done
		}},
		{"bulk-wscale-sack", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, addrB4+":80")
			c.Write(make([]byte, 8<<20))
			c.(*net.TCPConn).CloseWrite()
			readAll(c)
			c.Close()
			<-done
		}},
		{"no-options", func(t *testing.T, e *linuxEnv) {
			sysctl(t, e, false, "ipv4.tcp_sack", "0")
			sysctl(t, e, false, "ipv4.tcp_timestamps", "0")
			sysctl(t, e, false, "ipv4.tcp_window_scaling", "0")
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { reqResp(c, 1000, 30000); c.Close() })
			c := dialA(t, addrB4+":80")
			for range 3 {
				c.Write(make([]byte, 1000))
				io.ReadFull(c, make([]byte, 30000))
			}
			c.Close()
			<-done
		}},
		{"time-wait-reuse", func(t *testing.T, e *linuxEnv) {
			// B closes first and holds TIME-WAIT; A connects again from
			// the same port, and B's TIME-WAIT takes the new SYN (RFC
			// 6191, with timestamps).
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			var local net.Addr
			for i := range 2 {
				done := serve(t, ln, func(c net.Conn) { c.Write([]byte("bye")); c.Close() })
				d := net.Dialer{LocalAddr: local, Control: func(_, _ string, rc syscall.RawConn) error {
					return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
				}}
				c, err := d.Dial("tcp", addrB4+":80")
				if err != nil {
					t.Fatalf("connection %d: %v", i+1, err)
				}
				local = c.LocalAddr()
				readAll(c)
				c.Close()
				<-done
				time.Sleep(20 * time.Millisecond)
			}
		}},
		{"close-with-unread-data", func(t *testing.T, e *linuxEnv) {
			// Closing a socket with unread data aborts it: Linux sends RST
			// (RFC 2525 2.17).
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			got := make(chan struct{})
			done := serve(t, ln, func(c net.Conn) {
				<-got
				time.Sleep(20 * time.Millisecond)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write([]byte("unread"))
			close(got)
			readAll(c)
			c.Close()
			<-done
		}},
		{"nodelay-small-writes", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, addrB4+":80")
			for range 40 {
				c.Write([]byte("x"))
			}
			c.Close()
			<-done
		}},
		{"nagle-small-writes", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, addrB4+":80")
			c.(*net.TCPConn).SetNoDelay(false)
			for range 40 {
				c.Write([]byte("x"))
			}
			c.Close()
			<-done
		}},
		{"keepalive-probes", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, addrB4+":80")
			c.(*net.TCPConn).SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 5})
			c.Write([]byte("hi"))
			time.Sleep(2500 * time.Millisecond)
			c.Close()
			<-done
		}},
		{"rst-server-abort", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) {
				io.ReadFull(c, make([]byte, 5))
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
			c := dialA(t, addrB4+":80")
			c.Write([]byte("hello"))
			readAll(c)
			c.Close()
			<-done
		}},
		{"write-after-peer-closed", func(t *testing.T, e *linuxEnv) {
			// B closes at once; A reads the FIN, then writes: B's socket is
			// gone, so its kernel answers the text with RST.
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { c.Close() })
			c := dialA(t, addrB4+":80")
			readAll(c)
			<-done
			c.Write([]byte("too late"))
			time.Sleep(20 * time.Millisecond)
			c.Close()
		}},
		{"syn-cookies-always", func(t *testing.T, e *linuxEnv) {
			sysctl(t, e, true, "ipv4.tcp_syncookies", "2")
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { reqResp(c, 10, 100); c.Close() })
			c := dialA(t, addrB4+":80")
			c.Write(make([]byte, 10))
			io.ReadFull(c, make([]byte, 100))
			c.Close()
			<-done
		}},
		{"sequential-connections", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			for range 5 {
				done := serve(t, ln, func(c net.Conn) { reqResp(c, 20, 200); c.Close() })
				c := dialA(t, addrB4+":80")
				c.Write(make([]byte, 20))
				io.ReadFull(c, make([]byte, 200))
				c.Close()
				<-done
			}
		}},
		{"ipv6-request-response", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", "["+addrB6+"]:80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { reqResp(c, 100, 10000); c.Close() })
			c := dialA(t, "["+addrB6+"]:80")
			for range 3 {
				c.Write(make([]byte, 100))
				io.ReadFull(c, make([]byte, 10000))
			}
			c.Close()
			<-done
		}},
		{"server-to-client-bulk", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", addrB4+":80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { c.Write(make([]byte, 4<<20)); c.Close() })
			c := dialA(t, addrB4+":80")
			readAll(c)
			c.Close()
			<-done
		}},
		{"bulk-ipv6", func(t *testing.T, e *linuxEnv) {
			ln := e.listenB("tcp", "["+addrB6+"]:80", nil)
			defer ln.Close()
			done := serve(t, ln, func(c net.Conn) { readAll(c); c.Close() })
			c := dialA(t, "["+addrB6+"]:80")
			c.Write(make([]byte, 4<<20))
			c.(*net.TCPConn).CloseWrite()
			readAll(c)
			c.Close()
			<-done
		}},
	}
}

// TestLinuxConformance captures each scenario between two Linux endpoints
// and requires every segment to be explained without a deviation.
// TCPFSM_TRACE_CAPTURES=dir keeps the captures.
func TestLinuxConformance(t *testing.T) {
	for _, sc := range linuxScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			e := newLinuxEnv(t)
			sc.run(t, e)
			time.Sleep(50 * time.Millisecond)
			pcap := e.pcap()
			if dir := os.Getenv("TCPFSM_TRACE_CAPTURES"); dir != "" {
				os.WriteFile(filepath.Join(dir, sc.name+".pcap"), pcap, 0o644)
			}
			c, sum := runCapture(t, pcap)
			if sum.Segments == 0 {
				t.Fatal("captured no TCP segment")
			}
			if devs := c.deviations(); len(devs) > 0 {
				var b strings.Builder
				capt, _ := OpenCapture(bytes.NewReader(pcap))
				ts := NewTextSink(&b)
				s2, _ := New(ts, Options{}).Run(capt)
				ts.Summary(s2)
				t.Errorf("%d deviations in %d segments:\n%s", len(devs), sum.Segments, b.String())
			}
			t.Logf("%d segments in %d connections, %d offloaded checksums", sum.Segments, sum.Conns, sum.Offloaded)
		})
	}
}

// sysctl sets a /proc/sys/net value for the calling namespace and
// restores it when the test ends.
func sysctl(t *testing.T, e *linuxEnv, inB bool, key, val string) {
	t.Helper()
	path := "/proc/sys/net/" + strings.ReplaceAll(key, ".", "/")
	set := func(v string) {
		f := func() {
			if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
				t.Errorf("sysctl %s=%s: %v", key, v, err)
			}
		}
		if inB {
			e.inB(f)
		} else {
			f()
		}
	}
	var old []byte
	read := func() { old, _ = os.ReadFile(path) }
	if inB {
		e.inB(read)
	} else {
		read()
	}
	set(val)
	t.Cleanup(func() { set(strings.TrimSpace(string(old))) })
}

// echoLines serves request/response pairs: for each request of n bytes,
// a reply of m bytes, until EOF.
func reqResp(c net.Conn, n, m int) {
	buf := make([]byte, n)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		c.Write(bytes.Repeat([]byte("r"), m))
	}
}
