package tunnet

import "github.com/tcpfsm/tcpfsm/tunnet/tundev"

// Device is a packet device: each packet is one IPv4 or IPv6 packet without
// any link-layer header. *tundev.Device (a TUN) and [*Pipe] implement it.
//
// ReadBatch and WriteBatch move up to BatchSize packets at once; packet i
// starts at bufs[i][offset:]. The stack reserves [Headroom] bytes in front of
// every packet (a TUN with virtio-net headers writes one there) and gives
// ReadBatch buffers of at least Headroom+MTU bytes. ReadBatch blocks until
// at least one packet is available, fills sizes[i] with the length of
// packet i and returns how many it read; once the device is closed it
// returns an error. WriteBatch may modify the buffers (a TUN coalesces
// segments of one flow into the first buffer when its capacity allows) and
// is safe for concurrent use.
type Device interface {
	ReadBatch(bufs [][]byte, sizes []int, offset int) (n int, err error)
	WriteBatch(bufs [][]byte, offset int) error
	BatchSize() int // the most packets one ReadBatch returns
	MTU() int       // the largest IP packet the device carries, in bytes
	Close() error   // stop the device: a blocked ReadBatch returns an error
}

// MultiQueueDevice is a Device with several queues, such as a TUN opened
// with [tundev.OpenQueues]. The stack reads each queue in its own goroutine,
// so the receive path runs on as many cores as there are queues, and writes
// a connection's packets to the queue its segments last arrived on (a
// multi-queue TUN steers a flow to the queue its packets were last written
// to, so one queue carries both directions of a flow and keeps its segments
// in order). Queue 0 is the one ReadBatch and WriteBatch use.
type MultiQueueDevice interface {
	Device
	Queues() int
	ReadQueue(q int, bufs [][]byte, sizes []int, offset int) (n int, err error)
	WriteQueue(q int, bufs [][]byte, offset int) error
}

// WholeReader is a Device that can hand over what the kernel sends whole:
// a TCP super-segment (TSO/GSO, up to 64 KiB of payload) as one packet,
// with whether its checksums still need checking. *tundev.Device with
// offloads is one (see tundev.Device.ReadWhole). The stack reads it so
// unless faults are injected: the super-segment reaches the machine as one
// segment, as Linux's GRO hands one to its TCP, so a 64 KiB burst costs
// one decode, one lookup and one step rather than 45, and no split or
// checksum pass.
type WholeReader interface {
	Offloads() bool
	ReadWhole(q int, b []byte, offset int, wait bool) (n int, verified bool, err error)
}

// WholeWriter is a Device that takes TCP packets whose checksum it
// completes and TSO super-segments it cuts up (see
// tundev.Device.WriteWhole). Unless faults are injected, the stack then
// leaves checksums to the kernel and joins a connection's consecutive
// full-sized segments of one batch into one packet of up to 64 KiB, as
// Linux's TSO hands its NIC: one write and one pass over the data where
// the wireguard package's coalescing took a second copy and checksum.
type WholeWriter interface {
	Offloads() bool
	WriteWhole(q int, pkt []byte, offset, gsoSize int) error
}

// Headroom is the offset the stack reserves in front of each packet it
// reads or writes.
const Headroom = tundev.Headroom

var (
	_ MultiQueueDevice = (*tundev.Device)(nil)
	_ WholeReader      = (*tundev.Device)(nil)
	_ WholeWriter      = (*tundev.Device)(nil)
)
