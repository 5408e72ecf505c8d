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

// printStory prints the transitions of one exchange, one connection after
// another.
func printStory(w io.Writer, trs []tunnet.Transition, msl time.Duration) {
	var order []machine.Tuple
	byConn := map[machine.Tuple][]tunnet.Transition{}
	for _, tr := range trs {
		if _, ok := byConn[tr.Tuple]; !ok {
			order = append(order, tr.Tuple)
		}
		byConn[tr.Tuple] = append(byConn[tr.Tuple], tr)
	}
	for _, t := range order {
		printConn(w, t, byConn[t], msl)
	}
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

func printConn(w io.Writer, t machine.Tuple, trs []tunnet.Transition, msl time.Duration) {
	s := &story{w: w, kernel: kernelSide{st: machine.StateClosed}, start: trs[0].At}
	s.kernelStates = []machine.State{machine.StateClosed}
	for _, tr := range trs {
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
	for _, tr := range trs {
		s.transition(tr)
	}
	s.summary(msl)
}

func (s *story) row(at, kernel, seg, stack, rule string) {
	line := fmt.Sprintf("   %*s  %-*s %-*s %-*s %s", colTime, at, colKernel, kernel, colSeg, seg, colStack, stack, rule)
	fmt.Fprintln(s.w, strings.TrimRight(line, " "))
}

func (s *story) transition(tr tunnet.Transition) {
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
	for _, seg := range tr.Sent {
		from := s.kernel.st
		s.kernel.receives(seg)
		s.noteKernel(seg, false)
		if shown {
			s.row(at, s.kernelCol(from), s.arrow(seg, false), "", "")
			continue
		}
		s.row(at, s.kernelCol(from), s.arrow(seg, false), stack, rule)
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
	label := b.String()
	if fromKernel {
		return pad("-- "+label+" ", colSeg-1, '-') + ">"
	}
	return "<" + pad("-- "+label+" ", colSeg-1, '-')
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
	if s.Flags&machine.SYN != 0 && s.Flags&machine.ACK != 0 && k.st == machine.StateSynSent {
		k.st = machine.StateEstablished
		return
	}
	ackOfFIN := k.finSent && s.Flags&machine.ACK != 0 && s.Ack == k.finSeq+1
	fin := s.Flags&machine.FIN != 0
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
