package trace

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Options configure a Tracer.
type Options struct {
	// Filter, when set, keeps only the connections it accepts (given
	// both ends); the others are skipped without an observer.
	Filter func(a, b netip.AddrPort) bool
	// MaxConns bounds the connections observed at once (default 100,000):
	// at the bound the one idle longest is finished early. Memory is
	// bounded by it, never by the capture.
	MaxConns int
	// At names the hosts the capture was taken at (or any host whose
	// segments nothing reordered before the capture point): what they
	// send is seen in the order they sent it, so an ACK of theirs below
	// one they sent before is a deviation, not reordering.
	At []netip.Addr
	// Idle is how long (in capture time) a connection may go without a
	// segment before it is finished (default 10 minutes). A finished
	// connection whose ends are both closed is let go at once.
	Idle time.Duration
}

// Sink receives the verdicts as they are reached: one per segment in
// capture order, and one summary per connection when it ends.
type Sink interface {
	Segment(v *Verdict) error
	Conn(s *ConnSummary) error
}

// Summary is what a whole capture came to.
type Summary struct {
	Frames     int // frames read
	Segments   int // TCP segments judged
	Skipped    int // frames that were not TCP (ARP, UDP, ...), or filtered out
	Conns      int
	Deviations int
	Final      map[string]int // "CLOSED/TIME-WAIT" -> connections ending so
	Findings   map[string]int // finding kind -> count
	Offloaded  int            // segments with a checksum that does not verify (offload)
	// Malformed counts IP packets the codec refused (fragments, malformed
	// headers); MalformedFrames names the first of them ("frame N: why").
	Malformed       int
	MalformedFrames []string
	HalfOpenTo      map[netip.AddrPort]int
	Flood           []string // listeners with many half-open connections (a SYN-flood signature)
	Started         time.Time
	Ended           time.Time
}

// maxNamedMalformed bounds the refused packets the summary names.
const maxNamedMalformed = 10

// floodThreshold is how many half-open connections to one listener make a
// SYN-flood signature in the summary.
const floodThreshold = 100

// Tracer judges captures.
type Tracer struct {
	opts  Options
	sink  Sink
	conns map[connKey]*conn
	// recent lists the open connections, most recently active first:
	// eviction takes the tail, the idle sweep walks from it.
	recent, oldest *conn
	next           int
	dec            decoder
	seg            Segment
	sum            Summary
	sweep          int // segments until the next idle sweep
}

// New returns a Tracer that reports to sink.
func New(sink Sink, opts Options) *Tracer {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 100_000
	}
	if opts.Idle <= 0 {
		opts.Idle = 10 * time.Minute
	}
	return &Tracer{opts: opts, sink: sink, conns: make(map[connKey]*conn),
		sum: Summary{Final: map[string]int{}, Findings: map[string]int{}, HalfOpenTo: map[netip.AddrPort]int{}}}
}

// Run reads the capture to its end, reporting each verdict and each
// connection to the sink, and returns the summary. An error in the
// capture's format (a record cut short, a link header that does not fit)
// stops the run: the error names the frame; what was read before it is
// reported, and the connections still open are finished. An IP packet
// the codec refuses is counted in Summary.Malformed and skipped.
func (t *Tracer) Run(c *Capture) (*Summary, error) {
	var f Frame
	var runErr error
	for {
		err := c.Next(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			runErr = err
			break
		}
		t.sum.Frames = f.Number
		if err := t.Frame(&f); err != nil {
			runErr = err
			break
		}
	}
	if err := t.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return &t.sum, runErr
}

