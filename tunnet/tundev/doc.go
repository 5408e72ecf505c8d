// Package tundev opens and configures a Linux TUN device for tunnet.
//
// It wraps golang.zx2c4.com/wireguard/tun, which gives batched reads and
// writes and, when the kernel accepts IFF_VNET_HDR (every kernel since 2.6),
// TCP segmentation offloads in both directions, and adds what that package
// leaves to its caller: addresses and link state, set over rtnetlink with
// golang.org/x/sys/unix (no `ip` binary needed).
//
// # Batches, offsets and the virtio-net header
//
// With offloads on (Offloads reports it; BatchSize is then 128, else 1):
//
//   - ReadBatch: one read(2) of the TUN may return a TSO super-segment of up
//     to 64 KiB. The wireguard package splits it into MTU-sized packets, fixes
//     their checksums, and places packet i at bufs[i][offset:offset+sizes[i]].
//     So pass BatchSize buffers, each at least offset+MTU long; with fewer,
//     ReadBatch fails with tun.ErrTooManySegments. offset may be 0.
//   - WriteBatch: packet i must start at bufs[i][offset:], and offset must be
//     at least the 10-byte virtio-net header (use Headroom): the package
//     writes the header into bufs[i][offset-10:offset]. It coalesces packets
//     of one TCP flow into a super-segment (GRO) in place, appending payloads
//     to the first buffer of the flow when that buffer's capacity allows
//     (cap >= offset+65535 lets it always do so); so WriteBatch modifies the
//     buffers it is given.
//
// ReadWhole reads a queue without the wireguard package: one packet per
// read(2) as the kernel wrote it, a TSO super-segment left whole (up to
// WholeBufSize bytes), with whether its checksums need checking (the
// virtio-net header's NEEDS_CSUM or DATA_VALID say the kernel made or
// verified the packet). tunnet reads so, and writes through WriteBatch.
//
// # Queues
//
// OpenQueues opens the device with IFF_MULTI_QUEUE and n queues, each its
// own file descriptor with its own offloads; ReadQueue, WriteQueue and
// ReadWhole take the queue. The kernel sends each flow to one queue: the
// one its packets were last written to, else one its hash picks.
//
// # Addresses
//
// AddAddr adds an IPv4 or IPv6 address with its prefix; the kernel adds the
// prefix route itself. IPv6 addresses are added with IFA_F_NODAD, so they are
// usable at once rather than "tentative" for a second or more of duplicate
// address detection (which is meaningless on a point-to-point TUN anyway).
//
// Creating a TUN device and configuring it need CAP_NET_ADMIN; do it inside a
// namespace from internal/netns.
package tundev
