package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	gtun "gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/tcpfsm/tcpfsm/internal/netns"
	"github.com/tcpfsm/tcpfsm/tunnet"
	"github.com/tcpfsm/tcpfsm/tunnet/tundev"
)

// stackUnderTest is one TCP the kernel of this namespace talks to.
type stackUnderTest interface {
	// Listen listens on the stack under test; the kernel dials Addr.
	Listen(port int) (net.Listener, error)
	// Dial connects from the stack under test to the kernel at port on
	// KernelAddr.
	Dial(port int) (net.Conn, error)
	Addr() netip.Addr
	KernelAddr() netip.Addr
	Close() error
}

// setup names a stack under test and builds it.
type setup struct {
	name       string
	about      string
	start      func() (stackUnderTest, error)
	fdsPerConn int // descriptors this process holds per connection
}

func setups() []setup {
	return []setup{
		{"A", "kernel to kernel over veth", startVeth, 2},
		{"B", "kernel to gVisor netstack over a plain TUN", startGVisor, 1},
		{"C", "kernel to tcpfsm over a TUN with offloads", startTcpfsm, 1},
		{"CQ", "kernel to tcpfsm over a TUN with offloads and a queue per core", startTcpfsmQueues, 1},
		{"C0", "kernel to tcpfsm over a plain TUN", startTcpfsmPlain, 1},
	}
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %v: %v: %s", args, err, out)
	}
	return nil
}

// ---- A: the kernel on both sides, over veth ----

type veth struct {
	peer       *netns.Peer
	addr, kern netip.Addr
}

func startVeth() (stackUnderTest, error) {
	peer, err := netns.NewPeer()
	if err != nil {
		return nil, err
	}
	v := &veth{peer: peer, kern: netip.MustParseAddr("10.81.0.1"), addr: netip.MustParseAddr("10.81.0.2")}
	steps := [][]string{
		{"link", "add", "bva", "type", "veth", "peer", "name", "bvb"},
		{"link", "set", "bvb", "netns", strconv.Itoa(peer.TID())},
		{"addr", "add", "10.81.0.1/24", "dev", "bva"},
		{"link", "set", "bva", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			v.Close()
			return nil, err
		}
	}
	peer.Do(func() {
		for _, s := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", "10.81.0.2/24", "dev", "bvb"}, {"link", "set", "bvb", "up"}} {
			if err == nil {
				err = ip(s...)
			}
		}
	})
	if err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *veth) Listen(port int) (ln net.Listener, err error) {
	v.peer.Do(func() { ln, err = net.Listen("tcp", netip.AddrPortFrom(v.addr, uint16(port)).String()) })
	return ln, err
}

func (v *veth) Dial(port int) (c net.Conn, err error) {
	v.peer.Do(func() {
		c, err = net.DialTimeout("tcp", netip.AddrPortFrom(v.kern, uint16(port)).String(), 5*time.Second)
	})
	return c, err
}

func (v *veth) Addr() netip.Addr       { return v.addr }
func (v *veth) KernelAddr() netip.Addr { return v.kern }
func (v *veth) Close() error {
	v.peer.Close()
	return exec.Command("ip", "link", "del", "bva").Run()
}

// ---- B: gVisor netstack on a plain TUN ----

type gvisorStack struct {
	s          *stack.Stack
	fd         int
	addr, kern netip.Addr
}

const gvNIC = 1

