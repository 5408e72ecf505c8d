package tunnet

import (
	"fmt"
	"os"
	"sync"
)

// Pipe is one end of an in-memory packet link made by [NewPipe]. It
// implements [Device] so that two stacks (or a stack and a test) can talk
// without a TUN device or privileges. Packets are copied into a bounded
// queue; when the queue is full, further packets are dropped, as a real
// interface queue would.
type Pipe struct {
	mtu  int
	in   *pipeQueue // packets to Read
	out  *pipeQueue // packets Write delivers to the other end
	once sync.Once
}

// pipeQueue is a ring of preallocated packet buffers: no allocation per
// packet.
type pipeQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	bufs    [][]byte // ring slots, each mtu bytes
	sizes   []int
	head, n int
	closed  bool
	dropped uint64
}

// pipeQueueLen is how many packets one direction of a Pipe holds.
const pipeQueueLen = 4096

// NewPipe returns the two ends of an in-memory link carrying packets of up
// to mtu bytes.
func NewPipe(mtu int) (*Pipe, *Pipe) {
	ab, ba := newPipeQueue(mtu), newPipeQueue(mtu)
	return &Pipe{mtu: mtu, in: ba, out: ab}, &Pipe{mtu: mtu, in: ab, out: ba}
}

func newPipeQueue(mtu int) *pipeQueue {
	q := &pipeQueue{bufs: make([][]byte, pipeQueueLen), sizes: make([]int, pipeQueueLen)}
	for i := range q.bufs {
		q.bufs[i] = make([]byte, mtu)
	}
	q.cond.L = &q.mu
	return q
}

// ReadBatch implements Device.
func (p *Pipe) ReadBatch(bufs [][]byte, sizes []int, offset int) (int, error) {
	q := p.in
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return 0, fmt.Errorf("pipe read: %w", os.ErrClosed)
	}
	k := 0
	for k < len(bufs) && q.n > 0 {
		sizes[k] = copy(bufs[k][offset:], q.bufs[q.head][:q.sizes[q.head]])
		q.head = (q.head + 1) % len(q.bufs)
		q.n--
		k++
	}
	return k, nil
}

// WriteBatch implements Device. Packets longer than the MTU are an error;
// packets that find the queue full are dropped silently (Dropped counts
// them).
func (p *Pipe) WriteBatch(bufs [][]byte, offset int) error {
	for _, b := range bufs {
		if len(b)-offset > p.mtu {
			return fmt.Errorf("pipe write: packet of %d bytes exceeds MTU %d", len(b)-offset, p.mtu)
		}
	}
	q := p.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil // the other end is gone: the wire eats it
	}
	for _, b := range bufs {
		if q.n == len(q.bufs) {
			q.dropped++
			continue
		}
		i := (q.head + q.n) % len(q.bufs)
		q.sizes[i] = copy(q.bufs[i], b[offset:])
		q.n++
	}
	q.cond.Signal()
	return nil
}

// Dropped returns how many packets written towards this end were dropped
// because its queue was full.
func (p *Pipe) Dropped() uint64 {
	p.in.mu.Lock()
	defer p.in.mu.Unlock()
	return p.in.dropped
}

// BatchSize implements Device.
func (p *Pipe) BatchSize() int { return 64 }

// MTU implements Device.
func (p *Pipe) MTU() int { return p.mtu }

// Close implements Device: Reads on this end fail from now on, and packets
// written towards it are discarded.
func (p *Pipe) Close() error {
	p.once.Do(func() {
		p.in.mu.Lock()
		p.in.closed = true
		p.in.cond.Broadcast()
		p.in.mu.Unlock()
	})
	return nil
}
