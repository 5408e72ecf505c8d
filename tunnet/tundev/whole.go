package tundev

import (
	"encoding/binary"
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

// rawQueue is one queue's file, read and written without the wireguard
// package: packets as the kernel wrote them, TCP super-segments whole. The
// closures for RawConn.Read and Write are bound once, so neither
// allocates; a read and a write may run at once.
type rawQueue struct {
	raw syscall.RawConn

	rmu  sync.Mutex // guards the read's fields
	rfn  func(fd uintptr) bool
	rbuf []byte
	wait bool
	rn   int
	rerr error

	wmu  sync.Mutex // guards the write's fields
	wfn  func(fd uintptr) bool
	wbuf []byte
	werr error
}

func newRawQueue(f *os.File) (*rawQueue, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rawQueue{raw: raw}
	r.rfn, r.wfn = r.read, r.write
	return r, nil
}

func (r *rawQueue) read(fd uintptr) bool {
	r.rn, r.rerr = unix.Read(int(fd), r.rbuf)
	return !(r.wait && r.rerr == unix.EAGAIN)
}

func (r *rawQueue) write(fd uintptr) bool {
	var n int
	n, r.werr = unix.Write(int(fd), r.wbuf)
	if r.werr == nil && n != len(r.wbuf) {
		r.werr = fmt.Errorf("short write: %d of %d bytes", n, len(r.wbuf))
	}
	return r.werr != unix.EAGAIN
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
	r := d.raw[q]
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rbuf, r.wait = b[offset-virtioHdrLen:offset+WholeBufSize], wait
	if err := r.raw.Read(r.rfn); err != nil {
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, err)
	}
	r.rbuf = nil
	switch {
	case r.rerr == unix.EAGAIN:
		return 0, false, ErrWouldBlock
	case r.rerr == unix.EBADFD:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, os.ErrClosed)
	case r.rerr != nil:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %w", d.name, q, r.rerr)
	case r.rn < virtioHdrLen:
		return 0, false, fmt.Errorf("tundev: reading from %s queue %d: %d bytes, shorter than the virtio-net header", d.name, q, r.rn)
	}
	flags := b[offset-virtioHdrLen]
	return r.rn - virtioHdrLen, flags&(virtioNeedsCsum|virtioDataValid) != 0, nil
}

// The virtio-net header's GSO types for TCP.
const (
	virtioGSONone  = 0
	virtioGSOTCPv4 = 1
	virtioGSOTCPv6 = 4
)

// WriteWhole writes one IPv4 or IPv6 TCP packet, at pkt[offset:], to queue
// q of a device with offloads, with a virtio-net header (written into the
// 10 bytes before offset) that leaves its TCP checksum to the kernel: the
// field must hold the pseudo-header's sum (header.EncodeTCPPartial). With
// gsoSize > 0 and more payload than that, the packet is a TSO
// super-segment: the kernel cuts it into segments of gsoSize bytes of
// payload (the last may be shorter), each with the header's flags (FIN
// and PSH on the last only), numbers and options.
func (d *Device) WriteWhole(q int, pkt []byte, offset, gsoSize int) error {
	if !d.Offloads() {
		return fmt.Errorf("tundev: %s: WriteWhole needs a device with offloads", d.name)
	}
	if offset < virtioHdrLen || len(pkt) < offset+20 {
		return fmt.Errorf("tundev: WriteWhole: %d bytes with offset %d: no room for the virtio-net header or no packet", len(pkt), offset)
	}
	p := pkt[offset:]
	ipLen, gso := 0, byte(virtioGSONone)
	switch p[0] >> 4 {
	case 4:
		ipLen, gso = int(p[0]&0xf)*4, virtioGSOTCPv4
	case 6:
		ipLen, gso = 40, virtioGSOTCPv6
	}
	if ipLen < 20 || len(p) < ipLen+20 {
		return fmt.Errorf("tundev: WriteWhole: not an IPv4 or IPv6 TCP packet (%d bytes)", len(p))
	}
	hdrLen := ipLen + int(p[ipLen+12]>>4)*4
	if gsoSize <= 0 || len(p)-hdrLen <= gsoSize {
		gso, gsoSize = virtioGSONone, 0
	}
	h := pkt[offset-virtioHdrLen : offset]
	h[0], h[1] = virtioNeedsCsum, gso
	binary.LittleEndian.PutUint16(h[2:], uint16(hdrLen))
	binary.LittleEndian.PutUint16(h[4:], uint16(gsoSize))
	binary.LittleEndian.PutUint16(h[6:], uint16(ipLen)) // csum_start: the TCP header
	binary.LittleEndian.PutUint16(h[8:], 16)            // csum_offset: its checksum field
	w := d.raw[q]
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.wbuf = h[:virtioHdrLen+len(p)]
	err := w.raw.Write(w.wfn)
	w.wbuf = nil
	if err == nil {
		err = w.werr
	}
	if err != nil {
		return fmt.Errorf("tundev: writing %d bytes to %s queue %d: %w", len(p), d.name, q, err)
	}
	return nil
}
