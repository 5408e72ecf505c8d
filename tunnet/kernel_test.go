package tunnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/internal/netns"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// pattern is a reader of n pseudo-random bytes (seeded), cheap to produce
// on both sides.
func pattern(seed uint64, n int64) io.Reader {
	return io.LimitReader(&prng{r: rand.New(rand.NewPCG(seed, seed^0x5eed))}, n)
}

type prng struct{ r *rand.Rand }

func (p *prng) Read(b []byte) (int, error) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := p.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(p.r.Uint32())
	}
	return len(b), nil
}

func sumOf(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, pattern(seed, n))
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// discardServer reads and drops everything until the peer's FIN, then
// closes.
func discardServer(c net.Conn) error {
	defer c.Close()
	_, err := io.Copy(io.Discard, c)
	return err
}

// hashServer reads everything, then answers with the SHA-256 of what it read
// and closes: the sender's half-close, data after a FIN, and a full close.
func hashServer(c net.Conn) error {
	defer c.Close()
	h := sha256.New()
	if _, err := io.Copy(h, c); err != nil {
		return fmt.Errorf("server read: %w", err)
	}
	if _, err := c.Write(h.Sum(nil)); err != nil {
		return fmt.Errorf("server write: %w", err)
	}
	return nil
}

// sendAndHash writes n pattern bytes, half-closes, reads the peer's hash
// and compares.
func sendAndHash(c net.Conn, seed uint64, n int64) error {
	done := writeAndCloseWrite(c, seed, n)
	got, err := io.ReadAll(c)
	if werr := <-done; werr != nil {
		return fmt.Errorf("client write: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	if want := sumOf(seed, n); string(got) != string(want[:]) {
		return fmt.Errorf("SHA-256 of %d bytes: peer got %x, sent %x", n, got, want)
	}
	return nil
}

// writeAndCloseWrite writes n pattern bytes to c and half-closes it, in a
// goroutine; the channel gets its error.
func writeAndCloseWrite(c net.Conn, seed uint64, n int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, pattern(seed, n))
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		done <- err
	}()
	return done
}

// acceptOne accepts one connection on ln; the channel closes after it (or
// empty, if Accept failed).
func acceptOne(ln net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	return accepted
}

// serveOne accepts one connection on ln and runs h on it.
func serveOne(ln net.Listener, h func(net.Conn) error) <-chan error {
	ch := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- err
			return
		}
		ch <- h(c)
	}()
	return ch
}

func TestKernelClientToStack(t *testing.T) {
	for _, n := range []int64{1 << 20, 64 << 20} {
		t.Run(fmt.Sprintf("%dMiB", n>>20), func(t *testing.T) {
			newKernelEnv(t, nil).kernelSendsHashed(t, 5001, uint64(n), n)
		})
	}
}

// kernelSendsHashed has the kernel send n bytes (pattern seed) to a
// hashing server on the stack at port, and fails t unless they all
// arrive, in order.
func (e *kernelEnv) kernelSendsHashed(t testing.TB, port int, seed uint64, n int64) {
	t.Helper()
	ln, err := e.s.Listen("tcp", e.stackAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	hashedTransfer(t, ln, func() (net.Conn, error) { return net.Dial("tcp", e.stackAddr(port)) }, seed, n)
}

// stackSendsHashed is kernelSendsHashed the other way: the stack dials a
// hashing server in the kernel.
func (e *kernelEnv) stackSendsHashed(t testing.TB, seed uint64, n int64) {
	t.Helper()
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	hashedTransfer(t, ln, func() (net.Conn, error) {
		return e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	}, seed, n)
}

// hashedTransfer serves one hashing connection on ln, dials it, sends n
// bytes of pattern seed and waits for the server's verdict.
func hashedTransfer(t testing.TB, ln net.Listener, dial func() (net.Conn, error), seed uint64, n int64) {
	t.Helper()
	defer ln.Close()
	srv := serveOne(ln, hashServer)
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := sendAndHash(c, seed, n); err != nil {
		t.Fatal(err)
	}
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
}

// largest records the largest packet the stack read for one address, and
// the largest it wrote from it.
type largest struct {
	addr    netip.Addr
	in, out atomic.Int64
}

func (l *largest) WritePacket(_ time.Time, pkt []byte) error {
	var p header.Packet
	if header.DecodeUnchecked(pkt, &p) != nil {
		return nil
	}
	m := &l.in
	if p.Src == l.addr {
		m = &l.out
	}
	if int64(len(pkt)) > m.Load() {
		m.Store(int64(len(pkt)))
	}
	return nil
}

// TestKernelSuperSegments: on a TUN with offloads the stack takes the
// kernel's TSO super-segments whole (packets beyond the MTU reach the
// machine) and hands the kernel its own (a connection's consecutive
// segments joined), and the bytes arrive intact both ways; with
// SplitSuperSegments it reads and writes only MTU-sized packets.
func TestKernelSuperSegments(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			rec := &largest{}
			e := newKernelEnv(t, func(c *Config) {
				c.SplitSuperSegments = split
				c.Pcap = rec
				rec.addr = c.Addrs[0]
			})
			const n = 16 << 20
			e.kernelSendsHashed(t, 5003, 7, n)
			e.stackSendsHashed(t, 8, n)
			in, out, mtu := rec.in.Load(), rec.out.Load(), int64(e.s.MTU())
			t.Logf("largest packet read %d bytes, written %d (MTU %d)", in, out, mtu)
			if !split && (in <= mtu || out <= mtu) {
				t.Errorf("largest packets read %d and written %d bytes: super-segments did not pass whole both ways", in, out)
			}
			if split && (in > mtu || out > mtu) {
				t.Errorf("with SplitSuperSegments packets of %d bytes read and %d written", in, out)
			}
		})
	}
}

