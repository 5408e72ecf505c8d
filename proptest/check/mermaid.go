package check

import (
	"fmt"
	"strings"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// mermaid replays path and renders it as a Mermaid sequenceDiagram:
// participants A, Net and B; every segment an arrow labelled with its
// flags, seq and ack; every transition a note over its side; the
// violation a note at the end.
func (c *checker) mermaid(path []Move, cx *Counterexample) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n    participant A\n    participant Net\n    participant B\n")
	line := func(format string, args ...any) {
		b.WriteString("    ")
		b.WriteString(sanitize(fmt.Sprintf(format, args...)))
		b.WriteByte('\n')
	}
	onRec := func(r *simnet.Record) {
		for _, t := range r.Steps {
			if t.From != t.To {
				line("Note over %v: %v → %v [%v]", r.Side, t.From, t.To, t.Rule)
			} else {
				line("Note over %v: %v [%v]", r.Side, t.From, t.Rule)
			}
		}
		for i := range r.Out {
			line("%v->>Net: %s", r.Side, label(&r.Out[i]))
		}
	}
	w, err := newWorld(&c.o, onRec, true)
	if err != nil {
		line("Note over A,B: %v", err)
		return b.String()
	}
	for _, m := range path {
		describe(w, m, line)
		m.apply(w, &c.o)
		if w.Err() != nil {
			break
		}
	}
	where := "A,B"
	line("Note over %s: VIOLATION invariant %d: %s", where, cx.Invariant, cx.Message)
	return b.String()
}

// describe renders the part of move m that no record shows: the call or
// the network's action.
func describe(w *proptest.World, m Move, line func(string, ...any)) {
	switch m.Kind {
	case MoveConnect, MoveListen, MoveWrite, MoveRead, MoveClose:
		line("Note over %v: application: %s", m.Side, strings.TrimPrefix(m.String(), m.Side.String()+" "))
	case MoveDeliver, MoveDrop, MoveDuplicate:
		seg := &w.Net().Link(m.Side)[m.Index].Seg
		switch m.Kind {
		case MoveDeliver:
			line("Net->>%v: %s", m.Side.Peer(), label(seg))
		case MoveDrop:
			line("Note over Net: lost %s (%v to %v)", label(seg), m.Side, m.Side.Peer())
		case MoveDuplicate:
			line("Note over Net: duplicated %s (%v to %v)", label(seg), m.Side, m.Side.Peer())
		}
	case MoveTimer:
		line("Note over %v: timer fires", m.Side)
	}
}

// label is an arrow's text: flags, seq and ack always, then the window
// and the payload length.
func label(s *machine.Segment) string {
	l := fmt.Sprintf("%v seq=%d ack=%d win=%d", s.Flags, s.Seq, s.Ack, s.Window)
	if len(s.Payload) > 0 {
		l += fmt.Sprintf(" len=%d", len(s.Payload))
	}
	return l
}

// sanitize keeps a line within what Mermaid parses: one line, and no ';'
// or '#' (entity syntax).
func sanitize(s string) string {
	return strings.NewReplacer("\n", " ", ";", ",", "#", "no. ").Replace(s)
}
