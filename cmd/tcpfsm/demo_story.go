package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
)

// The story of a connection is a ladder diagram on its side: one line per
// segment, the kernel on the left, tcpfsm on the right, the segment between
// them with an arrow for its direction, and the spec rule that moved tcpfsm.

// Column widths.
const (
	colTime   = 8
	colKernel = 26
	colSeg    = 44
	colStack  = 28
)

// storyEvent is a transition of tcpfsm's machine, or a segment the fault
// injector dropped (drop set).
type storyEvent struct {
	tr   tunnet.Transition
	drop *tunnet.FaultDrop
	// lost marks the segments of tr.Sent that the injector dropped on
	// their way to the kernel: the kernel never saw them.
	lost []bool
}

func (e *storyEvent) tuple() machine.Tuple {
	if e.drop != nil {
		return e.drop.Tuple
	}
	return e.tr.Tuple
}

// printStory prints the events of one exchange, one connection after
// another.
func printStory(w io.Writer, evs []storyEvent, msl time.Duration) {
	var order []machine.Tuple
	byConn := map[machine.Tuple][]storyEvent{}
	for _, e := range evs {
		t := e.tuple()
		if _, ok := byConn[t]; !ok {
			order = append(order, t)
		}
		byConn[t] = append(byConn[t], e)
	}
	for _, t := range order {
		if evs := markLost(byConn[t]); len(evs) > 0 {
			printConn(w, t, evs, msl)
		}
	}
}

// markLost matches each outbound drop with the segment it was, the latest
// sent before it with the same header, marks that segment lost and removes
// the drop; inbound drops stay as events of their own.
func markLost(evs []storyEvent) []storyEvent {
	out := evs[:0]
	for _, e := range evs {
		if e.drop == nil || e.drop.Inbound {
			out = append(out, e)
			continue
		}
	match:
		for i := len(out) - 1; i >= 0; i-- {
			o := &out[i]
			if o.drop != nil {
				continue
			}
			for j, seg := range o.tr.Sent {
				if seg == e.drop.Seg && (o.lost == nil || !o.lost[j]) {
					if o.lost == nil {
						o.lost = make([]bool, len(o.tr.Sent))
					}
					o.lost[j] = true
					break match
				}
			}
		}
	}
	return out
}

// story is the state of one connection's telling.
type story struct {
	w      io.Writer
	x, y   uint32 // the kernel's and tcpfsm's ISNs
	hasX   bool
	hasY   bool
	kernel kernelSide
	start  time.Duration
	// for the summary
	firstFIN     string // "kernel" or "tcpfsm"
	twEnter      time.Duration
	twLeft       time.Duration
	inTW, leftTW bool
	stackStates  []machine.State
	kernelStates []machine.State
	refused      bool
}

func printConn(w io.Writer, t machine.Tuple, evs []storyEvent, msl time.Duration) {
	start := evs[0].tr.At
	if evs[0].drop != nil {
		start = evs[0].drop.At
	}
	s := &story{w: w, kernel: kernelSide{st: machine.StateClosed}, start: start}
	s.kernelStates = []machine.State{machine.StateClosed}
	for _, e := range evs {
		tr := &e.tr
		if e.drop != nil {
			tr = &tunnet.Transition{Recv: e.drop.Seg, HasRecv: true}
		}
		if tr.HasRecv && tr.Recv.Flags&machine.SYN != 0 && tr.Recv.Flags&machine.ACK == 0 && !s.hasX {
			s.x, s.hasX = tr.Recv.Seq, true
		}
		for _, seg := range tr.Sent {
			if seg.Flags&machine.SYN != 0 && !s.hasY {
				s.y, s.hasY = seg.Seq, true
			}
		}
	}
	fmt.Fprintf(w, "\n   kernel %v:%d  <->  tcpfsm %v:%d", t.RemoteAddr, t.RemotePort, t.LocalAddr, t.LocalPort)
	if s.hasX {
		fmt.Fprintf(w, "    x = kernel ISN = %d", s.x)
	}
	if s.hasY {
		fmt.Fprintf(w, ", y = tcpfsm ISN = %d", s.y)
	}
	fmt.Fprintln(w)
	s.row("ms", "kernel (inferred)", "segment", "tcpfsm", "rule (RFC 9293 section)")
	for _, e := range evs {
		if e.drop != nil {
			s.inboundLost(*e.drop)
			continue
		}
		s.transition(e.tr, e.lost)
	}
	s.summary(msl)
}

