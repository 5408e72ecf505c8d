package tundev

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The virtio-net header that precedes every packet read from a TUN with
// IFF_VNET_HDR (struct virtio_net_hdr, little-endian on every host Linux
// runs virtio on).
// Only its first byte, the flags, matters here: the GSO fields describe
// how to split a super-segment, which ReadWhole does not do.
const (
	virtioHdrLen    = 10
	virtioNeedsCsum = 1 // the checksum field holds only the pseudo-header sum: the kernel made the packet
	virtioDataValid = 2 // the kernel (or the NIC) verified the checksums
)

// WholeBufSize is the room ReadWhole needs behind its offset: the largest
// packet the kernel may hand over at once (an IPv6 header and the largest
// payload its length field allows).
const WholeBufSize = 40 + 65535

// ErrWouldBlock is ReadWhole's error when asked not to wait and the queue
// is empty.
var ErrWouldBlock = errors.New("tundev: no packet waiting")

// wholeReader reads one queue's file without the wireguard package: the
// packet as the kernel wrote it, a TCP super-segment left whole. The
// closure for RawConn.Read is bound once, so a read allocates nothing.
type wholeReader struct {
	mu   sync.Mutex
	raw  syscall.RawConn
	fn   func(fd uintptr) bool
	buf  []byte
	wait bool
	n    int
	err  error
}

func newWholeReader(f *os.File) (*wholeReader, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &wholeReader{raw: raw}
	r.fn = r.read
	return r, nil
}

func (r *wholeReader) read(fd uintptr) bool {
	r.n, r.err = unix.Read(int(fd), r.buf)
	return !(r.wait && r.err == unix.EAGAIN)
}

// ReadWhole reads one packet from queue q of a device with offloads,
// leaving what the kernel sent whole: a TCP super-segment (TSO/GSO, up to
// 64 KiB of payload, with IP length fields for the whole) is one packet,
// not split into MTU-sized ones, and its checksums are not computed. The
// packet lands at b[offset:offset+n]; offset must be at least the 10-byte
// virtio-net header (Headroom is), which is read into the bytes before it,
// and b must have WholeBufSize bytes behind offset. verified reports
// checksums the stack need not check: the kernel made the packet (its TCP
// checksum field then holds only the pseudo-header's sum) or verified it;
// otherwise (a packet routed in from elsewhere, unverified) they must be
// checked. With wait false, an empty queue gives ErrWouldBlock at once.
// Only one goroutine should read a queue, by ReadWhole or ReadQueue.
func (d *Device) ReadWhole(q int, b []byte, offset int, wait bool) (n int, verified bool, err error) {
	if !d.Offloads() {
		return 0, false, fmt.Errorf("tundev: %s: ReadWhole needs a device with offloads", d.name)
	}
	if offset < virtioHdrLen || len(b) < offset+WholeBufSize {
		return 0, false, fmt.Errorf("tundev: ReadWhole: buffer of %d bytes with offset %d, want offset >= %d and %d bytes behind it", len(b), offset, virtioHdrLen, WholeBufSize)
	}
	r := d.whole[q]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf, r.wait = b[offset-virtioHdrLen:offset+WholeBufSize], wait
	if err := r.raw.Read(r.fn); err != nil {
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, err)
	}
	r.buf = nil
	switch {
	case r.err == unix.EAGAIN:
		return 0, false, ErrWouldBlock
	case r.err == unix.EBADFD:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, os.ErrClosed)
	case r.err != nil:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, r.err)
	case r.n < virtioHdrLen:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %d bytes, shorter than the virtio-net header", d.name, q, r.n)
	}
	flags := b[offset-virtioHdrLen]
	return r.n - virtioHdrLen, flags&(virtioNeedsCsum|virtioDataValid) != 0, nil
}
