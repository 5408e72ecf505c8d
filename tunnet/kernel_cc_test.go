package tunnet

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/tunnet/faults"
)

// ccBytes and ccMin size TestKernelCongestion and set its bar: the suite
// runs an 8 MiB sample that must reach 0.35 of the kernel's rate (a floor
// under the 0.6-1.2 such samples measure; 4 MiB samples, where slow start
// weighs most and the kernel's rate varies more, measured down to 0.33);
// the figure docs/performance.md quotes, against issue 9's 0.9x target,
// comes from
//
//	go test ./tunnet -run TestKernelCongestion -v -args -cc.bytes=33554432 -cc.min=0.9
var (
	ccBytes = flag.Int64("cc.bytes", 8<<20, "bytes each way in TestKernelCongestion")
	ccMin   = flag.Float64("cc.min", 0.35, "least ratio of tcpfsm's rate to the kernel's in TestKernelCongestion")
)

// tcpCongestion is Linux's TCP_CONGESTION socket option.
const tcpCongestion = 13

// TestKernelCongestion is issue 9's comparison with the kernel, in one
// run: tcpfsm's fault injector adds 20 ms of delay and 1% loss each way
// (an RTT of 40 ms), then tcpfsm (CUBIC) sends to the kernel and the kernel
// (its own CUBIC, with its RACK, PRR and HyStart) sends to tcpfsm, the
// same number of bytes. tcpfsm's throughput must be at least -cc.min times
// the kernel's.
func TestKernelCongestion(t *testing.T) {
	lossy := faults.Rule{Loss: 0.01, DelayMin: 20 * time.Millisecond, DelayMax: 20 * time.Millisecond}
	e := newKernelEnv(t, func(c *Config) {
		c.Faults = faults.Config{Dir: [2]faults.Rule{lossy, lossy}, Seed: 9}
		c.Machine.SndBuf, c.Machine.RcvBuf = 4<<20, 4<<20
		// The defaults (200 ms, as Linux), not the tests' 20 ms: on a
		// 40 ms path a 20 ms floor makes spurious timeouts.
		c.Machine.MinRTO, c.Machine.InitialRTO = 0, 0
	})
	n := *ccBytes
	out, in := bothWays(t, e, n, 7009)
	st := e.s.Stats()
	t.Logf("tcpfsm sender: %d retransmits, %d timeouts, %d fast recoveries", st.Retransmits, st.Timeouts, st.FastRecovery)
	ratio := out / in
	t.Logf("20 ms each way, 1%% loss each way, %d MiB: tcpfsm -> kernel %.2f MB/s, kernel -> tcpfsm %.2f MB/s: %.2fx", n>>20, out/1e6, in/1e6, ratio)
	if ratio < *ccMin {
		t.Errorf("tcpfsm sends at %.2fx the kernel's rate over the same lossy path; want at least %.2fx", ratio, *ccMin)
	}
}

// timedSend writes n bytes to c, closes its write side and waits for the
// peer to close; it returns bytes per second from the first write to the
// peer's close.
func timedSend(t *testing.T, c net.Conn, n int64) float64 {
	t.Helper()
	defer c.Close()
	buf := make([]byte, 64<<10)
	start := time.Now()
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		left -= k
	}
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.(closeWriter); ok {
		cw.CloseWrite()
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// faultyBytes and faultyMax size TestKernelFaultyBulk and set its bar:
// 4 MiB each way in the suite, with no bar on the time (every byte must
// arrive); issue 9's figure, and its 10x target, come from
//
//	go test ./tunnet -run TestKernelFaultyBulk -v -args -faulty.bytes=100000000 -faulty.max=10
var (
	faultyBytes = flag.Int64("faulty.bytes", 4<<20, "bytes each way in TestKernelFaultyBulk")
	faultyMax   = flag.Float64("faulty.max", 0, "most the faulty run may take, in multiples of the clean one (0: report only)")
)

// TestKernelFaultyBulk moves the same bytes each way between tcpfsm and the
// kernel (CUBIC both) with no fault, then with 5% loss, 2% duplication and
// 2% reordering each way: every byte must arrive (timedSend fails
// otherwise), and with -faulty.max the faulty run must take at most that
// many times as long as the clean one.
func TestKernelFaultyBulk(t *testing.T) {
	bad := faults.Rule{Loss: 0.05, Dup: 0.02, Reorder: 0.02, ReorderGap: faults.DefaultReorderGap, ReorderHold: faults.DefaultReorderHold}
	var took [2]time.Duration
	for i, f := range []faults.Config{{}, {Dir: [2]faults.Rule{bad, bad}, Seed: 5}} {
		// A subtest each: the first stack and its TUN (same addresses)
		// must be gone before the second starts.
		t.Run([]string{"clean", "faulty"}[i], func(t *testing.T) {
			e := newKernelEnv(t, func(c *Config) {
				c.Faults = f
				c.Machine.MinRTO, c.Machine.InitialRTO = 0, 0
			})
			start := time.Now()
			out, in := bothWays(t, e, *faultyBytes, 7100+i)
			took[i] = time.Since(start)
			t.Logf("tcpfsm -> kernel %.1f MB/s, kernel -> tcpfsm %.1f MB/s; tcpfsm: %d retransmits, %d timeouts", out/1e6, in/1e6, e.s.Stats().Retransmits, e.s.Stats().Timeouts)
		})
	}
	if t.Failed() {
		return
	}
	t.Logf("%d MB each way: clean %v, with 5%% loss + 2%% dup + 2%% reorder each way %v: %.1fx", *faultyBytes/1e6, took[0], took[1], took[1].Seconds()/took[0].Seconds())
	if r := took[1].Seconds() / took[0].Seconds(); *faultyMax > 0 && r > *faultyMax {
		t.Errorf("the faulty transfer took %.1fx the clean one; want at most %gx", r, *faultyMax)
	}
}

// bothWays sends n bytes from tcpfsm to the kernel, then n from the kernel
// to tcpfsm (CUBIC), each counted to the end, and returns both rates.
func bothWays(t *testing.T, e *kernelEnv, n int64, port int) (out, in float64) {
	t.Helper()
	// The kernel reads with a fixed 4 MiB SO_RCVBUF, as tcpfsm does
	// (RcvBuf): its autotuning would otherwise keep the window as small as
	// a lossy flow's first round trips.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
		})
		return cmp.Or(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), "tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, countServer(n))
	c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	out = timedSend(t, c, n)
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
	sln, err := e.s.Listen("tcp", e.stackAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	defer sln.Close()
	srv = serveOne(sln, countServer(n))
	kc, err := cubicDialer().Dial("tcp", e.stackAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	in = timedSend(t, kc, n)
	if err := <-srv; err != nil {
		t.Fatal(err)
	}
	return out, in
}

// cubicDialer dials with TCP_CONGESTION cubic: the kernel's default here may
// be BBR, and the comparisons are with CUBIC.
func cubicDialer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.IPPROTO_TCP, tcpCongestion, "cubic")
		})
		return cmp.Or(err, serr)
	}}
}

// countServer reads to the end and fails unless exactly n bytes came.
func countServer(n int64) func(net.Conn) error {
	return func(c net.Conn) error {
		defer c.Close()
		got, err := io.Copy(io.Discard, c)
		if err == nil && got != n {
			err = fmt.Errorf("read %d bytes, want %d", got, n)
		}
		return err
	}
}
