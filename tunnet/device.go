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

// Headroom is the offset the stack reserves in front of each packet it
// reads or writes.
const Headroom = tundev.Headroom

var _ Device = (*tundev.Device)(nil)
