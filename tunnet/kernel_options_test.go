package tunnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
)

// optionLog collects, from the observer, the options on the SYNs each way
// and the largest windows (in bytes, scaled by the shift each SYN
// announced) advertised each way.
type optionLog struct {
	mu                  sync.Mutex
	synIn, synOut       SegmentInfo
	haveIn, haveOut     bool
	maxWndIn, maxWndOut uint32
	sackBlocksIn        int
}

func (l *optionLog) observe(tr Transition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	shift := func(syn SegmentInfo, other SegmentInfo) uint {
		if syn.Opts.Has(machine.OptWScale) && other.Opts.Has(machine.OptWScale) {
			return uint(syn.WScale)
		}
		return 0
	}
	if tr.HasRecv {
		r := tr.Recv
		switch {
		case r.Flags.Has(machine.SYN):
			l.synIn, l.haveIn = r, true
		case l.haveIn && l.haveOut:
			l.maxWndIn = max(l.maxWndIn, uint32(r.Window)<<shift(l.synIn, l.synOut))
			l.sackBlocksIn += r.NumSACK
		}
	}
	for _, s := range tr.Sent {
		switch {
		case s.Flags.Has(machine.SYN):
			l.synOut, l.haveOut = s, true
		case l.haveIn && l.haveOut && !s.Flags.Has(machine.RST):
			l.maxWndOut = max(l.maxWndOut, uint32(s.Window)<<shift(l.synOut, l.synIn))
		}
	}
}

// TestKernelOptions: with the kernel as the peer, both ways (tcpfsm as
// server and as client), window scaling, SACK-permitted and timestamps are
// negotiated as Linux expects (every option on both SYNs), windows beyond
// 64 KiB are advertised both ways during a 32 MiB echo; with the options
// turned off in Config, tcpfsm's SYN and SYN+ACK carry none of them, though
// the kernel's SYN offers all three, and the kernel's SYN+ACK answers in
// kind (RFC 7323 2.2, 3.2; RFC 2018 2).
func TestKernelOptions(t *testing.T) {
	const n = 32 << 20
	all := machine.OptWScale | machine.OptSACKPermitted | machine.OptTimestamps
	for _, tc := range []struct {
		name   string
		server bool // tcpfsm listens
		off    bool // options off in tcpfsm's Config
	}{{"stack-server", true, false}, {"stack-client", false, false}, {"stack-server-off", true, true}, {"stack-client-off", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var log optionLog
			e := newKernelEnv(t, func(c *Config) {
				c.Observer = log.observe
				c.Machine.NoWindowScale, c.Machine.NoTimestamps, c.Machine.NoSACK = tc.off, tc.off, tc.off
			})
			var c net.Conn
			var srv <-chan error
			if tc.server {
				ln, err := e.s.Listen("tcp", e.stackAddr(5011))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				srv = serveOne(ln, echoHashServer)
				if c, err = net.Dial("tcp", e.stackAddr(5011)); err != nil {
					t.Fatal(err)
				}
			} else {
				ln, err := net.Listen("tcp", e.kernelAddr(0))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				srv = serveOne(ln, echoHashServer)
				if c, err = e.s.DialContext(context.Background(), "tcp", ln.Addr().String()); err != nil {
					t.Fatal(err)
				}
			}
			defer c.Close()
			if err := sendAndEcho(c, 23, n); err != nil {
				t.Fatal(err)
			}
			if err := <-srv; err != nil {
				t.Fatal(err)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if !log.haveIn || !log.haveOut {
				t.Fatalf("saw SYN in %v, out %v", log.haveIn, log.haveOut)
			}
			want := all
			if tc.off {
				want = 0
			}
			// The kernel's SYN offers all three; its SYN+ACK answers what
			// tcpfsm's SYN offered.
			if kernel := map[bool]machine.Opts{true: all, false: want}[tc.server]; log.synIn.Opts != kernel {
				t.Errorf("the kernel's %v carries %v, want %v (is the kernel configured unusually?)", log.synIn.Flags, log.synIn.Opts, kernel)
			}
			if log.synOut.Opts != want {
				t.Errorf("tcpfsm's %v carries options %v, want %v", log.synOut.Flags, log.synOut.Opts, want)
			}
			t.Logf("largest window advertised by the kernel %d, by tcpfsm %d bytes; SACK blocks received %d", log.maxWndIn, log.maxWndOut, log.sackBlocksIn)
			if !tc.off && (log.maxWndIn <= machine.MaxWindow || log.maxWndOut <= machine.MaxWindow) {
				t.Errorf("with window scaling, the largest windows were %d (kernel) and %d (tcpfsm) bytes: want both above 65535", log.maxWndIn, log.maxWndOut)
			}
			if tc.off && (log.maxWndIn > machine.MaxWindow || log.maxWndOut > machine.MaxWindow) {
				t.Errorf("without window scaling, windows of %d and %d bytes", log.maxWndIn, log.maxWndOut)
			}
		})
	}
}

// echoHashServer sends back everything it reads, then closes.
func echoHashServer(c net.Conn) error {
	defer c.Close()
	if _, err := io.Copy(c, c); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

// sendAndEcho writes n pattern bytes, half-closes, and checks that the
// peer sent exactly them back.
func sendAndEcho(c net.Conn, seed uint64, n int64) error {
	done := writeAndCloseWrite(c, seed, n)
	h := sha256.New()
	got, err := io.Copy(h, c)
	if werr := <-done; werr != nil {
		return fmt.Errorf("client write: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	if want := sumOf(seed, n); got != n || !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("echo of %d bytes: got %d bytes back, SHA-256 %x, want %x", n, got, h.Sum(nil), want)
	}
	return nil
}