// Frame judges one frame.
func (t *Tracer) Frame(f *Frame) error {
	s := &t.seg
	if err := t.dec.decode(f, s); err != nil {
		if errors.Is(err, errNotTCP) {
			t.sum.Skipped++
			return nil
		}
		// A packet the codec refuses (an IP fragment, a malformed header,
		// an IPv4 length of 0 from a super-segment past 64 KiB) is not
		// judged, and does not stop the capture: it is counted, and the
		// first few are named.
		t.sum.Malformed++
		if len(t.sum.MalformedFrames) < maxNamedMalformed {
			t.sum.MalformedFrames = append(t.sum.MalformedFrames, err.Error())
		}
		return nil
	}
	if t.opts.Filter != nil && !t.opts.Filter(s.Src, s.Dst) {
		t.sum.Skipped++
		return nil
	}
	if t.sum.Started.IsZero() {
		t.sum.Started = s.Time
	}
	t.sum.Ended = s.Time
	t.sum.Segments++
	if s.BadChecksum {
		t.sum.Offloaded++
	}
	k := keyOf(s.Src, s.Dst)
	c := t.conns[k]
	dir := 0
	if c != nil {
		if s.Src != c.addr[0] {
			dir = 1
		}
		if c.newIncarnation(s, dir) {
			if err := t.finish(k, c, s.Time); err != nil {
				return err
			}
			c = nil
		}
	}
	if c == nil {
		if len(t.conns) >= t.opts.MaxConns {
			if err := t.evict(); err != nil {
				return err
			}
		}
		t.next++
		c = newConn(t.next, s)
		c.key = k
		for i, e := range c.addr {
			if slices.Contains(t.opts.At, e.Addr().Unmap()) {
				for j := range c.cands {
					c.cands[j].e[i].inOrder = true
				}
			}
		}
		t.conns[k] = c
		t.sum.Conns++
		dir = 0
	}
	t.touch(c)
	if err := c.step(s, dir, t.emit); err != nil {
		return err
	}
	if t.sweep--; t.sweep <= 0 {
		t.sweep = 4096
		return t.sweepIdle(s.Time)
	}
	return nil
}

// emit reports one verdict.
func (t *Tracer) emit(v *Verdict) error {
	if v.Deviation != nil {
		t.sum.Deviations++
	}
	if err := t.sink.Segment(v); err != nil {
		return fmt.Errorf("writing frame %d's verdict: %w", v.Seg.Frame, err)
	}
	return nil
}

// Close finishes every connection still open.
func (t *Tracer) Close() error {
	var err error
	for k, c := range t.conns {
		err = errors.Join(err, t.finish(k, c, t.sum.Ended))
	}
	for addr, n := range t.sum.HalfOpenTo {
		if n >= floodThreshold {
			t.sum.Flood = append(t.sum.Flood, fmt.Sprintf("%v: %d half-open connections (a SYN-flood signature)", addr, n))
		}
	}
	return err
}

// touch moves c to the front of the recent list (adding it if new).
func (t *Tracer) touch(c *conn) {
	if t.recent == c {
		return
	}
	t.unlink(c)
	c.next = t.recent
	if t.recent != nil {
		t.recent.prev = c
	}
	t.recent = c
	if t.oldest == nil {
		t.oldest = c
	}
}

func (t *Tracer) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if t.recent == c {
		t.recent = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if t.oldest == c {
		t.oldest = c.prev
	}
	c.prev, c.next = nil, nil
}

func (t *Tracer) finish(k connKey, c *conn, at time.Time) error {
	delete(t.conns, k)
	t.unlink(c)
	if err := c.flush(t.emit); err != nil {
		return err
	}
	sum := c.finish(at)
	fin := sum.Final()
	t.sum.Final[fin[0].String()+"/"+fin[1].String()]++
	for _, f := range sum.Findings {
		t.sum.Findings[f.Kind]++
		if f.Kind == "half-open" && fin[f.Side] == machine.StateSynReceived {
			// Bounded like the connections: a capture naming more
			// listeners than that counts the first ones only.
			if _, ok := t.sum.HalfOpenTo[c.addr[f.Side]]; ok || len(t.sum.HalfOpenTo) < t.opts.MaxConns {
				t.sum.HalfOpenTo[c.addr[f.Side]]++
			}
		}
	}
	if err := t.sink.Conn(sum); err != nil {
		return fmt.Errorf("writing connection %d's summary: %w", c.id, err)
	}
	return nil
}

// sweepIdle finishes connections idle past Options.Idle, and finished
// ones idle for a second (late retransmissions still find them), walking
// from the least recently active.
func (t *Tracer) sweepIdle(now time.Time) error {
	for c := t.oldest; c != nil; {
		idle := now.Sub(c.last)
		if idle <= time.Second {
			break
		}
		prev := c.prev
		if idle > t.opts.Idle || c.finished() {
			if err := t.finish(c.key, c, now); err != nil {
				return err
			}
		}
		c = prev
	}
	return nil
}

// evict finishes the connection idle longest.
func (t *Tracer) evict() error {
	if c := t.oldest; c != nil {
		return t.finish(c.key, c, c.last)
	}
	return nil
}