// inboundLost shows a segment the kernel sent that the fault injector
// dropped before tcpfsm: the kernel's state moves (it sent it), tcpfsm's
// does not.
func (s *story) inboundLost(d tunnet.FaultDrop) {
	at := fmt.Sprintf("%.3f", float64((d.At-s.start).Microseconds())/1000)
	from := s.kernel.st
	s.kernel.sends(d.Seg)
	s.noteKernel(d.Seg, true)
	s.row(at, s.kernelCol(from), s.arrowLost(d.Seg, true), "", "lost (-faults): tcpfsm never saw it")
}

func (s *story) row(at, kernel, seg, stack, rule string) {
	line := fmt.Sprintf("   %*s  %-*s %-*s %-*s %s", colTime, at, colKernel, kernel, colSeg, seg, colStack, stack, rule)
	fmt.Fprintln(s.w, strings.TrimRight(line, " "))
}

func (s *story) transition(tr tunnet.Transition, lost []bool) {
	if tr.Event.Kind() == machine.KindUser && len(tr.Sent) == 0 && tr.From == tr.To {
		return // a RECEIVE or SEND that changed nothing visible
	}
	at := fmt.Sprintf("%.3f", float64((tr.At-s.start).Microseconds())/1000)
	stack := states(tr.From, tr.To)
	rule := fmt.Sprintf("%s (%s)", tr.Rule, tr.Rule.Info().RFC)
	if tr.Scratch {
		stack += " (no conn.)"
	}
	s.noteStack(tr)
	shown := false
	if tr.HasRecv {
		from := s.kernel.st
		s.kernel.sends(tr.Recv)
		s.noteKernel(tr.Recv, true)
		s.row(at, s.kernelCol(from), s.arrow(tr.Recv, true), stack, rule)
		shown = true
	}
	for i, seg := range tr.Sent {
		from := s.kernel.st
		arrow := s.arrow(seg, false)
		if i < len(lost) && lost[i] {
			arrow = s.arrowLost(seg, false) // the kernel never saw it: its state stays
		} else {
			s.kernel.receives(seg)
			s.noteKernel(seg, false)
		}
		if shown {
			s.row(at, s.kernelCol(from), arrow, "", "")
			continue
		}
		s.row(at, s.kernelCol(from), arrow, stack, rule)
		shown = true
	}
	if !shown {
		note := ""
		if tr.Event == machine.EventTimeout2msl && s.inTW {
			note = fmt.Sprintf(" after %v in TIME-WAIT", (tr.At - s.twEnter).Round(time.Millisecond))
		}
		s.row(at, "", "", stack, rule+note)
	}
}

// kernelCol is the kernel's column: its transition from from, inferred.
func (s *story) kernelCol(from machine.State) string {
	return states(from, s.kernel.st)
}

func states(from, to machine.State) string {
	if from == to {
		return from.String()
	}
	return from.String() + " -> " + to.String()
}

// arrow draws a segment between the columns: --- x --> from the kernel,
// <-- x --- from tcpfsm.
func (s *story) arrow(seg tunnet.SegmentInfo, fromKernel bool) string {
	label := s.label(seg, fromKernel)
	if fromKernel {
		return pad("-- "+label+" ", colSeg-1, '-') + ">"
	}
	return "<" + pad("-- "+label+" ", colSeg-1, '-')
}

// arrowLost draws a segment the fault injector dropped: it stops short of
// the receiver (x) and says LOST.
func (s *story) arrowLost(seg tunnet.SegmentInfo, fromKernel bool) string {
	label := s.label(seg, fromKernel) + " LOST"
	if fromKernel {
		return pad("-- "+label+" ", colSeg-3, '-') + "  x"
	}
	return "x  " + pad("-- "+label+" ", colSeg-3, '-')
}

