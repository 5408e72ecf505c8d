package tunnet

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Conn is a TCP connection on a Stack: a net.Conn, with CloseWrite for
// half-close. Read and Write may be called from different goroutines; each
// Write is atomic with respect to other Writes.
//
// Errors are *net.OpError values whose Err says what happened:
// errors.Is(err, syscall.ECONNRESET) (and machine.ErrReset) after an RST,
// syscall.ECONNREFUSED for a refused Dial, syscall.ETIMEDOUT when the
// machine's user timeout or retransmissions gave up, os.ErrDeadlineExceeded
// when a deadline passed (Timeout() is true), and net.ErrClosed after
// Close.
type Conn struct {
	ep            *endpoint
	gen           uint32
	local, remote *net.TCPAddr
	rdl, wdl      deadline
	wmu           sync.Mutex // one Write at a time
	closed        atomic.Bool
	closedC       chan struct{}
}

func newConn(ep *endpoint) *Conn {
	ep.mu.Lock()
	gen := ep.gen
	ep.mu.Unlock()
	t := ep.tuple
	return &Conn{
		ep:      ep,
		gen:     gen,
		local:   &net.TCPAddr{IP: net.IP(t.LocalAddr.AsSlice()), Port: int(t.LocalPort)},
		remote:  &net.TCPAddr{IP: net.IP(t.RemoteAddr.AsSlice()), Port: int(t.RemotePort)},
		rdl:     makeDeadline(),
		wdl:     makeDeadline(),
		closedC: make(chan struct{}),
	}
}

func (c *Conn) opErr(op string, err error) error { return opError(op, c.local, c.remote, err) }

// Read reads data the peer sent. It returns io.EOF after the peer's FIN
// once all data before it was read.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	ep, s := c.ep, c.ep.s
	for {
		if isClosed(c.rdl.wait()) {
			return 0, c.opErr("read", errDeadline)
		}
		ep.mu.Lock()
		if ep.gen != c.gen {
			ep.mu.Unlock()
			return 0, c.opErr("read", net.ErrClosed)
		}
		n, wait, err := c.readLocked(p)
		if !wait {
			return n, err
		}
		ep.rdWait = true
		ep.mu.Unlock()
		select {
		case <-ep.rd:
		case <-c.rdl.wait():
			return 0, c.opErr("read", errDeadline)
		case <-c.closedC:
			return 0, c.opErr("read", net.ErrClosed)
		case <-s.done:
			return 0, c.opErr("read", net.ErrClosed)
		}
	}
}

// readLocked is one attempt of Read, with ep.mu held. It unlocks unless it
// returns wait (nothing to read yet: the caller waits with ep.mu held).
func (c *Conn) readLocked(p []byte) (n int, wait bool, err error) {
	ep, s := c.ep, c.ep.s
	mc := ep.mc
	connErr := mc.Err()
	switch {
	case len(p) == 0:
		// Like a socket: a zero-length read returns at once.
		ep.mu.Unlock()
		return 0, false, nil
	case len(ep.tail) > 0:
		// Text kept from a connection that is closing or closed.
		n = copy(p, ep.tail)
		ep.tail = ep.tail[n:]
		if len(ep.tail) == 0 {
			ep.tail = nil
		}
		ep.mu.Unlock()
		return n, false, nil
	case mc.Readable() > 0:
		tx := s.getTx()
		now := s.now()
		n, err = mc.Read(now, p)
		ep.after(now, tx)
		connErr = mc.Err()
		ep.mu.Unlock()
		s.putTx(tx)
		switch {
		case n > 0:
			return n, false, nil
		case err == io.EOF:
			return 0, false, io.EOF
		case err != nil:
			return 0, false, c.opErr("read", mapErr(err))
		case connErr != nil:
			return 0, false, c.opErr("read", mapErr(connErr))
		}
		ep.mu.Lock() // nothing after all: wait
		return 0, true, nil
	case connErr != nil:
		// Reset, refused, timed out: the machine flushed its queues.
		ep.mu.Unlock()
		return 0, false, c.opErr("read", mapErr(connErr))
	case mc.PeerClosed() || mc.State() == machine.StateClosed:
		// Everything before the FIN was read, or the connection ended
		// cleanly: end of stream, without stepping the machine.
		ep.mu.Unlock()
		return 0, false, io.EOF
	}
	return 0, true, nil
}