func TestStackClientToKernel(t *testing.T) {
	for _, n := range []int64{1 << 20, 64 << 20} {
		t.Run(fmt.Sprintf("%dMiB", n>>20), func(t *testing.T) {
			newKernelEnv(t, nil).stackSendsHashed(t, uint64(n)+1, n)
		})
	}
}

func TestKernelIPv6(t *testing.T) {
	e := newKernelEnv(t, nil)
	ln, err := e.s.Listen("tcp6", netip.AddrPortFrom(e.stack6, 5006).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, hashServer)
	c, err := net.Dial("tcp6", netip.AddrPortFrom(e.stack6, 5006).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := sendAndHash(c, 6, 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
	if got := c.LocalAddr().(*net.TCPAddr).IP; got.To4() != nil {
		t.Fatalf("kernel side used %v, want IPv6", got)
	}

	// Refused, both ways, over IPv6.
	_, err = net.Dial("tcp6", netip.AddrPortFrom(e.stack6, 5007).String())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("kernel dial to a closed stack port: got %v, want ECONNREFUSED", err)
	}
	_, err = e.s.DialContext(context.Background(), "tcp6", netip.AddrPortFrom(e.kernel6, 9).String())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stack dial to a closed kernel port: got %v, want ECONNREFUSED", err)
	}
}

func TestKernelRefused(t *testing.T) {
	e := newKernelEnv(t, nil)
	_, err := net.Dial("tcp", e.stackAddr(5002))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("kernel dial to a closed stack port: got %v, want ECONNREFUSED", err)
	}
	_, err = e.s.DialContext(context.Background(), "tcp", e.kernelAddr(9))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stack dial to a closed kernel port: got %v, want ECONNREFUSED", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || ne.Timeout() {
		t.Fatalf("refused error %v: want a net.Error that is not a timeout", err)
	}
	if st := e.s.Stats(); st.NoConn == 0 {
		t.Fatalf("stats: NoConn = 0 after a SYN to a closed port: %+v", st)
	}
}

func TestKernelHalfClose(t *testing.T) {
	e := newKernelEnv(t, nil)
	// The kernel half-closes first: the stack reads EOF in CLOSE-WAIT,
	// then still sends, then closes (LAST-ACK).
	t.Run("kernel-first", func(t *testing.T) {
		ln, err := e.s.Listen("tcp", e.stackAddr(5003))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		srv := serveOne(ln, func(c net.Conn) error {
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil {
				return err
			}
			if string(got) != "ping" {
				return fmt.Errorf("stack read %q, want ping", got)
			}
			if st := c.(*Conn).State().String(); st != "CLOSE-WAIT" {
				return fmt.Errorf("after the kernel's FIN the stack is in %s, want CLOSE-WAIT", st)
			}
			_, err = c.Write([]byte("pong after your FIN"))
			return err
		})
		c, err := net.Dial("tcp", e.stackAddr(5003))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("ping"))
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "pong after your FIN" {
			t.Fatalf("kernel read %q", got)
		}
		if err := <-srv; err != nil {
			t.Fatal(err)
		}
	})
	// The stack half-closes first: FIN-WAIT-1/2, the kernel's answer still
	// arrives, then TIME-WAIT.
	t.Run("stack-first", func(t *testing.T) {
		ln, err := net.Listen("tcp", e.kernelAddr(0))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		srv := serveOne(ln, func(c net.Conn) error {
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil {
				return err
			}
			_, err = c.Write(append([]byte("echo:"), got...))
			return err
		})
		c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("hello"))
		if err := c.(*Conn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("x")); err == nil {
			t.Fatal("Write after CloseWrite succeeded")
		}
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read after CloseWrite: %v", err)
		}
		if string(got) != "echo:hello" {
			t.Fatalf("stack read %q", got)
		}
		if err := <-srv; err != nil {
			t.Fatal(err)
		}
	})
}