// label is a segment's flags, relative seq/ack and length.
func (s *story) label(seg tunnet.SegmentInfo, fromKernel bool) string {
	var b strings.Builder
	b.WriteString(seg.Flags.String())
	if fromKernel {
		fmt.Fprintf(&b, " seq=%s", s.rel(seg.Seq, 'x'))
		if seg.Flags&machine.ACK != 0 {
			fmt.Fprintf(&b, " ack=%s", s.rel(seg.Ack, 'y'))
		}
	} else {
		fmt.Fprintf(&b, " seq=%s", s.rel(seg.Seq, 'y'))
		if seg.Flags&machine.ACK != 0 {
			fmt.Fprintf(&b, " ack=%s", s.rel(seg.Ack, 'x'))
		}
	}
	if seg.Len > 0 {
		fmt.Fprintf(&b, " len=%d", seg.Len)
	}
	return b.String()
}

func pad(s string, n int, c byte) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(string(c), n-len(s))
}

// rel writes v relative to the ISN named base ('x' or 'y'): x, x+1,
// x+79; a value far from it (the zero SEQ of a reset) stays absolute.
func (s *story) rel(v uint32, base byte) string {
	isn, ok := s.x, s.hasX
	if base == 'y' {
		isn, ok = s.y, s.hasY
	}
	d := v - isn
	switch {
	case !ok || d > 1<<30:
		return fmt.Sprint(v)
	case d == 0:
		return string(base)
	}
	return fmt.Sprintf("%c+%d", base, d)
}

func (s *story) noteStack(tr tunnet.Transition) {
	if tr.To == machine.StateTimeWait && tr.From != machine.StateTimeWait {
		s.inTW, s.twEnter = true, tr.At
	}
	if tr.From == machine.StateTimeWait && tr.To == machine.StateClosed {
		s.leftTW, s.twLeft = true, tr.At
	}
	if len(s.stackStates) == 0 {
		s.stackStates = append(s.stackStates, tr.From)
	}
	if tr.To != s.stackStates[len(s.stackStates)-1] {
		s.stackStates = append(s.stackStates, tr.To)
	}
}

func (s *story) noteKernel(seg tunnet.SegmentInfo, fromKernel bool) {
	if seg.Flags&machine.FIN != 0 && s.firstFIN == "" {
		s.firstFIN = "tcpfsm"
		if fromKernel {
			s.firstFIN = "kernel"
		}
	}
	if !fromKernel && seg.Flags&machine.RST != 0 && s.kernelStates[len(s.kernelStates)-1] == machine.StateSynSent {
		s.refused = true
	}
	if st := s.kernel.st; st != s.kernelStates[len(s.kernelStates)-1] {
		s.kernelStates = append(s.kernelStates, st)
	}
}

func (s *story) summary(msl time.Duration) {
	path := func(sts []machine.State) string {
		parts := make([]string, len(sts))
		for i, st := range sts {
			parts[i] = st.String()
		}
		return strings.Join(parts, " -> ")
	}
	fmt.Fprintf(s.w, "   tcpfsm: %s\n", path(s.stackStates))
	fmt.Fprintf(s.w, "   kernel: %s (inferred)\n", path(s.kernelStates))
	switch {
	case s.refused:
		fmt.Fprintln(s.w, "   Nothing listens there: the segment met the spec's CLOSED row, whose RST the kernel reports as \"connection refused\".")
	case s.firstFIN == "tcpfsm":
		fmt.Fprint(s.w, "   tcpfsm closed first (the active closer), so tcpfsm waited in TIME-WAIT")
		if s.inTW && s.leftTW {
			fmt.Fprintf(s.w, " for %v (2*MSL = %v)", (s.twLeft - s.twEnter).Round(time.Millisecond), 2*msl)
		}
		fmt.Fprintln(s.w, ";")
		fmt.Fprintln(s.w, "   the kernel, the passive closer, went CLOSE-WAIT -> LAST-ACK -> CLOSED without one.")
	case s.firstFIN == "kernel":
		fmt.Fprintln(s.w, "   The kernel closed first (the active closer), so the kernel sits in TIME-WAIT (Linux: 60 s; here it dies")
		fmt.Fprintln(s.w, "   with the namespace); tcpfsm, the passive closer, went CLOSE-WAIT -> LAST-ACK -> CLOSED without one.")
	}
}