// Write queues p for sending, blocking while the send buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	ep, s := c.ep, c.ep.s
	written := 0
	for written < len(p) || len(p) == 0 {
		if isClosed(c.wdl.wait()) {
			return written, c.opErr("write", errDeadline)
		}
		ep.mu.Lock()
		if ep.gen != c.gen {
			ep.mu.Unlock()
			return written, c.opErr("write", net.ErrClosed)
		}
		mc := ep.mc
		if err := mc.Err(); err != nil {
			ep.mu.Unlock()
			return written, c.opErr("write", mapErr(err))
		}
		switch mc.State() {
		case machine.StateSynSent, machine.StateSynReceived, machine.StateEstablished, machine.StateCloseWait:
		default: // we closed our side (or the connection is gone)
			ep.mu.Unlock()
			return written, c.opErr("write", errClosing)
		}
		if len(p) == 0 {
			ep.mu.Unlock()
			return 0, nil
		}
		if mc.Writable() > 0 {
			tx := s.getTx()
			now := s.now()
			n, err := mc.Write(now, p[written:])
			ep.after(now, tx)
			ep.mu.Unlock()
			s.putTx(tx)
			written += n
			if err != nil {
				return written, c.opErr("write", mapErr(err))
			}
			continue
		}
		ep.wrWait = true
		ep.mu.Unlock()
		select {
		case <-ep.wr:
		case <-c.wdl.wait():
			return written, c.opErr("write", errDeadline)
		case <-c.closedC:
			return written, c.opErr("write", net.ErrClosed)
		case <-s.done:
			return written, c.opErr("write", net.ErrClosed)
		}
	}
	return written, nil
}

// CloseWrite shuts down the sending side: a FIN follows the queued data
// (the machine's CLOSE). Data from the peer still arrives.
func (c *Conn) CloseWrite() error {
	if c.closed.Load() {
		return c.opErr("close", net.ErrClosed)
	}
	return c.opErr("close", c.closeMachine(false))
}

// closeMachine steps CLOSE if the sending side is still open; appClosed
// also marks the application gone.
func (c *Conn) closeMachine(appClosed bool) error {
	ep, s := c.ep, c.ep.s
	tx := s.getTx()
	defer s.putTx(tx)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.gen != c.gen {
		return net.ErrClosed
	}
	if appClosed {
		ep.appClosed = true
	}
	var err error
	now := s.now()
	switch ep.mc.State() {
	case machine.StateSynSent, machine.StateSynReceived, machine.StateEstablished, machine.StateCloseWait, machine.StateListen:
		err = mapErr(ep.mc.Close(now))
	}
	if !ep.dead {
		ep.after(now, tx)
	}
	return err
}

// Close closes the connection: the FIN goes out after the queued data and
// the stack carries the connection through FIN-WAIT or LAST-ACK and
// TIME-WAIT on its own. Data that arrives later is discarded. Read and
// Write return net.ErrClosed from now on.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opErr("close", net.ErrClosed)
	}
	close(c.closedC)
	c.rdl.stop()
	c.wdl.stop()
	err := c.closeMachine(true)
	if err == errClosing || err == net.ErrClosed {
		err = nil // CloseWrite came first, or the connection is already gone
	}
	return c.opErr("close", err)
}

// Abort drops the connection at once: an RST goes to the peer where the
// spec says so (ABORT).
func (c *Conn) Abort() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opErr("abort", net.ErrClosed)
	}
	close(c.closedC)
	c.rdl.stop()
	c.wdl.stop()
	ep := c.ep
	ep.mu.Lock()
	same := ep.gen == c.gen
	ep.mu.Unlock()
	if same {
		ep.abort()
	}
	return nil
}

