package tunnet

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
)

// Config configures a Stack.
type Config struct {
	// Device carries the packets (required). The stack closes it on Close.
	Device Device

	// Addrs are the addresses this stack owns: it answers packets sent to
	// them and drops the rest. At least one is required; Dial picks the
	// first of the destination's family as the local address.
	Addrs []netip.Addr

	// Machine configures every connection (buffers, MSL, RTO bounds,
	// timeouts, RFC 1337). Its MSS is derived from the device MTU (MTU-40
	// for IPv4, MTU-60 for IPv6) unless set lower; its Observer is ignored
	// (use Observer below); a zero ISNKey is replaced by a random one.
	// As in Go's net package, Nagle is off on every connection (NoDelay;
	// Conn.SetNoDelay(false) turns it on) and keepalive's zero Idle,
	// Interval and Count are 15 s, 15 s and 9.
	Machine machine.Config

	// Backlog bounds each listener's queue of connections not yet
	// accepted, counting those still in SYN-RECEIVED (default 128). What
	// a SYN finding it full gets depends on SYNCookies.
	Backlog int

	// SYNCookies says when listeners answer SYNs with SYN cookies (RFC
	// 4987 3.6), keeping no state: SYNCookiesOnOverflow (the default)
	// when the backlog is full, as Linux's tcp_syncookies=1;
	// SYNCookiesAlways for every SYN; SYNCookiesOff never (a SYN finding
	// the backlog full then evicts the oldest half-open connection).
	SYNCookies SYNCookieMode

	// Observer, if set, is called for every transition of every
	// connection, synchronously and with the connection's lock held: it
	// must be quick and must not call into the Stack.
	Observer func(Transition)

	// Faults, if active (see faults.Parse), injects loss, duplication,
	// reordering and delay between the device and the stack, in both
	// directions.
	Faults faults.Config

	// SplitSuperSegments makes the stack read and write a device with
	// offloads in MTU-sized packets with complete checksums, split and
	// coalesced by the wireguard package, rather than handling TSO
	// super-segments itself (see WholeReader and WholeWriter). Faults
	// imply it. For comparison and diagnosis.
	SplitSuperSegments bool

	// Pcap, if set, records every packet that crossed the device: inbound
	// packets as read (before input faults), outbound packets as written
	// (after output faults).
	Pcap PacketWriter

	// TTL is the IPv4 TTL / IPv6 hop limit of sent packets (64).
	TTL uint8

	// CloseWaitWarn, if positive, is how long a connection may stay in
	// CLOSE-WAIT (the peer closed, the application has not) before Warn
	// hears of it, once per stay: the classic leak of a server that reads
	// EOF and never closes.
	CloseWaitWarn time.Duration
	// Warn receives such warnings, from a goroutine of the stack's own.
	Warn func(Warning)

	// FaultDrop, if set, hears of every packet the fault injector drops,
	// in either direction, so that a trace can show it lost (an outbound
	// drop happens after the Observer saw the segment sent). It is called
	// synchronously: it must be quick and must not call into the Stack.
	FaultDrop func(FaultDrop)
}

// SYNCookieMode is when listeners use SYN cookies (Config.SYNCookies).
type SYNCookieMode uint8

// SYN cookie modes.
const (
	SYNCookiesOnOverflow SYNCookieMode = iota
	SYNCookiesAlways
	SYNCookiesOff
)

// FaultDrop is a TCP segment the fault injector dropped.
type FaultDrop struct {
	At      time.Duration // when, since the stack started
	Inbound bool          // from the device towards the stack (else sent by the stack)
	Tuple   machine.Tuple // local = this stack
	Seg     SegmentInfo
}

// Warning is something about a connection an operator should look at.
type Warning struct {
	Kind  string // "CLOSE-WAIT"
	Tuple machine.Tuple
	State machine.State
	Age   time.Duration // how long it has been in State
	Msg   string        // one line saying what it means
}

// PacketWriter records packets; *pcap.Writer implements it. Calls are
// serialized by the stack.
type PacketWriter interface {
	WritePacket(ts time.Time, pkt []byte) error
}

const (
	defaultBacklog = 128
	defaultTTL     = 64
)

func (c *Config) check() error {
	if c.Device == nil {
		return errors.New("tunnet: Config.Device is nil")
	}
	if len(c.Addrs) == 0 {
		return errors.New("tunnet: Config.Addrs is empty: the stack needs at least one address")
	}
	for i, a := range c.Addrs {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" || a.Is4In6() {
			return fmt.Errorf("tunnet: Config.Addrs[%d] = %v: need a unicast IPv4 or IPv6 address (no zone, not IPv4-mapped)", i, a)
		}
	}
	mtu := c.Device.MTU()
	if mtu < 576 || mtu > 65535 {
		return fmt.Errorf("tunnet: device MTU %d out of range [576, 65535]", mtu)
	}
	if c.Backlog < 0 {
		return fmt.Errorf("tunnet: Config.Backlog %d is negative", c.Backlog)
	}
	return nil
}
