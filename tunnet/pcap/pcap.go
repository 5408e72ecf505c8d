package pcap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	// LinkTypeRaw is LINKTYPE_RAW: packets begin with an IPv4 or IPv6 header.
	LinkTypeRaw = 101
	// DefaultSnaplen is used when NewWriter is given a snaplen <= 0.
	DefaultSnaplen = 262144
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("pcap: writer closed")

// Writer appends packets to a pcap stream. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	pw      *pcapgo.Writer // formats the file header and the records
	file    *os.File       // set by Create: closed by Close
	snaplen int
	closed  bool
}

// NewWriter writes a pcap file header to w and returns a Writer for its
// records. Packets longer than snaplen are truncated in the file (their
// original length is kept in the record); snaplen <= 0 means DefaultSnaplen.
// Output is buffered: call Flush or Close.
func NewWriter(w io.Writer, snaplen int) (*Writer, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	if snaplen > DefaultSnaplen {
		return nil, fmt.Errorf("pcap: snaplen %d above %d", snaplen, DefaultSnaplen)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := &Writer{bw: bw, pw: pcapgo.NewWriterNanos(bw), snaplen: snaplen}
	if err := pw.pw.WriteFileHeader(uint32(snaplen), layers.LinkTypeRaw); err != nil {
		return nil, fmt.Errorf("pcap: writing file header: %w", err)
	}
	return pw, nil
}

// Create creates (or truncates) the file at path and returns a Writer to it;
// Close closes the file.
func Create(path string, snaplen int) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	w, err := NewWriter(f, snaplen)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pcap: %s: %w", path, err)
	}
	w.file = f
	return w, nil
}

// WritePacket appends one packet, seen at ts.
func (w *Writer) WritePacket(ts time.Time, pkt []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(ts, pkt)
}

// WriteBatch appends packets bufs[i][offset:offset+sizes[i]] for i < n, all
// seen at ts, under one lock: the shape of a tundev read batch. A nil sizes
// means each whole bufs[i][offset:].
func (w *Writer) WriteBatch(ts time.Time, bufs [][]byte, sizes []int, offset int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, b := range bufs {
		if offset > len(b) {
			return fmt.Errorf("pcap: batch packet %d: offset %d beyond its %d bytes", i, offset, len(b))
		}
		b = b[offset:]
		if sizes != nil {
			if i >= len(sizes) || sizes[i] < 0 || sizes[i] > len(b) {
				return fmt.Errorf("pcap: batch packet %d: bad size", i)
			}
			b = b[:sizes[i]]
		}
		if err := w.write(ts, b); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) write(ts time.Time, pkt []byte) error {
	if w.closed {
		return ErrClosed
	}
	captured := min(len(pkt), w.snaplen)
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: captured, Length: len(pkt)}
	if err := w.pw.WritePacket(ci, pkt[:captured]); err != nil {
		return fmt.Errorf("pcap: writing %d-byte packet: %w", captured, err)
	}
	return nil
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("pcap: flush: %w", err)
	}
	return nil
}

// Close flushes, closes the file if the Writer came from Create, and makes
// later writes fail with ErrClosed. A writer given to NewWriter is not closed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.bw.Flush()
	if err != nil {
		err = fmt.Errorf("pcap: flush: %w", err)
	}
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pcap: %w", cerr)
		}
	}
	return err
}
