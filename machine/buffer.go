package machine

// ring is a byte ring that grows on demand, up to a limit its owner
// enforces. Live bytes start at head; offsets passed to its methods count
// from head. The send buffer keeps the unacknowledged and unsent bytes in it;
// the receive buffer keeps the readable bytes followed by room for
// out-of-order text at its sequence offset.
//
// Growth allocates (a connection's first few kilobytes, then doubling);
// once a ring has reached its working size it never allocates again, and
// delete_tcb empties it without freeing its storage.
type ring struct {
	buf  []byte // storage in use: positions are modulo len(buf)
	head int    // position of the first live byte
	n    int    // live bytes (readable or unacknowledged+unsent)
}

// minRing is the first storage size of a ring that holds anything.
const minRing = 4096

// pos is the storage position of offset off (0 <= off < len(buf)).
func (r *ring) pos(off int) int {
	p := r.head + off
	if p >= len(r.buf) {
		p -= len(r.buf)
	}
	return p
}

// reserve makes the ring able to hold want bytes from head, growing its
// storage to at most limit (want <= limit), and keeps the first keep bytes
// from head (live bytes plus out-of-order text).
func (r *ring) reserve(want, keep, limit int) {
	if want <= len(r.buf) {
		return
	}
	size := max(len(r.buf), min(minRing, limit), 1)
	for size < want {
		size *= 2
	}
	size = max(min(size, limit), want)
	nb := make([]byte, size)
	r.read(0, nb[:keep])
	r.buf, r.head = nb, 0
}

// write copies p to offset off (off+len(p) <= len(buf)).
func (r *ring) write(off int, p []byte) {
	if len(p) == 0 {
		return
	}
	at := r.pos(off)
	k := copy(r.buf[at:], p)
	copy(r.buf, p[k:])
}

// read copies len(p) bytes from offset off into p.
func (r *ring) read(off int, p []byte) {
	if len(p) == 0 {
		return
	}
	at := r.pos(off)
	k := copy(p, r.buf[at:])
	copy(p[k:], r.buf)
}

// slice returns up to n bytes from offset off without copying: fewer when
// they wrap around the end of the storage.
func (r *ring) slice(off, n int) []byte {
	at := r.pos(off)
	end := min(at+n, len(r.buf))
	return r.buf[at:end]
}

// consume drops k bytes from the front.
func (r *ring) consume(k int) {
	if k == 0 {
		return
	}
	r.head = r.pos(k)
	r.n -= k
}

// empty drops everything, keeping the storage.
func (r *ring) empty() { r.head, r.n = 0, 0 }

// copyTo makes dst hold the same bytes at the same positions: the first
// span bytes from head (live plus out-of-order). It reuses dst's storage
// when it is large enough.
func (r *ring) copyTo(dst *ring, span int) {
	if cap(dst.buf) >= len(r.buf) {
		dst.buf = dst.buf[:len(r.buf)]
	} else {
		dst.buf = make([]byte, len(r.buf))
	}
	dst.head, dst.n = r.head, r.n
	if span == 0 {
		return
	}
	at := r.head
	k := copy(dst.buf[at:min(at+span, len(r.buf))], r.buf[at:])
	copy(dst.buf[:span-k], r.buf[:span-k])
}

// appendTo appends n bytes from offset off to b.
func (r *ring) appendTo(b []byte, off, n int) []byte {
	for n > 0 {
		s := r.slice(off, n)
		b = append(b, s...)
		off += len(s)
		n -= len(s)
	}
	return b
}