// connErr returns the connection's error, if it has one, mapped.

// SetNoDelay controls Nagle's algorithm (RFC 9293 3.7.4), as
// net.TCPConn's: true (the default, as in Go) sends each write as soon as
// the window allows; false holds a short segment back while text is
// unacknowledged. Text held back goes out as soon as it is turned off.
func (c *Conn) SetNoDelay(noDelay bool) error {
	ep, s := c.ep, c.ep.s
	ep.mu.Lock()
	if c.closed.Load() || ep.gen != c.gen {
		ep.mu.Unlock()
		return c.opErr("set", net.ErrClosed)
	}
	mc := ep.mc
	mc.SetNoDelay(noDelay)
	if st := mc.State(); !noDelay || st != machine.StateEstablished && st != machine.StateCloseWait {
		ep.mu.Unlock()
		return nil
	}
	tx := s.getTx()
	now := s.now()
	mc.Write(now, nil) // an empty SEND: output sends what Nagle held
	ep.after(now, tx)
	ep.mu.Unlock()
	s.putTx(tx)
	return nil
}

// SetKeepAlive turns keepalive probes on or off, as net.TCPConn's: on,
// an idle connection is probed after 15 s of silence, every 15 s, and
// given up (reads and writes fail with ETIMEDOUT) after 9 unanswered
// probes, unless SetKeepAlivePeriod or SetKeepAliveConfig say otherwise.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setKeepAlive(func(k *machine.KeepAlive) { k.Enable = keepalive })
}

// SetKeepAlivePeriod sets the idle time before the first probe and the
// interval between probes, as net.TCPConn's.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	if d <= 0 {
		return c.opErr("set", fmt.Errorf("keepalive period %v: want > 0", d))
	}
	return c.setKeepAlive(func(k *machine.KeepAlive) { k.Idle, k.Interval = d, d })
}

// SetKeepAliveConfig configures keepalive as net.TCPConn's: zero Idle,
// Interval and Count take the defaults (15 s, 15 s, 9), negative ones
// leave the current value.
func (c *Conn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error {
	return c.setKeepAlive(func(k *machine.KeepAlive) {
		k.Enable = cfg.Enable
		if cfg.Idle >= 0 {
			k.Idle = cmp.Or(cfg.Idle, defaultKeepAlivePeriod)
		}
		if cfg.Interval >= 0 {
			k.Interval = cmp.Or(cfg.Interval, defaultKeepAlivePeriod)
		}
		if cfg.Count >= 0 {
			k.Count = cmp.Or(cfg.Count, defaultKeepAliveCount)
		}
	})
}

// Go's keepalive defaults (net.KeepAliveConfig).
const (
	defaultKeepAlivePeriod = 15 * time.Second
	defaultKeepAliveCount  = 9
)

func (c *Conn) setKeepAlive(change func(*machine.KeepAlive)) error {
	ep, s := c.ep, c.ep.s
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if c.closed.Load() || ep.gen != c.gen {
		return c.opErr("set", net.ErrClosed)
	}
	k := ep.mc.KeepAlive()
	change(&k)
	ep.mc.SetKeepAlive(s.now(), k)
	d, ok := ep.mc.NextDeadline() // the keepalive timer may have moved
	ep.timer.arm(d, ok)
	return nil
}

// LocalAddr returns the local address (a *net.TCPAddr).
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address (a *net.TCPAddr).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline: a blocked or later Read returns
// an error wrapping os.ErrDeadlineExceeded once t has passed.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline, likewise.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

// State returns the connection's current state, for diagnostics.
func (c *Conn) State() machine.State { return c.ep.stateOf() }

// Tuple returns the connection's 4-tuple.
func (c *Conn) Tuple() machine.Tuple { return c.ep.tuple }
