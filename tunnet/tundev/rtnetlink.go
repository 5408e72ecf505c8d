package tundev

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// rtnlAlign rounds n up to the 4-byte netlink alignment.
func rtnlAlign(n int) int { return (n + 3) &^ 3 }

// rtnlMsg builds one rtnetlink request: header, fixed body, attributes.
type rtnlMsg struct{ b []byte }

func newRtnlMsg(typ, flags uint16) *rtnlMsg {
	m := &rtnlMsg{b: make([]byte, unix.SizeofNlMsghdr, 128)}
	binary.NativeEndian.PutUint16(m.b[4:], typ)
	binary.NativeEndian.PutUint16(m.b[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(m.b[8:], 1) // sequence number
	return m
}

func (m *rtnlMsg) put(p []byte) {
	m.b = append(m.b, p...)
	for len(m.b) < rtnlAlign(len(m.b)) {
		m.b = append(m.b, 0)
	}
}

func (m *rtnlMsg) attr(typ uint16, data []byte) {
	var h [unix.SizeofRtAttr]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.put(append(h[:], data...))
}

func (m *rtnlMsg) bytes() []byte {
	binary.NativeEndian.PutUint32(m.b[0:], uint32(len(m.b)))
	return m.b
}

// rtnlDo sends one request on a fresh NETLINK_ROUTE socket and waits for the
// kernel's acknowledgement, returning the errno it carries.
func rtnlDo(m *rtnlMsg) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	if err := unix.Sendto(fd, m.bytes(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink parse reply: %w", err)
		}
		for _, msg := range msgs {
			if msg.Header.Seq != 1 || msg.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(msg.Data) < 4 {
				return fmt.Errorf("netlink: short NLMSG_ERROR (%d bytes)", len(msg.Data))
			}
			if errno := -int32(binary.NativeEndian.Uint32(msg.Data)); errno != 0 {
				return syscall.Errno(errno)
			}
			return nil
		}
	}
}

// linkUp sets IFF_UP on interface index.
func linkUp(index int) error { return setLink(index, true) }

// setLink sets interface index up or down, like `ip link set NAME up|down`.
func setLink(index int, up bool) error {
	m := newRtnlMsg(unix.RTM_NEWLINK, 0)
	var ifi [unix.SizeofIfInfomsg]byte
	ifi[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(ifi[4:], uint32(index))
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	binary.NativeEndian.PutUint32(ifi[8:], flags)        // flags
	binary.NativeEndian.PutUint32(ifi[12:], unix.IFF_UP) // change mask
	m.put(ifi[:])
	return rtnlDo(m)
}

// addAddr adds prefix's address and prefix length to interface index,
// like `ip addr add PREFIX dev NAME nodad`.
func addAddr(index int, prefix netip.Prefix) error {
	addr := prefix.Addr()
	family := byte(unix.AF_INET)
	flags := uint32(0)
	if addr.Is6() {
		family = unix.AF_INET6
		flags = unix.IFA_F_NODAD
	}
	m := newRtnlMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	var ifa [unix.SizeofIfAddrmsg]byte
	ifa[0] = family
	ifa[1] = byte(prefix.Bits())
	ifa[2] = byte(flags) // IFA_F_NODAD fits the legacy 8-bit field
	ifa[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(ifa[4:], uint32(index))
	m.put(ifa[:])
	raw := addr.AsSlice()
	m.attr(unix.IFA_LOCAL, raw)
	m.attr(unix.IFA_ADDRESS, raw)
	if flags != 0 {
		var f [4]byte
		binary.NativeEndian.PutUint32(f[:], flags)
		m.attr(unix.IFA_FLAGS, f[:])
	}
	return rtnlDo(m)
}
