package trace

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frame is one record of a capture: its 1-based number in the file, when
// it was seen, and the IP packet it holds (the link header removed). IP
// aliases the reader's buffer until the next call to Next.
type Frame struct {
	Number   int
	Time     time.Time
	IP       []byte
	WireLen  int  // length of the IP packet on the wire
	Captured bool // the whole packet is in IP (false: cut by the snap length)
}

// Capture reads frames from a pcap or pcapng stream.
type Capture struct {
	next   func() ([]byte, gopacket.CaptureInfo, error)
	link   func(ci *gopacket.CaptureInfo) layers.LinkType
	ci     gopacket.CaptureInfo // the latest record's (here, not on the stack: link would make it escape)
	number int
}

// ErrNotCapture is returned by OpenCapture for input that is neither pcap
// nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// OpenCapture recognises pcap (either byte order, micro- or nanosecond
// timestamps) and pcapng by their magic numbers and returns a reader of
// their frames. It reads r as a stream.
func OpenCapture(r io.Reader) (*Capture, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("reading the file header: %w", ErrNotCapture)
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap header: %w", err)
		}
		lt := pr.LinkType()
		return &Capture{
			next: pr.ZeroCopyReadPacketData,
			link: func(*gopacket.CaptureInfo) layers.LinkType { return lt },
		}, nil
	case 0x0a0d0d0a:
		nr, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng header: %w", err)
		}
		return &Capture{
			next: nr.ZeroCopyReadPacketData,
			link: func(ci *gopacket.CaptureInfo) layers.LinkType {
				if len(ci.AncillaryData) > 0 {
					if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
						return lt
					}
				}
				return nr.LinkType()
			},
		}, nil
	}
	return nil, ErrNotCapture
}

// errSkip marks a frame that holds no IP packet (ARP, say): not an error.
var errSkip = errors.New("not IP")

// Next returns the next frame. At the end of the capture it returns
// io.EOF; a record cut short returns an error naming its frame number
// (io.ErrUnexpectedEOF inside). Frames that carry no IP packet are
// skipped, counted in Number.
func (c *Capture) Next(f *Frame) error {
	for {
		data, ci, err := c.next()
		c.ci = ci
		if err != nil {
			// A record cut short is io.ErrUnexpectedEOF, which is not io.EOF.
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return fmt.Errorf("frame %d: %w", c.number+1, err)
		}
		c.number++
		ip, hdr, err := stripLink(c.link(&c.ci), data)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", c.number, err)
		}
		*f = Frame{
			Number:   c.number,
			Time:     ci.Timestamp,
			IP:       ip,
			WireLen:  ci.Length - hdr,
			Captured: ci.CaptureLength >= ci.Length,
		}
		return nil
	}
}

// Link types not named in gopacket's layers, by their LINKTYPE_ numbers.
const (
	linkTypeLinuxSLL2 = 276
	linkTypeIPv4      = 228
	linkTypeIPv6      = 229
	linkTypeDLTRaw12  = 12 // DLT_RAW on most systems
	linkTypeDLTRaw14  = 14 // DLT_RAW on OpenBSD
)

// EtherTypes of IP.
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100
	etherQinQ  = 0x88a8
	etherQinQ2 = 0x9100
)

// stripLink removes the link-layer header of data for link type lt and
// returns the IP packet and the header's length.
func stripLink(lt layers.LinkType, data []byte) (ip []byte, hdr int, err error) {
	switch lt {
	case layers.LinkTypeRaw, linkTypeIPv4, linkTypeIPv6, linkTypeDLTRaw12, linkTypeDLTRaw14:
		return data, 0, nil
	case layers.LinkTypeNull, layers.LinkTypeLoop: // BSD loopback: 4-byte family
		if len(data) < 4 {
			return nil, 0, fmt.Errorf("loopback header: %d bytes, want 4", len(data))
		}
		return data[4:], 4, nil
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return nil, 0, fmt.Errorf("Ethernet header: %d bytes, want 14", len(data))
		}
		off, et := 14, binary.BigEndian.Uint16(data[12:])
		for et == etherVLAN || et == etherQinQ || et == etherQinQ2 {
			if len(data) < off+4 {
				return nil, 0, fmt.Errorf("VLAN tag cut short at byte %d", off)
			}
			et = binary.BigEndian.Uint16(data[off+2:])
			off += 4
		}
		return ipOf(et, data, off)
	case layers.LinkTypeLinuxSLL: // 16 bytes, protocol last
		if len(data) < 16 {
			return nil, 0, fmt.Errorf("Linux cooked (SLL) header: %d bytes, want 16", len(data))
		}
		return ipOf(binary.BigEndian.Uint16(data[14:]), data, 16)
	case linkTypeLinuxSLL2: // 20 bytes, protocol first
		if len(data) < 20 {
			return nil, 0, fmt.Errorf("Linux cooked (SLL2) header: %d bytes, want 20", len(data))
		}
		return ipOf(binary.BigEndian.Uint16(data[0:]), data, 20)
	}
	return nil, 0, fmt.Errorf("link type %d (%v) not supported: raw IP, Ethernet, Linux SLL and SLL2, BSD loopback are", int(lt), lt)
}

func ipOf(etherType uint16, data []byte, off int) ([]byte, int, error) {
	if etherType != etherIPv4 && etherType != etherIPv6 {
		return nil, 0, errSkip
	}
	return data[off:], off, nil
}
