package tunnet

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
	"golang.org/x/sys/unix"
)

// floodNet is where spoofed SYNs come from: a /16 routed over the TUN
// device (the kernel owns floodNet's first address), so replies to its
// addresses cross the TUN and vanish, as replies to spoofed sources do on
// a real path: the stack's SYN+ACKs are not the kernel's to deliver (it
// does not forward) and the kernel's reach the stack, which owns none of
// them.
var floodNet = netip.MustParsePrefix("10.98.0.1/16")

// synFlooder sends spoofed SYNs (random source address in floodNet,
// random port and sequence number, an MSS option) through a raw socket at
// a steady rate, as hping3 --flood --rand-source would.
type synFlooder struct {
	fd      int
	dst     netip.AddrPort
	rate    int
	sent    atomic.Int64
	errs    atomic.Int64
	elapsed time.Duration // how long run ran, once it has returned
}

func newSynFlooder(t *testing.T, dst netip.AddrPort, rate int) *synFlooder {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		t.Skipf("raw socket for the SYN flood: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	return &synFlooder{fd: fd, dst: dst, rate: rate}
}

// run floods until ctx ends, catching up on the schedule every 100 µs.
func (f *synFlooder) run(ctx context.Context, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	to := &unix.SockaddrInet4{Addr: f.dst.Addr().As4()}
	buf := make([]byte, 128)
	base := floodNet.Masked().Addr().As4()
	start := time.Now()
	for ctx.Err() == nil {
		due := int64(time.Since(start).Seconds() * float64(f.rate))
		for n := f.sent.Load(); n < due; n++ {
			src := base
			for src == base || src == floodNet.Addr().As4() {
				src[2], src[3] = byte(rnd.Uint32()), byte(rnd.Uint32())
			}
			h := header.TCP{
				SrcPort: uint16(1024 + rnd.IntN(64000)), DstPort: f.dst.Port(),
				Seq: rnd.Uint32(), Flags: header.FlagSYN, Window: 64240,
			}
			h.Opts.MSS, h.Opts.HasMSS = 1460, true
			l, err := header.EncodeTCP(buf, netip.AddrFrom4(src), f.dst.Addr(), &h, nil, 64)
			if err != nil {
				panic(err) // a fixed, valid header: a bug in the test
			}
			if unix.Sendto(f.fd, buf[:l], 0, to) != nil {
				f.errs.Add(1)
			}
			f.sent.Add(1)
		}
		time.Sleep(100 * time.Microsecond)
	}
	f.elapsed = time.Since(start)
}

// floodResult is what the real clients saw during a flood.
type floodResult struct {
	ok, failed  int
	connect     []time.Duration // of the connections that succeeded, sorted
	firstErr    error
	floodPerSec float64 // SYNs the flooder sent per second
}

func (r *floodResult) quantile(q float64) time.Duration {
	if len(r.connect) == 0 {
		return 0
	}
	return r.connect[min(len(r.connect)-1, int(q*float64(len(r.connect))))]
}

func (r *floodResult) String() string {
	return fmt.Sprintf("%d of %d real connects succeeded (%.1f%%), connect time p50 %v p99 %v max %v, under %.0f spoofed SYNs/s",
		r.ok, r.ok+r.failed, 100*float64(r.ok)/float64(max(1, r.ok+r.failed)),
		r.quantile(0.5).Round(10*time.Microsecond), r.quantile(0.99).Round(10*time.Microsecond),
		r.quantile(1).Round(10*time.Microsecond), r.floodPerSec)
}

// underFlood floods dst at rate spoofed SYNs/s for d and meanwhile makes
// n real connections to dst from the kernel, evenly spread: each must
// connect, echo a byte and close, within 3 s (a real client's SYN the
// server never saw is sent again after 1 s). sample, if set, runs every
// 50 ms while the flood lasts.
func underFlood(t *testing.T, dst netip.AddrPort, rate int, d time.Duration, n int, sample func()) *floodResult {
	t.Helper()
	f := newSynFlooder(t, dst, rate)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.run(ctx, uint64(time.Now().UnixNano())) })
	if sample != nil {
		wg.Go(func() {
			for tick := time.NewTicker(50 * time.Millisecond); ctx.Err() == nil; <-tick.C {
				sample()
			}
		})
	}
	// Let the flood fill the backlog before the first real client.
	time.Sleep(min(d/4, 500*time.Millisecond))
	start := time.Now()
	times := make([]time.Duration, n)
	errs := make([]error, n)
	var clients sync.WaitGroup
	for i := range n {
		time.Sleep(time.Until(start.Add(d * 3 / 4 * time.Duration(i) / time.Duration(n))))
		clients.Go(func() { times[i], errs[i] = realConnect(dst) })
	}
	clients.Wait()
	stop()
	wg.Wait()
	r := &floodResult{floodPerSec: float64(f.sent.Load()) / f.elapsed.Seconds()}
	for i := range n {
		if errs[i] != nil {
			r.failed++
			if r.firstErr == nil {
				r.firstErr = fmt.Errorf("connect %d: %w", i, errs[i])
			}
			continue
		}
		r.ok++
		r.connect = append(r.connect, times[i])
	}
	slices.Sort(r.connect)
	if e := f.errs.Load(); e > 0 {
		t.Logf("%d of %d spoofed SYNs could not be sent (the device queue was full)", e, f.sent.Load())
	}
	return r
}

