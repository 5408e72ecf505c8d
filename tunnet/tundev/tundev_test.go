package tundev

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/internal/netns"
)

func TestMain(m *testing.M) { os.Exit(netns.RunTests(m)) }

var (
	local4  = netip.MustParsePrefix("10.99.0.1/24")
	local6  = netip.MustParsePrefix("fd00:99::1/64")
	remote4 = netip.MustParseAddr("10.99.0.2")
	remote6 = netip.MustParseAddr("fd00:99::2")
)

// requireTUN skips unless the test runs in a fresh namespace with a TUN driver.
func requireTUN(t *testing.T) {
	t.Helper()
	netns.Require(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs the TUN driver: %v", err)
	}
}

// openConfigured opens tcpfsm0 with both addresses, up.
func openConfigured(t *testing.T) *Device {
	t.Helper()
	d, err := Open("tcpfsm0", 1500)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, p := range []netip.Prefix{local4, local6} {
		if err := d.AddAddr(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetUp(); err != nil {
		t.Fatal(err)
	}
	return d
}

// reader reads packets from d until match accepts one or the deadline passes.
func readUntil(t *testing.T, d *Device, what string, match func(pkt []byte) bool) []byte {
	t.Helper()
	if err := d.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	bufs := make([][]byte, d.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, d.MTU())
	}
	sizes := make([]int, len(bufs))
	for {
		n, err := d.ReadBatch(bufs, sizes, 0)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		for i := range n {
			if pkt := bufs[i][:sizes[i]]; match(pkt) {
				return bytes.Clone(pkt)
			}
		}
	}
}

func TestDeviceConfig(t *testing.T) {
	requireTUN(t)
	d := openConfigured(t)
	if d.Name() != "tcpfsm0" || d.MTU() != 1500 || d.Index() <= 0 {
		t.Fatalf("name %q mtu %d index %d", d.Name(), d.MTU(), d.Index())
	}
	if !d.Offloads() || d.BatchSize() < 2 {
		t.Errorf("offloads %v batch %d: want IFF_VNET_HDR offloads on this kernel", d.Offloads(), d.BatchSize())
	}
	ifi, err := net.InterfaceByName("tcpfsm0")
	if err != nil {
		t.Fatal(err)
	}
	if ifi.Flags&net.FlagUp == 0 || ifi.MTU != 1500 {
		t.Errorf("kernel sees flags %v mtu %d", ifi.Flags, ifi.MTU)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		seen[a.String()] = true
	}
	for _, p := range []netip.Prefix{local4, local6} {
		if !seen[p.String()] {
			t.Errorf("address %v missing; kernel has %v", p, addrs)
		}
	}
	// The same address twice is an error naming it.
	if err := d.AddAddr(local4); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("adding %v twice: %v, want EEXIST", local4, err)
	}
	if err := d.AddAddr(netip.Prefix{}); err == nil {
		t.Error("adding an invalid prefix succeeded")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName("tcpfsm0"); err == nil {
		t.Error("interface still exists after Close")
	}
}

func TestOpenBadArgs(t *testing.T) {
	if _, err := Open("a-name-longer-than-15", 1500); err == nil {
		t.Error("long name accepted")
	}
	if _, err := Open("x", 10); err == nil {
		t.Error("MTU 10 accepted")
	}
	for _, n := range []int{0, -1, 257} {
		if _, err := OpenQueues("x", 1500, n); err == nil {
			t.Errorf("%d queues accepted", n)
		}
	}
	if _, err := OpenQueues("a-name-longer-than-15", 1500, 2); err == nil {
		t.Error("long name accepted with queues")
	}
}

// TestKernelSYN: the kernel's connect() to a host behind the TUN sends a SYN
// into the TUN, which ReadBatch must return.
func TestKernelSYN(t *testing.T) {
	requireTUN(t)
	d := openConfigured(t)
	for _, dst := range []netip.Addr{remote4, remote6} {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			// Dial until the SYN is seen: right after the device comes up
			// a dial can fail at once (no route yet) without sending one.
			var dialer net.Dialer
			for ctx.Err() == nil {
				c, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(dst, 80).String())
				if err == nil {
					c.Close()
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
		syn := readUntil(t, d, "SYN to "+dst.String(), func(p []byte) bool {
			ip, proto, tcp := parseIP(p)
			return ip == dst && proto == 6 && len(tcp) >= 20 &&
				binary.BigEndian.Uint16(tcp[2:]) == 80 && tcp[13]&0x02 != 0
		})
		cancel()
		wg.Wait()
		wantVersion := byte(4)
		if dst.Is6() {
			wantVersion = 6
		}
		if syn[0]>>4 != wantVersion {
			t.Errorf("SYN to %v has IP version %d", dst, syn[0]>>4)
		}
	}
}

// TestWriteEcho writes an ICMP echo request from the remote address into the
// TUN; the kernel answers with an echo reply, read back from the TUN.
func TestWriteEcho(t *testing.T) {
	requireTUN(t)
	d := openConfigured(t)
	for _, tc := range []struct {
		src, dst  netip.Addr
		req, repl byte
		proto     byte
	}{
		{remote4, local4.Addr(), 8, 0, 1},
		{remote6, local6.Addr(), 128, 129, 58},
	} {
		const id, seq = 0x4242, 7
		pkt := echoRequest(tc.src, tc.dst, id, seq)
		// Send the request again every 200 ms until the reply is read:
		// one sent while the device is still coming up may be dropped.
		write := func() error {
			buf := make([]byte, Headroom+len(pkt))
			copy(buf[Headroom:], pkt)
			return d.WriteBatch([][]byte{buf}, Headroom)
		}
		if err := write(); err != nil {
			t.Fatalf("writing echo request to %v: %v", tc.dst, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel) // also when readUntil fails the test
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
					write()
				}
			}
		})
		readUntil(t, d, "echo reply from "+tc.dst.String(), func(p []byte) bool {
			ip, proto, icmp := parseIP(p)
			return ip == tc.src && proto == tc.proto && len(icmp) >= 8 && icmp[0] == tc.repl &&
				binary.BigEndian.Uint16(icmp[4:]) == id && binary.BigEndian.Uint16(icmp[6:]) == seq
		})
		cancel()
		wg.Wait()
	}
}

