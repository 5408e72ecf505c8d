package tundev

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// Headroom is the write offset to reserve in front of every packet passed
// to WriteBatch: at least the 10-byte virtio-net header, rounded up.
const Headroom = 16

// Device is an open TUN device. ReadBatch and WriteBatch may be called from
// different goroutines; each serializes with itself.
type Device struct {
	dev     tun.Device   // queue 0
	queues  []tun.Device // every queue, dev first
	raw     []*rawQueue  // each queue's file, for ReadWhole and WriteWhole
	name    string
	mtu     int
	index   int
	drained chan struct{} // closed once the event channel is drained
}

// Open creates (or attaches to) the TUN device name with the given MTU.
// The device starts down and without addresses; see SetUp and AddAddr.
// An empty name lets the kernel pick one (tun0, tun1, ...).
func Open(name string, mtu int) (*Device, error) {
	name, err := checkOpenArgs(name, mtu)
	if err != nil {
		return nil, err
	}
	dev, err := tun.CreateTUN(name, mtu)
	if err != nil {
		return nil, fmt.Errorf("tundev: creating TUN %q: %w", name, err)
	}
	d := &Device{dev: dev, mtu: mtu, drained: make(chan struct{})}
	// The wireguard device reports link events on a small channel and
	// blocks its monitor goroutines when nobody reads it: drain it until
	// Close closes it.
	go func() {
		defer close(d.drained)
		for range dev.Events() {
		}
	}()
	if err := d.addQueue(dev); err != nil {
		d.Close()
		return nil, err
	}
	if d.name, err = dev.Name(); err != nil {
		d.Close()
		return nil, fmt.Errorf("tundev: name of new TUN: %w", err)
	}
	ifi, err := net.InterfaceByName(d.name)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("tundev: index of %s: %w", d.name, err)
	}
	d.index = ifi.Index
	return d, nil
}

// addQueue adds an opened queue to d (so that Close closes it, even when
// addQueue fails).
func (d *Device) addQueue(q tun.Device) error {
	d.queues = append(d.queues, q)
	r, err := newRawQueue(q.File())
	if err != nil {
		return fmt.Errorf("tundev: queue %d: %w", len(d.queues)-1, err)
	}
	d.raw = append(d.raw, r)
	return nil
}

// OpenQueues creates the TUN device name with n queues (IFF_MULTI_QUEUE),
// each its own file descriptor with its own offload state, so that n
// goroutines can read and write it at once. The kernel gives each flow one
// queue: the queue its packets were last written to (the TUN's flow table),
// else one picked by the flow's hash; so write a flow's packets to the
// queue it is read from. The device starts down and without addresses.
// OpenQueues(name, mtu, 1) is Open(name, mtu).
func OpenQueues(name string, mtu, n int) (*Device, error) {
	if n == 1 {
		return Open(name, mtu)
	}
	if n < 1 || n > maxQueues {
		return nil, fmt.Errorf("tundev: %d queues outside [1, %d]", n, maxQueues)
	}
	name, err := checkOpenArgs(name, mtu)
	if err != nil {
		return nil, err
	}
	d := &Device{mtu: mtu, drained: make(chan struct{})}
	close(d.drained) // unmonitored queues send no events
	for i := range n {
		q, qname, err := openQueue(name)
		if err == nil {
			err = d.addQueue(q)
		}
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("tundev: opening queue %d of TUN %q: %w", i, name, err)
		}
		name = qname // the kernel's name: tun%d resolved
	}
	d.dev, d.name = d.queues[0], name
	ifi, err := net.InterfaceByName(d.name)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("tundev: index of %s: %w", d.name, err)
	}
	d.index = ifi.Index
	if err := d.setMTU(mtu); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// checkOpenArgs checks Open's arguments and returns the name to ask the
// kernel for (an empty one lets it pick: tun%d).
func checkOpenArgs(name string, mtu int) (string, error) {
	if len(name) >= 16 {
		return "", fmt.Errorf("tundev: device name %q longer than 15 bytes", name)
	}
	if mtu < 68 || mtu > 65535 {
		return "", fmt.Errorf("tundev: MTU %d outside [68, 65535]", mtu)
	}
	if name == "" {
		name = "tun%d"
	}
	return name, nil
}

// maxQueues is the kernel's limit on the queues of one TUN (MAX_TAP_QUEUES).
const maxQueues = 256

// openQueue attaches one more queue to the multi-queue TUN name (creating
// it for the first queue), with virtio-net headers and offloads.
func openQueue(name string) (tun.Device, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("TUNSETIFF: %w", err)
	}
	// The wireguard device sets non-blocking mode, reads the flags back and
	// turns the offloads on; it starts no netlink monitor for this queue.
	q, qname, err := tun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	return q, qname, nil
}

// setMTU sets the interface MTU, like `ip link set NAME mtu N`.
func (d *Device) setMTU(mtu int) error {
	return d.ifreqIoctl(unix.SIOCSIFMTU, uint32(mtu), "MTU")
}

// Name is the kernel's name for the device.
func (d *Device) Name() string { return d.name }

// MTU is the MTU the device was opened with.
func (d *Device) MTU() int { return d.mtu }

// Index is the kernel's interface index.
func (d *Device) Index() int { return d.index }

