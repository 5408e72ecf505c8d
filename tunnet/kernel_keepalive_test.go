package tunnet

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// TestKernelKeepalive: tcpfsm's keepalive probes an idle connection to the
// kernel, which answers them; once the kernel vanishes (the TUN device is
// set down, so nothing reaches it or comes back), the connection is given
// up after Count unanswered probes and a blocked Read fails with
// ETIMEDOUT, Idle + Count*Interval after the kernel was last heard.
func TestKernelKeepalive(t *testing.T) {
	var probes, deaths atomic.Int32
	e := newKernelEnv(t, func(c *Config) {
		c.Observer = func(tr Transition) {
			switch tr.Rule {
			case machine.RuleKeepaliveProbe:
				probes.Add(1)
			case machine.RuleKeepaliveDead:
				deaths.Add(1)
			}
		}
	})
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := acceptOne(ln)
	nc, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	kc := <-accepted
	if kc == nil {
		t.Fatal("the kernel accepted nothing")
	}
	defer kc.Close()
	c := nc.(*Conn)
	// Linux answers a probe (an out-of-window segment) at most every
	// 500 ms (net.ipv4.tcp_invalid_ratelimit): probes of an idle but live
	// connection must be further apart.
	const idle, interval, count = 700 * time.Millisecond, 200 * time.Millisecond, 3
	if err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: idle, Interval: interval, Count: count}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2*idle + idle/2)
	if n := probes.Load(); n < 2 || c.State() != machine.StateEstablished {
		t.Fatalf("after %v idle: %d probes, state %v; want at least 2 answered probes and ESTABLISHED", 2*idle+idle/2, n, c.State())
	}
	if err := e.dev.SetDown(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	d := time.Since(start)
	if !errors.Is(err, syscall.ETIMEDOUT) || deaths.Load() != 1 {
		t.Fatalf("Read after the kernel vanished: %v (keepalive_dead %d times), want ETIMEDOUT by keepalive_dead", err, deaths.Load())
	}
	if min, max := count*interval, idle+count*interval+500*time.Millisecond; d < min || d > max {
		t.Fatalf("given up %v after the kernel vanished, want %v..%v", d, min, max)
	}
	t.Logf("keepalive: %d probes; the vanished kernel was given up %v after the device went down", probes.Load(), d.Round(time.Millisecond))
}
