package tunnet

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// Stack is one TCP/IP endpoint on one packet device: the demultiplexer, the
// connections, the listeners, the reader and timer goroutines.
type Stack struct {
	cfg      Config
	dev      Device
	mq       MultiQueueDevice // dev, when it has more than one queue
	ww       WholeWriter      // dev, when the stack writes super-segments itself (tso.go)
	epoch    time.Time
	clock    func() time.Time
	headroom int
	mtu      int
	ttl      uint8
	backlog  int

	mcfg4, mcfg6 machine.Config // shared by every connection of the family

	demux   demux
	timers  timers
	scratch scratch
	txPool  sync.Pool // *txBatch
	pcapMu  sync.Mutex
	faults  faultGate

	counters counters

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	readErr   error     // why a reader stopped, if not Close
	readOnce  sync.Once // the first failing reader sets readErr
}

// New starts a stack on cfg.Device: its reader and timer goroutines run
// until Close.
func New(cfg Config) (*Stack, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Stack{
		cfg:      cfg,
		dev:      cfg.Device,
		clock:    time.Now,
		headroom: Headroom,
		mtu:      cfg.Device.MTU(),
		ttl:      cfg.TTL,
		backlog:  cfg.Backlog,
		done:     make(chan struct{}),
	}
	if s.ttl == 0 {
		s.ttl = defaultTTL
	}
	if s.backlog == 0 {
		s.backlog = defaultBacklog
	}
	s.epoch = s.clock()
	if cfg.Faults.Active() {
		s.faults.inj = faults.New(cfg.Faults, s.clock)
	}

	m := cfg.Machine
	m.Observer = nil
	// As Go's net package: TCP_NODELAY on every connection
	// (Conn.SetNoDelay(false) turns Nagle on), and its keepalive defaults
	// for what SetKeepAlive(true) starts.
	m.NoDelay = true
	k := &m.KeepAlive
	k.Idle = cmp.Or(k.Idle, defaultKeepAlivePeriod)
	k.Interval = cmp.Or(k.Interval, defaultKeepAlivePeriod)
	k.Count = cmp.Or(k.Count, defaultKeepAliveCount)
	if m.ISNKey == ([16]byte{}) {
		if _, err := rand.Read(m.ISNKey[:]); err != nil {
			return nil, fmt.Errorf("tunnet: ISN key: %w", err)
		}
	}
	s.mcfg4, s.mcfg6 = m, m
	s.mcfg4.MSS = clampMSS(m.MSS, s.mtu-header.IPv4MinHeaderLen-header.TCPMinHeaderLen)
	s.mcfg6.MSS = clampMSS(m.MSS, s.mtu-header.IPv6HeaderLen-header.TCPMinHeaderLen)

	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("tunnet: port seed: %w", err)
	}
	s.demux.init(seed)
	s.scratch.init(s)
	s.txPool.New = func() any { return s.newTx() }
	s.timers.init(s)

	if mq, ok := cfg.Device.(MultiQueueDevice); ok && mq.Queues() > 1 {
		s.mq = mq
	}
	s.wg.Add(1 + s.queues())
	wr, whole := cfg.Device.(WholeReader)
	whole = whole && wr.Offloads() && !cfg.Faults.Active() && !cfg.SplitSuperSegments
	if ww, ok := cfg.Device.(WholeWriter); ok && ww.Offloads() && !cfg.Faults.Active() && !cfg.SplitSuperSegments {
		s.ww = ww
	}
	for q := range s.queues() {
		if whole {
			go s.readWholeLoop(q, wr)
		} else {
			go s.readLoop(q)
		}
	}
	go s.timers.loop()
	if cfg.CloseWaitWarn > 0 && cfg.Warn != nil {
		s.wg.Add(1)
		go s.closeWaitLoop()
	}
	return s, nil
}

func clampMSS(set uint16, fromMTU int) uint16 {
	if set != 0 && int(set) < fromMTU {
		return set
	}
	return uint16(fromMTU)
}

// queues is how many device queues the stack reads (one reader each).
func (s *Stack) queues() int {
	if s.mq != nil {
		return s.mq.Queues()
	}
	return 1
}

// queueFor is the queue a connection the stack opens starts on, before
// any of its segments arrives: spread by the tuple.
func (s *Stack) queueFor(t machine.Tuple) uint8 {
	n := s.queues()
	if n == 1 {
		return 0
	}
	h := uint32(t.LocalPort)<<16 | uint32(t.RemotePort)
	h *= 0x9e3779b1 // Fibonacci hashing: spread consecutive ports
	return uint8(uint64(h) * uint64(n) >> 32)
}

// now is the machine clock: time since the stack started.
func (s *Stack) now() time.Duration { return s.clock().Sub(s.epoch) }

// machineConfig returns the shared machine configuration for a's family.
func (s *Stack) machineConfig(a netip.Addr) *machine.Config {
	if a.Is4() {
		return &s.mcfg4
	}
	return &s.mcfg6
}

// owns reports whether a is one of the stack's addresses.
func (s *Stack) owns(a netip.Addr) bool { return slices.Contains(s.cfg.Addrs, a) }

// localAddrFor returns the stack's first address of remote's family.
func (s *Stack) localAddrFor(remote netip.Addr) (netip.Addr, bool) {
	for _, x := range s.cfg.Addrs {
		if x.Is4() == remote.Is4() {
			return x, true
		}
	}
	return netip.Addr{}, false
}

// Addrs returns the addresses the stack owns.
func (s *Stack) Addrs() []netip.Addr { return append([]netip.Addr(nil), s.cfg.Addrs...) }

// MTU returns the device MTU.
func (s *Stack) MTU() int { return s.mtu }