// TestCloseUnblocksRead: Close makes a blocked ReadBatch return.
func TestCloseUnblocksRead(t *testing.T) {
	requireTUN(t)
	d, err := Open("", 1500)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		bufs := [][]byte{make([]byte, 1500)}
		_, err := d.ReadBatch(bufs, make([]int, 1), 0)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ReadBatch after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked 5s after Close")
	}
}

// parseIP returns the destination, the transport protocol and the
// transport bytes of a v4 or v6 packet (no extension headers).
func parseIP(p []byte) (dst netip.Addr, proto byte, rest []byte) {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		ihl := int(p[0]&0xf) * 4
		if ihl < 20 || len(p) < ihl {
			return
		}
		return netip.AddrFrom4([4]byte(p[16:20])), p[9], p[ihl:]
	case len(p) >= 40 && p[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(p[24:40])), p[6], p[40:]
	}
	return
}

func echoRequest(src, dst netip.Addr, id, seq uint16) []byte {
	icmp := []byte{0, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq), 't', 'c', 'p', 'f', 's', 'm'}
	if src.Is4() {
		icmp[0] = 8
		binary.BigEndian.PutUint16(icmp[2:], ^fold(sum(0, icmp)))
		ip := make([]byte, 20, 20+len(icmp))
		ip[0], ip[8], ip[9] = 0x45, 64, 1
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(icmp)))
		copy(ip[12:], src.AsSlice())
		copy(ip[16:], dst.AsSlice())
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
		return append(ip, icmp...)
	}
	icmp[0] = 128
	ip := make([]byte, 40, 40+len(icmp))
	ip[0], ip[6], ip[7] = 0x60, 58, 64
	binary.BigEndian.PutUint16(ip[4:], uint16(len(icmp)))
	copy(ip[8:], src.AsSlice())
	copy(ip[24:], dst.AsSlice())
	// Pseudo-header: addresses, upper-layer length, next header.
	s := sum(0, ip[8:40]) + uint32(len(icmp)) + 58
	binary.BigEndian.PutUint16(icmp[2:], ^fold(sum(s, icmp)))
	return append(ip, icmp...)
}

