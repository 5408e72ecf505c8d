package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// MermaidSink writes one Mermaid sequenceDiagram per connection, in the
// order connections end: an arrow per segment (x/y-relative numbers and
// the receiver's rule), a note where an end changes state, and the
// deviations. A diagram holds at most MermaidMax segments; the rest of a
// connection is counted in a closing note.
type MermaidSink struct {
	w    *bufio.Writer
	open map[int]*mermaidConn
}

// MermaidMax bounds the segments drawn per connection.
const MermaidMax = 500

type mermaidConn struct {
	b       strings.Builder
	n, more int
}

// NewMermaidSink writes to w; call Summary (or Flush) at the end.
func NewMermaidSink(w io.Writer) *MermaidSink {
	return &MermaidSink{w: bufio.NewWriterSize(w, 64<<10), open: map[int]*mermaidConn{}}
}

func (m *MermaidSink) Segment(v *Verdict) error {
	c := m.open[v.Conn]
	if c == nil {
		c = &mermaidConn{}
		m.open[v.Conn] = c
		fmt.Fprintf(&c.b, "sequenceDiagram\n    participant A as %s\n    participant B as %s\n", endAddr(v, 0), endAddr(v, 1))
		fmt.Fprintf(&c.b, "    Note over A: %s\n    Note over B: %s\n", v.Before[0], v.Before[1])
	}
	if c.n >= MermaidMax {
		c.more++
		return nil
	}
	c.n++
	from, to := "A", "B"
	if v.Dir == 1 {
		from, to = "B", "A"
	}
	label := strings.TrimRight(strings.TrimLeft(arrow(v), "<- "), "-> ")
	fmt.Fprintf(&c.b, "    %s->>%s: %s (%v)\n", from, to, label, v.RecvR)
	for i, name := range [2]string{"A", "B"} {
		if v.States[i] != v.Before[i] {
			fmt.Fprintf(&c.b, "    Note over %s: %s\n", name, v.States[i])
		}
	}
	if d := v.Deviation; d != nil {
		name := "A"
		if d.Side == 1 {
			name = "B"
		}
		fmt.Fprintf(&c.b, "    Note over %s: deviation: %s\n", name, mermaidText(d.Why))
	}
	return nil
}

// mermaidText keeps a note on one line, without the characters Mermaid
// reads as syntax.
func mermaidText(s string) string {
	return strings.NewReplacer(";", ",", "#", "", "\n", " ").Replace(s)
}

func (m *MermaidSink) Conn(s *ConnSummary) error {
	c := m.open[s.ID]
	delete(m.open, s.ID)
	if c == nil {
		return nil
	}
	if c.more > 0 {
		fmt.Fprintf(&c.b, "    Note over A,B: %d segments more not drawn\n", c.more)
	}
	fmt.Fprintf(m.w, "%%%% connection %d: %v <-> %v\n%s\n", s.ID, s.Ends[0], s.Ends[1], c.b.String())
	return nil
}

// Summary flushes.
func (m *MermaidSink) Summary(*Summary) error { return m.w.Flush() }