// kernelSide infers the kernel's state from the segments it sends and
// receives, as a textbook reader of a trace would (RFC 9293 figure 5).
type kernelSide struct {
	st      machine.State
	finSent bool
	finSeq  uint32 // sequence number of the kernel's FIN
	// What the kernel has received from tcpfsm in order (its RCV.NXT),
	// once tcpfsm's SYN is in, and what it holds out of order: a FIN
	// counts only once everything before it has arrived.
	rcv    uint32
	hasRcv bool
	held   []tunnet.SegmentInfo
}

// takeFin records a segment tcpfsm sent as received and reports whether a
// FIN became in order with it (its own or one held before).
func (k *kernelSide) takeFin(s tunnet.SegmentInfo) bool {
	if !k.hasRcv {
		return s.Flags&machine.FIN != 0
	}
	if s.Len > 0 || s.Flags&machine.FIN != 0 {
		k.held = append(k.held, s)
	}
	fin := false
	for progress := true; progress; {
		progress = false
		kept := k.held[:0]
		for _, h := range k.held {
			end := h.Seq + uint32(h.Len)
			if h.Flags&machine.FIN != 0 {
				end++
			}
			switch {
			case machine.SeqLEQ(end, k.rcv): // old: nothing new
			case machine.SeqLEQ(h.Seq, k.rcv):
				k.rcv, progress = end, true
				fin = fin || h.Flags&machine.FIN != 0
			default:
				kept = append(kept, h)
			}
		}
		k.held = kept
	}
	return fin
}

// sends updates the state for a segment the kernel sent.
func (k *kernelSide) sends(s tunnet.SegmentInfo) {
	switch {
	case s.Flags&machine.RST != 0:
		k.st = machine.StateClosed
	case s.Flags&machine.SYN != 0 && s.Flags&machine.ACK == 0:
		if k.st == machine.StateClosed {
			k.st = machine.StateSynSent
		}
	case s.Flags&machine.FIN != 0:
		if !k.finSent {
			k.finSent, k.finSeq = true, s.Seq+uint32(s.Len)
		}
		switch k.st {
		case machine.StateEstablished, machine.StateSynReceived:
			k.st = machine.StateFinWait1
		case machine.StateCloseWait:
			k.st = machine.StateLastAck
		}
	}
}

// receives updates the state for a segment tcpfsm sent.
func (k *kernelSide) receives(s tunnet.SegmentInfo) {
	if s.Flags&machine.RST != 0 {
		k.st = machine.StateClosed
		return
	}
	if s.Flags&machine.SYN != 0 {
		if s.Flags&machine.ACK != 0 && k.st == machine.StateSynSent {
			k.st = machine.StateEstablished
		}
		k.rcv, k.hasRcv = s.Seq+1, true
		return
	}
	ackOfFIN := k.finSent && s.Flags&machine.ACK != 0 && s.Ack == k.finSeq+1
	fin := k.takeFin(s)
	switch k.st {
	case machine.StateEstablished:
		if fin {
			k.st = machine.StateCloseWait
		}
	case machine.StateFinWait1:
		switch {
		case ackOfFIN && fin:
			k.st = machine.StateTimeWait
		case ackOfFIN:
			k.st = machine.StateFinWait2
		case fin:
			k.st = machine.StateClosing
		}
	case machine.StateFinWait2:
		if fin {
			k.st = machine.StateTimeWait
		}
	case machine.StateClosing:
		if ackOfFIN {
			k.st = machine.StateTimeWait
		}
	case machine.StateLastAck:
		if ackOfFIN {
			k.st = machine.StateClosed
		}
	}
}