// BatchSize is the most packets one ReadBatch returns or one WriteBatch
// should carry; pass this many buffers to ReadBatch.
func (d *Device) BatchSize() int { return d.dev.BatchSize() }

// Offloads reports whether the device runs with IFF_VNET_HDR and TCP
// segmentation offloads (see the package documentation).
func (d *Device) Offloads() bool { return d.dev.BatchSize() > 1 }

// SetUp brings the link up.
func (d *Device) SetUp() error {
	if err := linkUp(d.index); err != nil {
		return fmt.Errorf("tundev: setting %s up: %w", d.name, err)
	}
	return nil
}

// SetDown sets the device down: the kernel sends nothing into it and
// drops what is written to it (tests use it to make the kernel vanish
// from the stack's view).
func (d *Device) SetDown() error {
	if err := setLink(d.index, false); err != nil {
		return fmt.Errorf("tundev: setting %s down: %w", d.name, err)
	}
	return nil
}

// AddAddr adds an IPv4 or IPv6 address with its prefix length (for example
// 10.99.0.1/24 or fd00:99::1/64) to the device; the prefix route comes with
// it. IPv6 addresses skip duplicate address detection.
func (d *Device) AddAddr(prefix netip.Prefix) error {
	if !prefix.IsValid() {
		return fmt.Errorf("tundev: adding address to %s: invalid prefix %v", d.name, prefix)
	}
	if prefix.Addr().Is4In6() || prefix.Addr().Zone() != "" {
		return fmt.Errorf("tundev: adding address to %s: %v: want a plain IPv4 or IPv6 address", d.name, prefix)
	}
	if err := addAddr(d.index, prefix); err != nil {
		return fmt.Errorf("tundev: adding %v to %s: %w", prefix, d.name, err)
	}
	return nil
}

// SetTxQueueLen sets the interface's transmit queue length: the queue of
// packets the kernel sends into the TUN before the stack reads them. The
// default (500) overflows when a burst from many sockets meets a reader
// that the Go scheduler runs a little late.
func (d *Device) SetTxQueueLen(n uint32) error {
	return d.ifreqIoctl(unix.SIOCSIFTXQLEN, n, "txqueuelen")
}

// ifreqIoctl sets one integer interface setting (what names it in errors).
func (d *Device) ifreqIoctl(req uint, v uint32, what string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tundev: %s of %s: %w", what, d.name, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return fmt.Errorf("tundev: %s of %s: %w", what, d.name, err)
	}
	ifr.SetUint32(v)
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		return fmt.Errorf("tundev: %s of %s: %w", what, d.name, err)
	}
	return nil
}

// ReadBatch reads one or more packets: packet i lands at
// bufs[i][offset:offset+sizes[i]]. It returns the number of packets.
// len(sizes) must be >= len(bufs); see the package documentation for sizes.
// Errors wrap the underlying one (os.ErrDeadlineExceeded, os.ErrClosed,
// tun.ErrTooManySegments).
func (d *Device) ReadBatch(bufs [][]byte, sizes []int, offset int) (int, error) {
	return d.ReadQueue(0, bufs, sizes, offset)
}

// Queues is the number of queues the device was opened with.
func (d *Device) Queues() int { return len(d.queues) }

// ReadQueue is ReadBatch on queue q. Each queue serializes with itself;
// different queues may be read at once.
func (d *Device) ReadQueue(q int, bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := d.queues[q].Read(bufs, sizes, offset)
	if err != nil {
		return n, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, err)
	}
	return n, nil
}

// WriteBatch writes the packets bufs[i][offset:]. With offloads on, offset
// must be at least the 10-byte virtio-net header: reserve Headroom. It may
// modify bufs (see the package documentation). On error some of the packets
// may have been written.
func (d *Device) WriteBatch(bufs [][]byte, offset int) error {
	return d.WriteQueue(0, bufs, offset)
}

// WriteQueue is WriteBatch on queue q; the kernel then steers the flows of
// these packets to queue q.
func (d *Device) WriteQueue(q int, bufs [][]byte, offset int) error {
	// The wireguard device's count is in bytes, not packets: hide it.
	if _, err := d.queues[q].Write(bufs, offset); err != nil {
		return fmt.Errorf("tundev: writing %d packets to %s queue %d: %w", len(bufs), d.name, q, err)
	}
	return nil
}

// SetReadDeadline makes a blocked or future read of any queue return
// os.ErrDeadlineExceeded at t; the zero time means no deadline.
func (d *Device) SetReadDeadline(t time.Time) error {
	for _, q := range d.queues {
		if err := q.File().SetReadDeadline(t); err != nil {
			return fmt.Errorf("tundev: read deadline of %s: %w", d.name, err)
		}
	}
	return nil
}

// Tun is the underlying wireguard device, for callers that need more than
// this wrapper offers (its File, raw events). Do not Close it directly.
func (d *Device) Tun() tun.Device { return d.dev }

// Close closes the device; the kernel removes the interface, its addresses
// and routes. A blocked ReadBatch returns an error.
func (d *Device) Close() error {
	var errs []error
	for _, q := range d.queues {
		errs = append(errs, q.Close())
	}
	<-d.drained
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tundev: closing %s: %w", d.name, err)
	}
	return nil
}
