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

// The virtio-net header's GSO types for TCP.
const (
	virtioGSONone  = 0
	virtioGSOTCPv4 = 1
	virtioGSOTCPv6 = 4
)

// wholeWriter writes one queue's file without the wireguard package.
type wholeWriter struct {
	mu  sync.Mutex
	raw syscall.RawConn
	fn  func(fd uintptr) bool
	buf []byte
	err error
}

func newWholeWriter(f *os.File) (*wholeWriter, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &wholeWriter{raw: raw}
	w.fn = w.write
	return w, nil
}

func (w *wholeWriter) write(fd uintptr) bool {
	var n int
	n, w.err = unix.Write(int(fd), w.buf)
	if w.err == nil && n != len(w.buf) {
		w.err = fmt.Errorf("short write: %d of %d bytes", n, len(w.buf))
	}
	return w.err != unix.EAGAIN
}

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
	w := d.wholeW[q]
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = h[:virtioHdrLen+len(p)]
	err := w.raw.Write(w.fn)
	w.buf = nil
	if err == nil {
		err = w.err
	}
	if err != nil {
		return fmt.Errorf("tundev: writing %d bytes to %s queue %d: %w", len(p), d.name, q, err)
	}
	return nil
}