func sum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// TestQueues opens a TUN with two queues. The kernel spreads flows over
// both, and sends each flow to the queue its packets were last written to:
// the steering the stack relies on to read and write a flow on one queue.
func TestQueues(t *testing.T) {
	requireTUN(t)
	const queues, flows = 2, 16
	d, err := OpenQueues("tcpfsmq0", 1500, queues)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Queues() != queues || !d.Offloads() {
		t.Fatalf("queues %d offloads %v", d.Queues(), d.Offloads())
	}
	if ifi, err := net.InterfaceByName("tcpfsmq0"); err != nil || ifi.MTU != 1500 {
		t.Fatalf("kernel sees %+v, %v", ifi, err)
	}
	if err := d.AddAddr(local4); err != nil {
		t.Fatal(err)
	}
	if err := d.SetUp(); err != nil {
		t.Fatal(err)
	}
	type arrival struct {
		q    int
		port uint16 // the remote port a UDP datagram went to
	}
	arrivals := make(chan arrival, 1024)
	var wg sync.WaitGroup
	d.SetReadDeadline(time.Now().Add(10 * time.Second))
	for q := range queues {
		wg.Go(func() {
			bufs := make([][]byte, d.BatchSize())
			for i := range bufs {
				bufs[i] = make([]byte, 1500)
			}
			sizes := make([]int, len(bufs))
			for {
				n, err := d.ReadQueue(q, bufs, sizes, 0)
				if err != nil {
					return
				}
				for i := range n {
					if dst, proto, udp := parseIP(bufs[i][:sizes[i]]); dst == remote4 && proto == 17 && len(udp) >= 8 {
						arrivals <- arrival{q, binary.BigEndian.Uint16(udp[2:])}
					}
				}
			}
		})
	}
	defer wg.Wait()
	defer d.Close()

	socks := make([]*net.UDPConn, flows)
	for i := range socks {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local4.Addr(), uint16(7000+i))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		socks[i] = c
	}
	// collect sends one datagram per flow (again every 200 ms, as the
	// link may still be coming up) until each has arrived, and returns
	// the queue each arrived on.
	collect := func(what string) []int {
		t.Helper()
		got := make([]int, flows)
		for i := range got {
			got[i] = -1
		}
		for left, deadline := flows, time.Now().Add(5*time.Second); left > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d flows never arrived", what, left, flows)
			}
			for i, c := range socks {
				if got[i] < 0 {
					c.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(remote4, uint16(9000+i)))
				}
			}
			for wait := time.After(200 * time.Millisecond); left > 0; {
				select {
				case a := <-arrivals:
					if i := int(a.port) - 9000; i >= 0 && i < flows && got[i] < 0 {
						got[i], left = a.q, left-1
					}
					continue
				case <-wait:
				}
				break
			}
		}
		return got
	}
	spread := collect("before any write")
	if !slices.Contains(spread, 0) || !slices.Contains(spread, 1) {
		t.Errorf("%d flows all on one queue: %v", flows, spread)
	}
	// Write one datagram of each flow from the remote end into queue
	// i%2: the kernel's answers must then come out of that queue.
	for i := range flows {
		pkt := udp4(remote4, local4.Addr(), uint16(9000+i), uint16(7000+i), []byte("y"))
		buf := make([]byte, Headroom+len(pkt))
		copy(buf[Headroom:], pkt)
		if err := d.WriteQueue(i%queues, [][]byte{buf}, Headroom); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range socks {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadFromUDPAddrPort(make([]byte, 16)); err != nil {
			t.Fatalf("flow %d: the datagram written to queue %d: %v", i, i%queues, err)
		}
	}
	steered := collect("after writes")
	for i, q := range steered {
		if q != i%queues {
			t.Errorf("flow %d written to queue %d came back on queue %d (all: %v)", i, i%queues, q, steered)
		}
	}
}

