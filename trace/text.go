package trace

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// TextSink tells the story of each connection the way the demo does: one
// line per segment with both ends' states, the segment with x/y-relative
// numbers (x is the first end's ISS, y the second's), and the rules that
// explain it on each side; then each connection's timeline and findings.
// Lines of different connections interleave in capture order, each marked
// with its connection's number.
type TextSink struct {
	w     *bufio.Writer
	start map[int]time.Time // each open connection's first segment
}

// NewTextSink writes to w; call Flush at the end.
func NewTextSink(w io.Writer) *TextSink {
	return &TextSink{w: bufio.NewWriterSize(w, 64<<10), start: map[int]time.Time{}}
}

// Column widths.
const (
	txtState = 28
	txtSeg   = 46
)

func (t *TextSink) Segment(v *Verdict) error {
	s := v.Seg
	start, ok := t.start[v.Conn]
	if !ok {
		start = s.Time
		t.start[v.Conn] = start
		fmt.Fprintf(t.w, "\n== connection %d: %v <-> %v    x = %v's ISS, y = %v's ISS\n", v.Conn, endAddr(v, 0), endAddr(v, 1), endAddr(v, 0), endAddr(v, 1))
		fmt.Fprintf(t.w, "%7s %4s %10s  %-*s %-*s %-*s %s\n", "frame", "conn", "ms", txtState, endAddr(v, 0), txtSeg, "segment", txtState, endAddr(v, 1), "rules: sender [hidden event] -> receiver")
	}
	ms := float64(s.Time.Sub(start).Microseconds()) / 1000
	fmt.Fprintf(t.w, "%7d %4d %10.3f  %-*s %-*s %-*s %s\n", s.Frame, v.Conn, ms,
		txtState, states(v.Before[0], v.States[0]), txtSeg, arrow(v), txtState, states(v.Before[1], v.States[1]), rules(v))
	if d := v.Deviation; d != nil {
		fmt.Fprintf(t.w, "%7s !! deviation by %v: %s", "", endAddr(v, d.Side), d.Why)
		if d.Expected != "" {
			fmt.Fprintf(t.w, "; the spec expected %s (%s)", d.Expected, d.RFC)
		}
		fmt.Fprintln(t.w)
	}
	return nil
}

// endAddr is end i's address: the sender's or the receiver's.
func endAddr(v *Verdict, i int) string {
	if i == v.Dir {
		return v.Seg.Src.String()
	}
	return v.Seg.Dst.String()
}

func states(from, to machine.State) string {
	if from == to {
		return from.String()
	}
	return from.String() + " -> " + to.String()
}

// arrow draws the segment between the columns, pointing at its receiver.
func arrow(v *Verdict) string {
	s := v.Seg
	var b strings.Builder
	b.WriteString(s.Flags.String())
	rel := func(name string, x, base uint32) {
		fmt.Fprintf(&b, " %s=", name)
		letter := "x"
		if base == v.ISS[1] && base != v.ISS[0] {
			letter = "y"
		}
		if d := x - base; d == 0 {
			b.WriteString(letter)
		} else {
			fmt.Fprintf(&b, "%s+%d", letter, d)
		}
	}
	if s.Flags&machine.RST != 0 && s.Seq == 0 {
		b.WriteString(" seq=0")
	} else {
		rel("seq", s.Seq, v.ISS[v.Dir])
	}
	if s.Flags&machine.ACK != 0 {
		rel("ack", s.Ack, v.ISS[1-v.Dir])
	}
	if s.Len > 0 {
		fmt.Fprintf(&b, " len=%d", s.Len)
	}
	label := b.String()
	if v.Dir == 0 {
		return "-- " + pad(label+" ", txtSeg-5, '-') + "->"
	}
	return "<-- " + pad(label+" ", txtSeg-4, '-')
}

func pad(s string, n int, c byte) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(string(c), n-len(s))
}

func rules(v *Verdict) string {
	var b strings.Builder
	b.WriteString(v.Send.String())
	if v.Hidden != HiddenNone {
		fmt.Fprintf(&b, " [%v]", v.Hidden)
	}
	fmt.Fprintf(&b, " -> %v", v.RecvR)
	if rfc := ruleRFC(v.RecvR); rfc != "" {
		fmt.Fprintf(&b, " (%s)", rfc)
	}
	if v.CC != cc.RuleNone {
		fmt.Fprintf(&b, "  cc:%v", v.CC)
	}
	// Checksum offload is said once, in the summary: on a capturing
	// host's own packets it marks nearly every line.
	if k := (v.Kind &^ KindOffload).Names(); len(k) > 0 {
		fmt.Fprintf(&b, "  {%s}", strings.Join(k, ","))
	}
	return b.String()
}

func (t *TextSink) Conn(s *ConnSummary) error {
	delete(t.start, s.ID)
	fmt.Fprintf(t.w, "-- connection %d: %v <-> %v, %d segments over %v, %d and %d bytes of text\n",
		s.ID, s.Ends[0], s.Ends[1], s.Segments, s.Last.Sub(s.First).Round(time.Microsecond), s.Bytes[0], s.Bytes[1])
	for i := range s.Path {
		fmt.Fprintf(t.w, "   %v: %s\n", s.Ends[i], timeline(s.Path[i], s.Last))
	}
	for _, f := range s.Findings {
		where := ""
		if f.Frame > 0 {
			where = fmt.Sprintf(" (frame %d)", f.Frame)
		}
		fmt.Fprintf(t.w, "   * %s: %s%s\n", f.Kind, f.Text, where)
	}
	if s.More > 0 {
		fmt.Fprintf(t.w, "   * and %d findings more\n", s.More)
	}
	return nil
}

// timeline prints states with how long each lasted.
func timeline(p []StateSpan, end time.Time) string {
	var b strings.Builder
	for i, sp := range p {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(sp.State.String())
		next := end
		if i+1 < len(p) {
			next = p[i+1].Since
		}
		if d := next.Sub(sp.Since); d > 0 {
			fmt.Fprintf(&b, " (%v)", d.Round(time.Microsecond))
		}
	}
	return b.String()
}

// Summary prints the capture's summary and flushes.
func (t *TextSink) Summary(s *Summary) error {
	fmt.Fprintf(t.w, "\n== %d frames, %d TCP segments in %d connections, %d deviations", s.Frames, s.Segments, s.Conns, s.Deviations)
	if s.Skipped > 0 {
		fmt.Fprintf(t.w, "; %d frames skipped (not TCP, or filtered)", s.Skipped)
	}
	fmt.Fprintln(t.w)
	for _, k := range slices.Sorted(maps.Keys(s.Final)) {
		fmt.Fprintf(t.w, "   final states %-28s %d\n", k, s.Final[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.Findings)) {
		fmt.Fprintf(t.w, "   findings %-32s %d\n", k, s.Findings[k])
	}
	if s.Offloaded > 0 {
		fmt.Fprintf(t.w, "   %d segments with checksums that do not verify: checksum offload on the capturing host, judged as sent\n", s.Offloaded)
	}
	if s.Malformed > 0 {
		fmt.Fprintf(t.w, "   %d IP packets not judged (fragments or malformed headers), e.g. %s\n", s.Malformed, strings.Join(s.MalformedFrames, "; "))
	}
	for _, f := range s.Flood {
		fmt.Fprintf(t.w, "   SYN flood? %s\n", f)
	}
	return t.w.Flush()
}

// Flush writes what is buffered.
func (t *TextSink) Flush() error { return t.w.Flush() }
