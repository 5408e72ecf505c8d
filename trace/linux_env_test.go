package trace

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"github.com/tcpfsm/tcpfsm/internal/netns"
)

// TestMain re-runs the tests in a fresh network namespace when root: the
// Linux conformance scenarios make their own veth pair and second
// namespace in it. Without root they skip.
func TestMain(m *testing.M) { os.Exit(netns.RunTests(m)) }

// linuxEnv is two Linux TCP endpoints over a veth pair: A is the test's
// namespace (10.88.0.1, fd00:88::1 on va), B a second one (netns.Peer:
// 10.88.0.2, fd00:88::2 on vb). Sockets made in B (inB) stay in B
// whichever thread uses them later. Everything that crosses the
// pair is captured on va with AF_PACKET.
type linuxEnv struct {
	t    testing.TB
	peer *netns.Peer

	capFD   int
	capStop chan struct{}
	capDone chan struct{}
	mu      sync.Mutex
	frames  []capFrame
}

type capFrame struct {
	at   time.Time
	data []byte
}

const (
	addrA4 = "10.88.0.1"
	addrB4 = "10.88.0.2"
	addrA6 = "fd00:88::1"
	addrB6 = "fd00:88::2"
)

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func newLinuxEnv(t testing.TB) *linuxEnv {
	t.Helper()
	netns.Require(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	peer, err := netns.NewPeer()
	if err != nil {
		t.Fatal(err)
	}
	e := &linuxEnv{t: t, peer: peer}
	t.Cleanup(func() {
		peer.Close()
		exec.Command("ip", "link", "del", "va").Run()
	})
	run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	run(t, "ip", "link", "set", "vb", "netns", fmt.Sprint(peer.TID()))
	run(t, "ip", "addr", "add", addrA4+"/24", "dev", "va")
	run(t, "ip", "-6", "addr", "add", addrA6+"/64", "dev", "va", "nodad")
	run(t, "ip", "link", "set", "va", "up")
	// Commands started from B's thread inherit its namespace.
	e.inB(func() {
		run(t, "ip", "link", "set", "lo", "up")
		run(t, "ip", "addr", "add", addrB4+"/24", "dev", "vb")
		run(t, "ip", "-6", "addr", "add", addrB6+"/64", "dev", "vb", "nodad")
		run(t, "ip", "link", "set", "vb", "up")
	})
	e.startCapture()
	return e
}

// inB runs f in namespace B and waits for it.
func (e *linuxEnv) inB(f func()) { e.peer.Do(f) }

// listenB listens in B.
func (e *linuxEnv) listenB(network, addr string, lc *net.ListenConfig) net.Listener {
	e.t.Helper()
	if lc == nil {
		lc = &net.ListenConfig{}
	}
	var ln net.Listener
	var err error
	e.inB(func() { ln, err = lc.Listen(e.t.Context(), network, addr) })
	if err != nil {
		e.t.Fatal(err)
	}
	return ln
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startCapture opens an AF_PACKET socket on va and records every frame,
// both directions, until capture is called.
func (e *linuxEnv) startCapture() {
	t := e.t
	ifi, err := net.InterfaceByName("va")
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval(int64(20 * time.Millisecond))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	e.capFD, e.capStop, e.capDone = fd, make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.capDone)
		buf := make([]byte, 1<<17)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err == nil {
				f := capFrame{at: time.Now(), data: bytes.Clone(buf[:n])}
				e.mu.Lock()
				e.frames = append(e.frames, f)
				e.mu.Unlock()
				continue
			}
			select {
			case <-e.capStop:
				return
			default:
			}
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}()
	t.Cleanup(func() { e.stopCapture() })
}

func (e *linuxEnv) stopCapture() {
	if e.capStop == nil {
		return
	}
	time.Sleep(50 * time.Millisecond) // the last frames
	close(e.capStop)
	<-e.capDone
	unix.Close(e.capFD)
	e.capStop = nil
}

// pcap stops the capture and returns it as an Ethernet pcap.
func (e *linuxEnv) pcap() []byte {
	e.stopCapture()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range e.frames {
		ci := gopacket.CaptureInfo{Timestamp: f.at, CaptureLength: len(f.data), Length: len(f.data)}
		if err := w.WritePacket(ci, f.data); err != nil {
			e.t.Fatal(err)
		}
	}
	return buf.Bytes()
}