func startGVisor() (stackUnderTest, error) {
	const name = "bgv0"
	fd, err := gtun.Open(name)
	if err != nil {
		return nil, fmt.Errorf("gVisor TUN: %w", err)
	}
	g := &gvisorStack{fd: fd, kern: netip.MustParseAddr("10.82.0.1"), addr: netip.MustParseAddr("10.82.0.2")}
	for _, s := range [][]string{{"link", "set", name, "mtu", "1500", "txqueuelen", "10000"}, {"addr", "add", "10.82.0.1/24", "dev", name}, {"link", "set", name, "up"}} {
		if err := ip(s...); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	ep, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: 1500, PacketDispatchMode: fdbased.Readv})
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("fdbased: %w", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	g.s = s
	// As netstack's users tune it for throughput (tun2socks, gVisor's own
	// runsc): SACK, receive-buffer moderation, buffers up to 4 MiB.
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	opts := []tcpip.SettableTransportProtocolOption{
		&sack, &moderate,
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 4 << 20},
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 4 << 20},
	}
	for _, o := range opts {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			g.Close()
			return nil, fmt.Errorf("gVisor option %T: %v", o, err)
		}
	}
	if err := s.CreateNIC(gvNIC, ep); err != nil {
		g.Close()
		return nil, fmt.Errorf("gVisor NIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddrFromSlice(g.addr.AsSlice()).WithPrefix()}
	pa.AddressWithPrefix.PrefixLen = 24
	if err := s.AddProtocolAddress(gvNIC, pa, stack.AddressProperties{}); err != nil {
		g.Close()
		return nil, fmt.Errorf("gVisor address: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: gvNIC}})
	return g, nil
}

func (g *gvisorStack) Listen(port int) (net.Listener, error) {
	return gonet.ListenTCP(g.s, tcpip.FullAddress{NIC: gvNIC, Addr: tcpip.AddrFromSlice(g.addr.AsSlice()), Port: uint16(port)}, ipv4.ProtocolNumber)
}

func (g *gvisorStack) Dial(port int) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return gonet.DialContextTCP(ctx, g.s, tcpip.FullAddress{NIC: gvNIC, Addr: tcpip.AddrFromSlice(g.kern.AsSlice()), Port: uint16(port)}, ipv4.ProtocolNumber)
}

func (g *gvisorStack) Addr() netip.Addr       { return g.addr }
func (g *gvisorStack) KernelAddr() netip.Addr { return g.kern }
func (g *gvisorStack) Close() error {
	if g.s != nil {
		g.s.Close()
		g.s.Wait()
	}
	return unix.Close(g.fd)
}

// ---- C and C0: tcpfsm ----

type tcpfsmStack struct {
	s          *tunnet.Stack
	addr, kern netip.Addr
}

// startTcpfsm runs tcpfsm on a TUN opened by its own tundev, with
// wireguard-go's offloads where the kernel has them.
func startTcpfsm() (stackUnderTest, error) { return startTcpfsmOn("btf0", 83, 1) }

// startTcpfsmQueues runs tcpfsm on a TUN with offloads and one queue (and
// reader goroutine) per core.
func startTcpfsmQueues() (stackUnderTest, error) {
	return startTcpfsmOn("btq0", 85, runtime.NumCPU())
}

// startTcpfsmOn opens TUN name with that many queues, the kernel at
// 10.SUBNET.0.1 and tcpfsm at 10.SUBNET.0.2.
func startTcpfsmOn(name string, subnet byte, queues int) (stackUnderTest, error) {
	dev, err := tundev.OpenQueues(name, 1500, queues)
	if err != nil {
		return nil, err
	}
	kern, addr := netip.AddrFrom4([4]byte{10, subnet, 0, 1}), netip.AddrFrom4([4]byte{10, subnet, 0, 2})
	if err := dev.AddAddr(netip.PrefixFrom(kern, 24)); err != nil {
		dev.Close()
		return nil, err
	}
	dev.SetTxQueueLen(10000)
	if err := dev.SetUp(); err != nil {
		dev.Close()
		return nil, err
	}
	return newTcpfsm(dev, addr, kern)
}

// startTcpfsmPlain runs tcpfsm on the same plain TUN gVisor gets: one
// packet per read and write, no offloads.
func startTcpfsmPlain() (stackUnderTest, error) {
	const name = "btp0"
	fd, err := gtun.Open(name)
	if err != nil {
		return nil, err
	}
	for _, s := range [][]string{{"link", "set", name, "mtu", "1500", "txqueuelen", "10000"}, {"addr", "add", "10.84.0.1/24", "dev", name}, {"link", "set", name, "up"}} {
		if err := ip(s...); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	dev, err := newPlainTUN(os.NewFile(uintptr(fd), name), 1500)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return newTcpfsm(dev, netip.MustParseAddr("10.84.0.2"), netip.MustParseAddr("10.84.0.1"))
}

func newTcpfsm(dev tunnet.Device, addr, kern netip.Addr) (stackUnderTest, error) {
	s, err := tunnet.New(tunnet.Config{Device: dev, Addrs: []netip.Addr{addr}})
	if err != nil {
		dev.Close()
		return nil, err
	}
	return &tcpfsmStack{s: s, addr: addr, kern: kern}, nil
}

func (t *tcpfsmStack) Listen(port int) (net.Listener, error) {
	return t.s.Listen("tcp", netip.AddrPortFrom(t.addr, uint16(port)).String())
}

func (t *tcpfsmStack) Dial(port int) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return t.s.DialContext(ctx, "tcp", netip.AddrPortFrom(t.kern, uint16(port)).String())
}

func (t *tcpfsmStack) Addr() netip.Addr       { return t.addr }
func (t *tcpfsmStack) KernelAddr() netip.Addr { return t.kern }
func (t *tcpfsmStack) Close() error           { return t.s.Close() }

// plainTUN is a tunnet.Device on a TUN without offloads: one packet per
// read(2) and write(2), through the Go poller (so Close wakes a read).
// After a full-sized packet it also takes, without waiting, what else the
// kernel has queued (up to plainBatch), as the runtime's own reader does on
// a TUN with offloads: the stack then answers the whole batch with one ACK
// per connection, as GRO lets a kernel do. A smaller packet is handed over
// alone, so a request or an ACK costs no extra read(2).
type plainTUN struct {
	f   *os.File
	raw syscall.RawConn
	mtu int

	// The drain's arguments and result, for drainFn (bound once, so a
	// read does not allocate; one goroutine reads).
	bufs    [][]byte
	sizes   []int
	offset  int
	got     int
	drainFn func(fd uintptr) bool
}

// plainBatch is the most packets one ReadBatch of a plainTUN returns.
const plainBatch = 16

func newPlainTUN(f *os.File, mtu int) (*plainTUN, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	p := &plainTUN{f: f, raw: raw, mtu: mtu}
	p.drainFn = p.drain
	return p, nil
}

func (p *plainTUN) ReadBatch(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := p.f.Read(bufs[0][offset:])
	if err != nil {
		return 0, err
	}
	sizes[0] = n
	if n < p.mtu || len(bufs) == 1 {
		return 1, nil
	}
	p.bufs, p.sizes, p.offset, p.got = bufs, sizes, offset, 1
	_ = p.raw.Read(p.drainFn) // on an error the packets read stand; the next read reports it
	p.bufs, p.sizes = nil, nil
	return p.got, nil
}

// drain reads what is queued, never waiting: it returns true, so the
// poller never parks it, whatever read(2) said.
func (p *plainTUN) drain(fd uintptr) bool {
	for p.got < len(p.bufs) {
		m, err := unix.Read(int(fd), p.bufs[p.got][p.offset:])
		if err != nil || m <= 0 {
			break
		}
		p.sizes[p.got] = m
		p.got++
	}
	return true
}

func (p *plainTUN) WriteBatch(bufs [][]byte, offset int) error {
	for _, b := range bufs {
		if _, err := p.f.Write(b[offset:]); err != nil {
			return err
		}
	}
	return nil
}

func (p *plainTUN) BatchSize() int { return plainBatch }
func (p *plainTUN) MTU() int       { return p.mtu }
func (p *plainTUN) Close() error   { return p.f.Close() }
