package tunnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// queueLog wraps a MultiQueueDevice and records which queues each
// connection's packets were read from and written to, after the handshake.
type queueLog struct {
	MultiQueueDevice
	mu     sync.Mutex
	read   []int                         // packets read per queue
	queues map[machine.Tuple]map[int]int // per connection (the stack's view): queue -> packets
}

func newQueueLog(d MultiQueueDevice) *queueLog {
	return &queueLog{MultiQueueDevice: d, read: make([]int, d.Queues()), queues: map[machine.Tuple]map[int]int{}}
}

func (l *queueLog) note(q int, pkt []byte, inbound bool) {
	if inbound {
		l.read[q]++
	}
	var p header.Packet
	if header.DecodeUnchecked(pkt, &p) != nil || p.TCP.Flags&header.FlagSYN != 0 {
		// Not TCP (IPv6 neighbour discovery), or a SYN: the kernel
		// moves a flow to the queue written last only after handling
		// the packet written, so the SYN+ACK answering a SYN the stack
		// sent comes on the queue the flow's hash picks, and the stack
		// follows it there.
		return
	}
	t := machine.Tuple{LocalAddr: p.Src, LocalPort: p.TCP.SrcPort, RemoteAddr: p.Dst, RemotePort: p.TCP.DstPort}
	if inbound {
		t = machine.Tuple{LocalAddr: p.Dst, LocalPort: p.TCP.DstPort, RemoteAddr: p.Src, RemotePort: p.TCP.SrcPort}
	}
	if l.queues[t] == nil {
		l.queues[t] = map[int]int{}
	}
	l.queues[t][q]++
}

func (l *queueLog) ReadQueue(q int, bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := l.MultiQueueDevice.ReadQueue(q, bufs, sizes, offset)
	l.mu.Lock()
	for i := range n {
		l.note(q, bufs[i][offset:offset+sizes[i]], true)
	}
	l.mu.Unlock()
	return n, err
}

func (l *queueLog) WriteQueue(q int, bufs [][]byte, offset int) error {
	l.mu.Lock()
	for _, b := range bufs {
		l.note(q, b[offset:], false)
	}
	l.mu.Unlock()
	return l.MultiQueueDevice.WriteQueue(q, bufs, offset)
}

// TestKernelQueues runs the stack on a TUN with two queues, a reader each,
// with connections opened both ways and data both ways. Both queues must
// carry traffic, and after its handshake each connection must stay on one
// queue, read and written: the stack writes a connection's packets to the
// queue they arrive on, so the kernel never moves an established flow
// between queues (which would reorder its segments between the readers).
func TestKernelQueues(t *testing.T) {
	const conns, size = 48, 256 << 10
	var log *queueLog
	e := newKernelEnvQueues(t, 2, func(c *Config) {
		log = newQueueLog(c.Device.(MultiQueueDevice))
		c.Device = log
	})
	ln, err := e.s.Listen("tcp", e.stackAddr(6100))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveEcho(ln)
	kln, err := net.Listen("tcp", e.kernelAddr(6101))
	if err != nil {
		t.Fatal(err)
	}
	defer kln.Close()
	go serveEcho(kln)

	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			var c net.Conn
			var err error
			if i%2 == 0 { // the kernel connects to the stack
				c, err = net.DialTimeout("tcp", e.stackAddr(6100), 10*time.Second)
			} else { // the stack connects to the kernel
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err = e.s.DialContext(ctx, "tcp", e.kernelAddr(6101))
				cancel()
			}
			if err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0xa5}, size/3)
			go func() {
				c.Write(msg)
				if cw, ok := c.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			}()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
			} else if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: echo of %d bytes came back as %d bytes", i, len(msg), len(got))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("packets read per queue: %v; %d connections", log.read, len(log.queues))
	for q, n := range log.read {
		if n == 0 {
			t.Errorf("queue %d read no packet (per queue: %v)", q, log.read)
		}
	}
	if len(log.queues) < conns {
		t.Errorf("log saw %d connections, want %d", len(log.queues), conns)
	}
	for tup, qs := range log.queues {
		if len(qs) > 1 {
			t.Errorf("connection %v moved between queues: packets per queue %v", tup, qs)
		}
	}
}
