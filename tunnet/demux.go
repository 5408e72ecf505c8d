package tunnet

import (
	"math/rand/v2"
	"net/netip"
	"sync"

	"github.com/tcpfsm/tcpfsm/machine"
)

// demux maps 4-tuples to connections and (address, port) to listeners. The
// reader takes the read lock once per segment; inserts and removals (one per
// connection) take the write lock.
type demux struct {
	mu        sync.RWMutex
	conns     map[machine.Tuple]*endpoint
	listeners map[listenKey]*Listener
	rng       *rand.Rand // ephemeral ports; guarded by mu
}

// listenKey names a listener: a zero addr listens on every stack address.
type listenKey struct {
	addr netip.Addr
	port uint16
}

// Ephemeral ports, as Linux's default ip_local_port_range.
const (
	ephemeralFirst = 32768
	ephemeralLast  = 60999
)

func (d *demux) init(seed [16]byte) {
	var s [32]byte
	copy(s[:], seed[:])
	d.conns = make(map[machine.Tuple]*endpoint)
	d.listeners = make(map[listenKey]*Listener)
	d.rng = rand.New(rand.NewChaCha8(s))
}

func (d *demux) lookup(t machine.Tuple) *endpoint {
	d.mu.RLock()
	ep := d.conns[t]
	d.mu.RUnlock()
	return ep
}

// insert adds ep under its tuple; false if the tuple is taken.
func (d *demux) insert(ep *endpoint) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[ep.tuple]; ok {
		return false
	}
	d.conns[ep.tuple] = ep
	return true
}

// remove deletes ep if it is still the connection for its tuple.
func (d *demux) remove(ep *endpoint) {
	d.mu.Lock()
	if d.conns[ep.tuple] == ep {
		delete(d.conns, ep.tuple)
	}
	d.mu.Unlock()
}

// insertEphemeral picks a free local port for a connection from local to
// remote, sets it in ep.tuple and inserts ep. It fails when all ephemeral
// ports to that remote are in use.
func (d *demux) insertEphemeral(ep *endpoint) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	const n = ephemeralLast - ephemeralFirst + 1
	start := d.rng.IntN(n)
	for i := range n {
		port := uint16(ephemeralFirst + (start+i)%n)
		t := ep.tuple
		t.LocalPort = port
		if _, ok := d.conns[t]; ok {
			continue
		}
		if d.listenerLocked(t.LocalAddr, port) != nil {
			continue
		}
		ep.tuple = t
		d.conns[t] = ep
		return true
	}
	return false
}

// listener returns the listener for (addr, port): the one bound to addr,
// else the wildcard one.
func (d *demux) listener(addr netip.Addr, port uint16) *Listener {
	d.mu.RLock()
	l := d.listenerLocked(addr, port)
	d.mu.RUnlock()
	return l
}

func (d *demux) listenerLocked(addr netip.Addr, port uint16) *Listener {
	if l := d.listeners[listenKey{addr, port}]; l != nil {
		return l
	}
	return d.listeners[listenKey{port: port}]
}

// addListener registers l; false if its (address, port) or an overlapping
// wildcard is taken.
func (d *demux) addListener(l *Listener) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := l.key
	if _, ok := d.listeners[k]; ok {
		return false
	}
	if k.addr.IsValid() {
		if _, ok := d.listeners[listenKey{port: k.port}]; ok {
			return false
		}
	} else {
		for o := range d.listeners {
			if o.port == k.port {
				return false
			}
		}
	}
	d.listeners[k] = l
	return true
}

func (d *demux) removeListener(l *Listener) {
	d.mu.Lock()
	if d.listeners[l.key] == l {
		delete(d.listeners, l.key)
	}
	d.mu.Unlock()
}

func (d *demux) allConns() []*endpoint {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*endpoint, 0, len(d.conns))
	for _, ep := range d.conns {
		out = append(out, ep)
	}
	return out
}

func (d *demux) allListeners() []*Listener {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*Listener, 0, len(d.listeners))
	for _, l := range d.listeners {
		out = append(out, l)
	}
	return out
}