// udp4 builds an IPv4 UDP datagram (checksum 0: none, as IPv4 allows).
func udp4(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:], src.AsSlice())
	copy(p[16:], dst.AsSlice())
	binary.BigEndian.PutUint16(p[10:], ^fold(sum(0, p[:20])))
	binary.BigEndian.PutUint16(p[20:], sport)
	binary.BigEndian.PutUint16(p[22:], dport)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

// TestReadWhole: ReadWhole hands over what the kernel sends and says which
// checksums need checking. A datagram the kernel sends itself has its
// checksum left to offload (verified: nothing to check, and the field
// holds only the pseudo-header sum); a packet the kernel only forwards,
// from the TUN back into it, was never checked by anyone (not verified:
// the stack must check it), and keeps its checksum, even a wrong one.
func TestReadWhole(t *testing.T) {
	requireTUN(t)
	for path, v := range map[string]string{
		"/proc/sys/net/ipv4/ip_forward":                  "1",
		"/proc/sys/net/ipv4/conf/all/rp_filter":          "0",
		"/proc/sys/net/ipv4/conf/default/rp_filter":      "0",
		"/proc/sys/net/ipv4/conf/all/send_redirects":     "0",
		"/proc/sys/net/ipv4/conf/default/send_redirects": "0",
	} {
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := openConfigured(t)
	if _, _, err := d.ReadWhole(0, make([]byte, 100), Headroom, false); err == nil {
		t.Error("ReadWhole with a short buffer succeeded")
	}
	buf := make([]byte, Headroom+WholeBufSize)
	// read returns the next UDP packet to remote4 port, waiting up to 5 s.
	read := func(port uint16) ([]byte, bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			n, verified, err := d.ReadWhole(0, buf, Headroom, false)
			if errors.Is(err, ErrWouldBlock) {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			p := buf[Headroom : Headroom+n]
			if dst, proto, udp := parseIP(p); dst == remote4 && proto == 17 && len(udp) >= 8 && binary.BigEndian.Uint16(udp[2:]) == port {
				return bytes.Clone(p), verified
			}
		}
		t.Fatalf("no UDP packet to %v:%d", remote4, port)
		return nil, false
	}

	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote4, 7001)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte("tcpfsm"), 200)
	c.Write(payload)
	p, verified := read(7001)
	if !verified {
		t.Error("a datagram the kernel sent itself came unverified")
	}
	if len(p) != 28+len(payload) || !bytes.Equal(p[28:], payload) {
		t.Errorf("datagram of %d bytes read as %d", 28+len(payload), len(p))
	}

	// From 10.99.0.3 to remote4, both behind the TUN: the kernel routes it
	// back out. The UDP checksum is wrong on purpose.
	fwd := udp4(netip.MustParseAddr("10.99.0.3"), remote4, 5000, 7002, []byte("forwarded"))
	binary.BigEndian.PutUint16(fwd[26:], 0xbad0)
	wb := make([]byte, Headroom+len(fwd))
	copy(wb[Headroom:], fwd)
	if err := d.WriteBatch([][]byte{wb}, Headroom); err != nil {
		t.Fatal(err)
	}
	p, verified = read(7002)
	if verified {
		t.Error("a packet the kernel forwarded without checking came verified")
	}
	if got := binary.BigEndian.Uint16(p[26:]); got != 0xbad0 {
		t.Errorf("forwarded checksum %#x, want the one written, 0xbad0", got)
	}
}