func TestKernelPeerAbort(t *testing.T) {
	e := newKernelEnv(t, nil)
	ln, err := e.s.Listen("tcp", e.stackAddr(5004))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := acceptOne(ln)
	kc, err := net.Dial("tcp", e.stackAddr(5004))
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	kc.Write([]byte("some data"))
	buf := make([]byte, 9)
	if _, err := io.ReadFull(sc, buf); err != nil {
		t.Fatal(err)
	}
	kc.(*net.TCPConn).SetLinger(0)
	kc.Close() // RST
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = sc.Read(buf)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the peer's RST: got %v, want ECONNRESET", err)
	}
	if _, err := sc.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write after the peer's RST: got %v, want ECONNRESET", err)
	}
}

// TestKernelStackAbort: the stack aborts; the kernel sees ECONNRESET.
func TestKernelStackAbort(t *testing.T) {
	e := newKernelEnv(t, nil)
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, discardServer)
	c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("bye"))
	c.(*Conn).Abort()
	if err := <-srv; !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("kernel read after the stack's ABORT: got %v, want ECONNRESET", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Abort: got %v, want net.ErrClosed", err)
	}
}

func TestKernelSimultaneousClose(t *testing.T) {
	// Delay both directions so that the two FINs are in flight at once.
	var trMu sync.Mutex
	var rules []string
	delay, err := faults.Parse("delay=30ms")
	if err != nil {
		t.Fatal(err)
	}
	e := newKernelEnv(t, func(c *Config) {
		c.Faults = delay
		c.Observer = func(tr Transition) {
			trMu.Lock()
			rules = append(rules, tr.Rule.String())
			trMu.Unlock()
		}
	})
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kconn := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		kconn <- c
	}()
	c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	kc := <-kconn
	if kc == nil {
		t.Fatal("kernel accept failed")
	}
	time.Sleep(100 * time.Millisecond) // let the handshake's last ACK land
	var wg sync.WaitGroup
	wg.Add(2)
	start := make(chan struct{})
	go func() { defer wg.Done(); <-start; kc.Close() }()
	go func() { defer wg.Done(); <-start; c.Close() }()
	close(start)
	wg.Wait()
	waitDrained(t, e.s, 5*time.Second)
	trMu.Lock()
	defer trMu.Unlock()
	has := func(id string) bool {
		for _, r := range rules {
			if r == id {
				return true
			}
		}
		return false
	}
	if !has("fin_wait_1_rcv_fin") || !has("closing_rcv_ack_of_fin") || !has("time_wait_timeout") {
		t.Fatalf("want FIN-WAIT-1 -> CLOSING -> TIME-WAIT -> CLOSED; rules seen: %v", rules)
	}
}

// lowerKernelRTOMin lowers the kernel's minimum RTO (200 ms) in this
// test's network namespace, where the kernel has the per-namespace sysctl
// (Linux 6.11+), so that loss recovery by timeout does not dominate a lossy
// test's run time; it is restored at cleanup.
func lowerKernelRTOMin(t *testing.T, us int) {
	netns.Require(t) // never touch the host's namespace
	const path = "/proc/sys/net/ipv4/tcp_rto_min_us"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Logf("kernel minimum RTO stays as it is: %v", err)
		return
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(us)), 0o644); err != nil {
		t.Logf("kernel minimum RTO stays as it is: %v", err)
		return
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })
}