// Done is closed when the stack stops (Close, or a fatal device error).
func (s *Stack) Done() <-chan struct{} { return s.done }

// Close aborts every connection (sending RST where the spec says so),
// closes the listeners and the device, and waits for the stack's
// goroutines. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		s.shutdown()
		s.closeErr = s.dev.Close()
		s.wg.Wait()
		s.timers.stopAll()
	})
	return s.closeErr
}

// shutdown marks the stack closed and aborts what is still open.
func (s *Stack) shutdown() {
	select {
	case <-s.done:
		return
	default:
	}
	for _, l := range s.demux.allListeners() {
		l.Close()
	}
	for _, ep := range s.demux.allConns() {
		tx := s.getTx()
		ep.mu.Lock()
		if !ep.dead {
			now := s.now()
			ep.mc.Abort(now)
			ep.after(now, tx)
		}
		ep.mu.Unlock()
		s.putTx(tx)
	}
	close(s.done)
	for _, ep := range s.demux.allConns() { // late arrivals
		ep.mu.Lock()
		ep.wakeAll()
		ep.mu.Unlock()
	}
}

// Err returns the error that stopped the reader, if the device failed.
func (s *Stack) Err() error {
	select {
	case <-s.done:
		return s.readErr
	default:
		return nil
	}
}

// input hands seg (arrived for tuple t) to its connection, to a listener,
// or to the scratch machine that answers segments for no connection.
func (s *Stack) input(now time.Duration, t machine.Tuple, seg *machine.Segment, tx *txBatch) {
	if seg.Flags&machine.RST != 0 {
		s.counters.rstRcvd.Add(1)
	}
	for {
		ep := s.demux.lookup(t)
		if ep == nil {
			break
		}
		ep.mu.Lock()
		if ep.dead { // freed since the lookup: look again
			ep.mu.Unlock()
			continue
		}
		ep.input(now, seg, tx)
		ep.mu.Unlock()
		return
	}
	if l := s.demux.listener(t.LocalAddr, t.LocalPort); l != nil {
		s.listenInput(now, l, t, seg, tx)
		return
	}
	s.counters.noConn.Add(1)
	s.scratch.input(now, machine.StateClosed, t, seg, false, tx)
}

// listenInput handles a segment for a listening port with no connection: a
// SYN (as the LISTEN machine classifies it) becomes a new connection in
// LISTEN that then takes the SYN; anything else is answered by the scratch
// LISTEN machine.
func (s *Stack) listenInput(now time.Duration, l *Listener, t machine.Tuple, seg *machine.Segment, tx *txBatch) {
	mode := s.cfg.SYNCookies
	switch ev := s.scratch.classifyListen(now, t, seg); {
	case ev == machine.EventRcvSyn:
		// A SYN: a connection in SYN-RECEIVED if the backlog has room,
		// else (or always) a SYN cookie and no state.
		if mode == SYNCookiesAlways || mode == SYNCookiesOnOverflow && !l.reserve() {
			l.overflowAt.Store(max(int64(now), 1))
			s.counters.cookiesSent.Add(1)
			s.scratch.input(now, machine.StateListen, t, seg, true, tx)
			return
		}
		if mode == SYNCookiesOff && !l.reserve() && !s.evictHalfOpen(now, l, tx) {
			s.counters.backlogFull.Add(1)
			return
		}
	case (ev == machine.EventRcvAck || ev == machine.EventRcvData || ev == machine.EventRcvFin) && l.cookiesRecent(now, mode) &&
		s.scratch.validCookie(now, t, seg):
		// The ACK of a cookie: the connection, if there is room for it
		// (a half-open connection gives way to a peer that proved it
		// receives at its address).
		if !l.reserve() && !s.evictHalfOpen(now, l, tx) {
			s.counters.backlogFull.Add(1)
			return
		}
		s.counters.cookiesTaken.Add(1)
	default:
		s.counters.noConn.Add(1)
		s.scratch.input(now, machine.StateListen, t, seg, false, tx)
		return
	}
	ep := s.newEndpoint(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if !s.demux.insert(ep) { // another reader created it meanwhile
		l.release()
		return
	}
	ep.l = l
	if !l.linkHalfOpen(ep) { // closed since the lookup
		ep.mc.Abort(now)
		ep.after(now, tx) // CLOSED: free gives the slot back
		return
	}
	ep.mc.SetAcceptIncarnation(true)
	ep.mc.SetSynCookies(seg.Flags&machine.SYN == 0) // a cookie's ACK
	if err := ep.mc.Listen(now); err != nil {
		ep.mc.Abort(now)
		ep.after(now, tx) // CLOSED: free gives the slot back
		return
	}
	ep.clearObserved() // the LISTEN of a child is bookkeeping, not news
	ep.input(now, seg, tx)
}

// evictHalfOpen makes room in l's full backlog for a new SYN by aborting
// (RST) the oldest connection still in SYN-RECEIVED, and reserves the slot
// it frees. It reports false, reserving nothing, when no half-open
// connection is left to evict: the backlog is full of established
// connections waiting for Accept, and the SYN is dropped.
func (s *Stack) evictHalfOpen(now time.Duration, l *Listener, tx *txBatch) bool {
	// Bounded: each round takes one connection off the list, but other
	// readers may add to it and take the slots freed.
	for range l.backlog + 1 {
		ep := l.popOldestHalfOpen()
		if ep == nil {
			return false
		}
		ep.mu.Lock()
		if !ep.dead && ep.l == l && !ep.queued && ep.mc.State() == machine.StateSynReceived {
			ep.mc.Abort(now)
			ep.after(now, tx) // CLOSED: free gives the slot back
			s.counters.halfOpenEvicted.Add(1)
		}
		ep.mu.Unlock()
		if l.reserve() {
			return true
		}
	}
	return false
}
