package tunnet

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Listener is a passive OPEN on one port: a net.Listener. Each SYN for the
// port becomes a connection in LISTEN that takes the SYN; it is queued for
// Accept once ESTABLISHED (or CLOSE-WAIT, if the peer already closed).
type Listener struct {
	s       *Stack
	key     listenKey
	addr    *net.TCPAddr
	acceptq chan *endpoint
	backlog int32
	pending atomic.Int32 // connections reserved: in SYN-RECEIVED or queued, not yet accepted
	// overflowAt is when the backlog last sent a SYN to a cookie (stack
	// time, ns; 0: never): cookies' ACKs are taken for two periods after.
	overflowAt atomic.Int64

	mu      sync.Mutex // orders enqueue against Close; guards the half-open list
	closed  bool
	closedC chan struct{}

	// The half-open list: reserved connections not yet queued (SYN-RECEIVED),
	// oldest first, linked through the endpoints (no allocation). When the
	// backlog is full, a new SYN evicts the oldest (evictHalfOpen).
	hoHead, hoTail *endpoint
}

// Listen announces on the stack: network is "tcp", "tcp4" or "tcp6";
// address is "ip:port" or ":port" (every stack address of the network's
// families). Port 0 is not supported: name the port.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	l, err := s.ListenTCP(network, address)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListenTCP is Listen returning the concrete type.
func (s *Stack) ListenTCP(network, address string) (*Listener, error) {
	fail := func(err error) (*Listener, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	if err := checkNetwork(network); err != nil {
		return fail(err)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return fail(err)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return fail(fmt.Errorf("address %q: %w", address, err))
	}
	if port == 0 {
		return fail(fmt.Errorf("address %q: port 0 (pick-a-port) is not supported; name a port", address))
	}
	var key listenKey
	key.port = port
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fail(fmt.Errorf("address %q: host must be an IP literal: %w", address, err))
		}
		a = a.Unmap()
		if !a.IsUnspecified() {
			if !s.owns(a) {
				return fail(fmt.Errorf("address %q: %v is not an address of this stack (%v)", address, a, s.cfg.Addrs))
			}
			key.addr = a
		}
	}
	select {
	case <-s.done:
		return fail(net.ErrClosed)
	default:
	}
	l := &Listener{
		s: s, key: key,
		addr:    &net.TCPAddr{IP: net.IP(key.addr.AsSlice()), Port: int(port)},
		acceptq: make(chan *endpoint, s.backlog),
		backlog: int32(s.backlog),
		closedC: make(chan struct{}),
	}
	if !key.addr.IsValid() {
		l.addr.IP = nil
	}
	if !s.demux.addListener(l) {
		return fail(fmt.Errorf("address %q: address already in use", address))
	}
	return l, nil
}

func checkNetwork(network string) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return nil
	}
	return net.UnknownNetworkError(network)
}

func parsePort(s string) (uint16, error) {
	var p int
	if _, err := fmt.Sscanf(s, "%d", &p); err != nil || p < 0 || p > 65535 || fmt.Sprint(p) != s {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(p), nil
}

// reserve takes a backlog slot for a new connection; false if full or
// closed.
func (l *Listener) reserve() bool {
	for {
		n := l.pending.Load()
		if n >= l.backlog {
			return false
		}
		if l.pending.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// cookieLife is how long an issued SYN cookie stays valid (two 64-second
// periods, machine/cookie.go).
const cookieLife = 128 * time.Second

// cookiesRecent reports whether ACKs returning SYN cookies are taken now:
// always in SYNCookiesAlways, never in SYNCookiesOff, else while a cookie
// issued at the last overflow may still be valid (as Linux ignores cookies
// when its queue has not overflowed recently, so blind ACKs cannot open
// connections on a listener that never sent one).
func (l *Listener) cookiesRecent(now time.Duration, mode SYNCookieMode) bool {
	switch mode {
	case SYNCookiesAlways:
		return true
	case SYNCookiesOff:
		return false
	}
	at := l.overflowAt.Load()
	return at != 0 && now-time.Duration(at) <= cookieLife
}

// release gives back a slot of a connection that died before Accept.
func (l *Listener) release() { l.pending.Add(-1) }

// enqueue hands an established connection to Accept; false once the
// listener is closed. The reservation guarantees room in the queue.
func (l *Listener) enqueue(ep *endpoint) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlinkLocked(ep)
	if l.closed {
		l.release()
		return false
	}
	select {
	case l.acceptq <- ep:
		return true
	default: // cannot happen: pending <= backlog = cap(acceptq)
		l.release()
		return false
	}
}

// linkHalfOpen appends ep, a new reserved connection, to the half-open
// list; false, linking nothing, if the listener is closed (Close aborts
// the connections on the list, so the caller must abort ep). ep.mu is
// held.
func (l *Listener) linkHalfOpen(ep *endpoint) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if !ep.hoLinked {
		ep.hoLinked, ep.hoPrev, ep.hoNext = true, l.hoTail, nil
		if l.hoTail != nil {
			l.hoTail.hoNext = ep
		} else {
			l.hoHead = ep
		}
		l.hoTail = ep
	}
	return true
}

// unlinkHalfOpen takes ep off the half-open list, if it is on it.
func (l *Listener) unlinkHalfOpen(ep *endpoint) {
	l.mu.Lock()
	l.unlinkLocked(ep)
	l.mu.Unlock()
}

func (l *Listener) unlinkLocked(ep *endpoint) {
	if !ep.hoLinked {
		return
	}
	if ep.hoPrev != nil {
		ep.hoPrev.hoNext = ep.hoNext
	} else {
		l.hoHead = ep.hoNext
	}
	if ep.hoNext != nil {
		ep.hoNext.hoPrev = ep.hoPrev
	} else {
		l.hoTail = ep.hoPrev
	}
	ep.hoLinked, ep.hoPrev, ep.hoNext = false, nil, nil
}

// popOldestHalfOpen takes the oldest connection off the half-open list;
// nil if there is none.
func (l *Listener) popOldestHalfOpen() *endpoint {
	l.mu.Lock()
	ep := l.hoHead
	if ep != nil {
		l.unlinkLocked(ep)
	}
	l.mu.Unlock()
	return ep
}

// Accept waits for the next established connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP is Accept returning the concrete type.
func (l *Listener) AcceptTCP() (*Conn, error) {
	select {
	case ep := <-l.acceptq:
		l.release()
		return newConn(ep), nil
	case <-l.closedC:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops listening. Connections not yet accepted, half-open ones
// included, are aborted (RST); accepted ones are not affected.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	close(l.closedC)
	l.mu.Unlock()
	l.s.demux.removeListener(l)
	// No new half-open connection joins the list now; one that gets
	// established meanwhile finds the listener closed and is aborted.
	for ep := l.popOldestHalfOpen(); ep != nil; ep = l.popOldestHalfOpen() {
		ep.abort()
	}
	for {
		select {
		case ep := <-l.acceptq:
			l.release()
			ep.abort()
		default:
			return nil
		}
	}
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.addr }

// abort aborts the connection from outside the stack's loops.
func (ep *endpoint) abort() {
	tx := ep.s.getTx()
	ep.mu.Lock()
	if !ep.dead {
		now := ep.s.now()
		ep.mc.Abort(now)
		ep.after(now, tx)
	}
	ep.mu.Unlock()
	ep.s.putTx(tx)
}

// stateOf is for tests.
func (ep *endpoint) stateOf() machine.State { return machine.State(ep.state.Load()) }