// TestKernelFaults: with 5% loss, 2% duplication and 2% reordering in
// both directions between the TUN and the stack, 16 MiB cross intact each
// way (faults.Parse("loss=5%,dup=2%,reorder=2%,seed=1")).
func TestKernelFaults(t *testing.T) {
	fc, err := faults.Parse("loss=5%,dup=2%,reorder=2%,seed=1")
	if err != nil {
		t.Fatal(err)
	}
	e := newKernelEnv(t, func(c *Config) { c.Faults = fc })
	lowerKernelRTOMin(t, 10000)
	// TCPFSM_FAULTS_MB=100 is the measurement of docs/runtime.md: 100 MB
	// each way, timed.
	n := int64(16 << 20)
	if s := os.Getenv("TCPFSM_FAULTS_MB"); s != "" {
		mb, err := strconv.Atoi(s)
		if err != nil || mb < 1 {
			t.Fatalf("TCPFSM_FAULTS_MB=%q: want a positive number of MB", s)
		}
		n = int64(mb) * 1e6
	}
	start := time.Now()
	defer func() {
		t.Logf("%d bytes each way under loss=5%%,dup=2%%,reorder=2%% in %v", n, time.Since(start).Round(time.Millisecond))
	}()
	t.Run("kernel-sends", func(t *testing.T) { e.kernelSendsHashed(t, 5005, 16, n) })
	t.Run("stack-sends", func(t *testing.T) { e.stackSendsHashed(t, 17, n) })
	in, out := e.s.FaultCounters()
	if in.Dropped == 0 || out.Dropped == 0 || in.Duplicated == 0 || in.Reordered == 0 {
		t.Fatalf("the injector did not inject: in %+v, out %+v", in, out)
	}
	t.Logf("faults in: %+v; out: %+v", in, out)
}

// TestKernelTimeWait: the stack closes first, sits in TIME-WAIT for 2*MSL
// (not less, and not much more), then frees the connection.
func TestKernelTimeWait(t *testing.T) {
	var mu sync.Mutex
	var enter, leave time.Duration
	e := newKernelEnv(t, func(c *Config) {
		c.Observer = func(tr Transition) {
			mu.Lock()
			defer mu.Unlock()
			if tr.To == machine.StateTimeWait && tr.From != machine.StateTimeWait {
				enter = tr.At
			}
			if tr.From == machine.StateTimeWait && tr.To == machine.StateClosed {
				leave = tr.At
			}
		}
	})
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, discardServer)
	c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("bye"))
	c.Close()
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
	waitDrained(t, e.s, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if enter == 0 || leave == 0 {
		t.Fatalf("no TIME-WAIT seen (enter %v, leave %v)", enter, leave)
	}
	if d := leave - enter; d < 2*testMSL || d > 2*testMSL+500*time.Millisecond {
		t.Fatalf("TIME-WAIT lasted %v, want 2*MSL = %v (within 500ms)", d, 2*testMSL)
	}
}

// TestKernelUnreadDataSurvivesClose: the kernel sends data and its FIN; the
// stack's application half-closes without reading (CLOSE-WAIT -> LAST-ACK),
// the kernel ACKs our FIN (LAST-ACK -> CLOSED, which deletes the TCB), and
// only then does the application read. Every byte must still be there,
// then EOF, as with a kernel socket.
func TestKernelUnreadDataSurvivesClose(t *testing.T) {
	e := newKernelEnv(t, nil)
	ln, err := e.s.Listen("tcp", e.stackAddr(5010))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := bytes.Repeat([]byte("unread before close; "), 2000) // 42 KB, several segments
	srv := serveOne(ln, func(nc net.Conn) error {
		c := nc.(*Conn)
		defer c.Close()
		deadline := time.Now().Add(10 * time.Second)
		for c.State() != machine.StateCloseWait { // the kernel's data and FIN are in
			if time.Now().After(deadline) {
				return fmt.Errorf("stack never reached CLOSE-WAIT: %v", c.State())
			}
			time.Sleep(time.Millisecond)
		}
		if err := c.CloseWrite(); err != nil { // CLOSE-WAIT -> LAST-ACK, nothing read yet
			return err
		}
		for c.State() != machine.StateClosed { // the kernel ACKs our FIN: the TCB is deleted
			if time.Now().After(deadline) {
				return fmt.Errorf("stack never reached CLOSED: %v", c.State())
			}
			time.Sleep(time.Millisecond)
		}
		got, err := io.ReadAll(c)
		if err != nil {
			return fmt.Errorf("read after CLOSED: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("read %d bytes after CLOSED, want the %d the kernel sent", len(got), len(want))
		}
		return nil
	})
	c, err := net.Dial("tcp", e.stackAddr(5010))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.ReadAll(c); err != nil { // the stack's FIN
		t.Fatal(err)
	}
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
}
