package tunnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Dial connects to address ("ip:port") over the stack; see DialContext.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

// DialContext makes an active OPEN to address ("ip:port", an IP literal;
// no name resolution) from the stack's first address of the same family
// and an ephemeral port, and waits until the connection is ESTABLISHED, the
// peer refuses it (RST: ECONNREFUSED), the machine gives up (ETIMEDOUT) or
// ctx ends (the connection is aborted).
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := s.DialTCP(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialTCP is DialContext returning the concrete type.
func (s *Stack) DialTCP(ctx context.Context, network, address string) (*Conn, error) {
	var raddr net.Addr
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	if err := checkNetwork(network); err != nil {
		return fail(err)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fail(fmt.Errorf("address %q: want ip:port with an IP literal: %w", address, err))
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	raddr = net.TCPAddrFromAddrPort(ap)
	remote := ap.Addr()
	if (network == "tcp4" && !remote.Is4()) || (network == "tcp6" && !remote.Is6()) {
		return fail(fmt.Errorf("address %v is not %s", remote, network))
	}
	if ap.Port() == 0 || remote.IsUnspecified() || remote.IsMulticast() {
		return fail(fmt.Errorf("address %v: not a unicast address and port", ap))
	}
	local, ok := s.localAddrFor(remote)
	if !ok {
		return fail(fmt.Errorf("no local address of %v's family (stack has %v)", remote, s.cfg.Addrs))
	}
	select {
	case <-s.done:
		return fail(net.ErrClosed)
	default:
	}
	ep := s.newEndpoint(machine.Tuple{LocalAddr: local, RemoteAddr: remote, RemotePort: ap.Port()})
	ep.mu.Lock()
	if !s.demux.insertEphemeral(ep) {
		ep.mu.Unlock()
		return fail(fmt.Errorf("no free ephemeral port to %v", ap))
	}
	ep.initMachine(ep.tuple) // the tuple now has its port
	ep.queue = s.queueFor(ep.tuple)
	tx := s.getTx()
	now := s.now()
	err = ep.mc.Connect(now)
	ep.after(now, tx)
	ep.mu.Unlock()
	s.putTx(tx)
	if err != nil {
		ep.abort()
		return fail(mapErr(err))
	}
	for {
		ep.mu.Lock()
		st := ep.mc.State()
		connErr := ep.mc.Err()
		switch st {
		case machine.StateSynSent, machine.StateSynReceived:
			ep.wrWait = true
		}
		ep.mu.Unlock()
		switch st {
		case machine.StateSynSent, machine.StateSynReceived:
		case machine.StateClosed:
			if connErr == nil {
				connErr = errors.New("connection closed during the handshake")
			}
			return fail(mapErr(connErr))
		default:
			return newConn(ep), nil
		}
		select {
		case <-ep.wr:
		case <-ctx.Done():
			ep.abort()
			return fail(ctx.Err())
		case <-s.done:
			return fail(net.ErrClosed)
		}
	}
}
