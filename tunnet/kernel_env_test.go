package tunnet

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/internal/netns"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/tundev"
)

// TestMain re-runs the test binary in a fresh network namespace when root,
// so that the kernel tests own their TUN devices and addresses; without
// root the tests that need them skip.
func TestMain(m *testing.M) { os.Exit(netns.RunTests(m)) }

// kernelEnv is a stack on a TUN device, with the kernel's TCP on the other
// side: the kernel owns kernel4/kernel6, the stack stack4/stack6.
type kernelEnv struct {
	dev             *tundev.Device
	s               *Stack
	kernel4, stack4 netip.Addr
	kernel6, stack6 netip.Addr
}

var tunSeq atomic.Int32

// testMSL keeps TIME-WAIT (2*MSL) short in tests.
const testMSL = 100 * time.Millisecond

func kernelMachineConfig() machine.Config {
	return machine.Config{MSL: testMSL, MinRTO: 20 * time.Millisecond, InitialRTO: 200 * time.Millisecond}
}

// newKernelEnv opens a TUN (MTU 1500), gives the kernel 10.99.0.1/24 and
// fd00:99::1/64 on it and starts a stack owning 10.99.0.2 and fd00:99::2.
// Cleanup checks that every connection ended in CLOSED, closes the stack and
// checks that no goroutine leaked.
func newKernelEnv(t testing.TB, mutate func(*Config)) *kernelEnv {
	t.Helper()
	return newKernelEnvQueues(t, 1, mutate)
}

// newKernelEnvQueues is newKernelEnv on a TUN with that many queues.
func newKernelEnvQueues(t testing.TB, queues int, mutate func(*Config)) *kernelEnv {
	t.Helper()
	netns.Require(t)
	checkGoroutines(t)
	name := fmt.Sprintf("tfsmt%d", tunSeq.Add(1))
	dev, err := tundev.OpenQueues(name, 1500, queues)
	if err != nil {
		t.Fatal(err)
	}
	e := &kernelEnv{
		dev:     dev,
		kernel4: netip.MustParseAddr("10.99.0.1"), stack4: netip.MustParseAddr("10.99.0.2"),
		kernel6: netip.MustParseAddr("fd00:99::1"), stack6: netip.MustParseAddr("fd00:99::2"),
	}
	for _, p := range []netip.Prefix{netip.PrefixFrom(e.kernel4, 24), netip.PrefixFrom(e.kernel6, 64)} {
		if err := dev.AddAddr(p); err != nil {
			dev.Close()
			t.Fatal(err)
		}
	}
	if err := dev.SetTxQueueLen(10000); err != nil {
		dev.Close()
		t.Fatal(err)
	}
	if err := dev.SetUp(); err != nil {
		dev.Close()
		t.Fatal(err)
	}
	cfg := Config{
		Device:  dev,
		Addrs:   []netip.Addr{e.stack4, e.stack6},
		Machine: kernelMachineConfig(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		dev.Close()
		t.Fatal(err)
	}
	e.s = s
	t.Cleanup(func() {
		if !t.Failed() {
			waitDrained(t, s, 10*2*testMSL+5*time.Second)
		}
		s.Close()
	})
	return e
}

func (e *kernelEnv) stackAddr(port int) string {
	return netip.AddrPortFrom(e.stack4, uint16(port)).String()
}
func (e *kernelEnv) kernelAddr(port int) string {
	return netip.AddrPortFrom(e.kernel4, uint16(port)).String()
}

// checkGoroutines fails the test if, after its cleanups, more goroutines
// run than before it (after letting them settle).
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before the test, %d after:\n%s", before, n, onlyOurs(string(buf)))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// onlyOurs keeps the goroutine dumps that mention tunnet.
func onlyOurs(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "tunnet") && !strings.Contains(g, "checkGoroutines") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}