// realConnect connects to dst, exchanges a byte and closes; it returns
// how long the connect took.
func realConnect(dst netip.AddrPort) (time.Duration, error) {
	deadline := time.Now().Add(3 * time.Second)
	start := time.Now()
	c, err := net.DialTimeout("tcp", dst.String(), 3*time.Second)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	defer c.Close()
	c.SetDeadline(deadline)
	b := []byte{'x'}
	if _, err := c.Write(b); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if _, err := c.Read(b); err != nil {
		return 0, fmt.Errorf("read the echo: %w", err)
	}
	return took, nil
}

// synFloodParams are the flood's rate, length and number of real
// connects: a small run by default; TCPFSM_SYNFLOOD_RATE=N measures at N
// SYNs/s for 10 s with 1,000 connects and holds tcpfsm to the target
// (p99 connect time under 10 ms).
func synFloodParams(t *testing.T) (rate int, d time.Duration, n int, measure bool) {
	s := os.Getenv("TCPFSM_SYNFLOOD_RATE")
	if s == "" {
		return 20000, 2 * time.Second, 100, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		t.Fatalf("TCPFSM_SYNFLOOD_RATE=%q: want a positive rate in SYNs/s", s)
	}
	return v, 10 * time.Second, 1000, true
}

// TestKernelSynFlood: under a flood of spoofed SYNs (from random
// addresses whose replies vanish), real kernel clients still connect to a
// tcpfsm listener, because once the backlog is full of the flood's
// half-open connections every SYN gets a SYN cookie and no state, and a
// real client's ACK returns its cookie. The stack's memory stays bounded:
// never more half-open connections than the backlog, and the heap grows
// by a bounded amount however many SYNs arrive. The same run measures
// Linux with net.ipv4.tcp_syncookies=1 (its listener on the kernel's own
// address, so its path has no TUN and favours it) for comparison.
//
// By default a small sample (20,000 SYNs/s for 2 s, 100 connects) runs;
// TCPFSM_SYNFLOOD_RATE=100000 go test ./tunnet -run TestKernelSynFlood -v
// is the measurement.
func TestKernelSynFlood(t *testing.T) {
	rate, d, n, measure := synFloodParams(t)
	const backlog = 128
	var results [2]*floodResult
	t.Run("tcpfsm", func(t *testing.T) {
		e := newKernelEnv(t, func(c *Config) {
			c.Backlog = backlog
			c.Machine.InitialRTO = time.Second // the half-open connections' SYN+ACKs as in production
		})
		if err := e.dev.AddAddr(floodNet); err != nil {
			t.Fatal(err)
		}
		dst := netip.AddrPortFrom(e.stack4, 5031)
		ln, err := e.s.Listen("tcp", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go serveEcho(ln)
		var baseline runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&baseline)
		var peakHeap uint64
		var peakHalfOpen int
		r := underFlood(t, dst, rate, d, n, func() {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakHeap = max(peakHeap, m.HeapInuse)
			peakHalfOpen = max(peakHalfOpen, e.s.States()[machine.StateSynReceived].N)
		})
		st := e.s.Stats()
		growth := int64(peakHeap) - int64(baseline.HeapInuse)
		t.Logf("tcpfsm: %v; %d SYN cookies sent, %d taken; at most %d half-open connections (backlog %d); heap in use grew by at most %.1f MiB",
			r, st.CookiesSent, st.CookiesTaken, peakHalfOpen, backlog, float64(growth)/(1<<20))
		results[0] = r
		if r.ok < n*99/100 {
			t.Errorf("only %d of %d real connects succeeded, want at least 99%%; first failure: %v", r.ok, n, r.firstErr)
		}
		if st.CookiesSent == 0 || st.CookiesTaken == 0 {
			t.Errorf("%d cookies sent, %d taken: the flood never filled the backlog, so this measured nothing", st.CookiesSent, st.CookiesTaken)
		}
		if peakHalfOpen > backlog {
			t.Errorf("%d connections in SYN-RECEIVED, more than the backlog of %d", peakHalfOpen, backlog)
		}
		// The real clients' connections and goroutines take a few MiB;
		// state per spoofed SYN would take far more (d*rate SYNs).
		if growth > 64<<20 {
			t.Errorf("heap in use grew by %d MiB under the flood: memory is not bounded by the backlog", growth>>20)
		}
		if measure && r.quantile(0.99) >= 10*time.Millisecond {
			t.Errorf("p99 connect time %v, want under 10 ms", r.quantile(0.99))
		}
	})
	t.Run("linux", func(t *testing.T) {
		setSysctl(t, "net.ipv4.tcp_syncookies", "1")
		e := newKernelEnv(t, nil)
		if err := e.dev.AddAddr(floodNet); err != nil {
			t.Fatal(err)
		}
		dst := netip.AddrPortFrom(e.kernel4, 5032)
		ln, err := net.Listen("tcp", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go serveEcho(ln)
		before := tcpExtCounter(t, "SyncookiesSent")
		r := underFlood(t, dst, rate, d, n, nil)
		t.Logf("linux:  %v; %d SYN cookies sent", r, tcpExtCounter(t, "SyncookiesSent")-before)
		results[1] = r
		if r.ok == 0 {
			t.Errorf("no real connect to Linux succeeded (%v): the setup is broken", r.firstErr)
		}
	})
	if results[0] != nil && results[1] != nil {
		t.Logf("success rate: tcpfsm %.1f%%, Linux %.1f%%; p99 connect: tcpfsm %v, Linux %v",
			100*float64(results[0].ok)/float64(n), 100*float64(results[1].ok)/float64(n),
			results[0].quantile(0.99).Round(10*time.Microsecond), results[1].quantile(0.99).Round(10*time.Microsecond))
	}
}

// tcpExtCounter reads one TcpExt counter of /proc/net/netstat (this
// network namespace's).
func tcpExtCounter(t *testing.T, name string) int64 {
	t.Helper()
	f, err := os.Open("/proc/net/netstat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		names := strings.Fields(sc.Text())
		if len(names) == 0 || names[0] != "TcpExt:" || !sc.Scan() {
			continue
		}
		values := strings.Fields(sc.Text())
		for i, n := range names {
			if n == name && i < len(values) {
				v, err := strconv.ParseInt(values[i], 10, 64)
				if err != nil {
					t.Fatalf("/proc/net/netstat: TcpExt %s: %v", name, err)
				}
				return v
			}
		}
	}
	t.Fatalf("/proc/net/netstat: no TcpExt counter %s", name)
	return 0
}
