package trace

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// ConnSummary is a connection's timeline and findings, reported when it
// ends (both ends closed, idle past Options.Idle, or the capture's end).
type ConnSummary struct {
	ID          int
	Ends        [2]netip.AddrPort
	First, Last time.Time
	Opened      bool // the capture saw the handshake
	Segments    int
	Bytes       [2]int64       // new text sent by each end
	Path        [2][]StateSpan // each end's states, with when it entered them
	Retransmits [2]int         // segments each end sent again
	Fast        [2]int         // of which after duplicate ACKs or SACK
	Deviations  int
	Requests    int // exchanges: the opener's new text after the other's (HTTP keep-alive and the like)
	Findings    []Finding
	More        int // findings beyond maxFindings, counted only
}

// StateSpan is an end's state from Since.
type StateSpan struct {
	State machine.State
	Since time.Time
}

// Finding is something people look for in a capture.
type Finding struct {
	Kind  string `json:"kind"`  // close-wait, time-wait, half-open, rst, challenge-ack, zero-window, keep-alive, retransmissions, deviation
	Side  int    `json:"side"`  // the end it is about
	Frame int    `json:"frame"` // where it shows (0: the connection as a whole)
	Text  string `json:"text"`
}

// Limits on what one connection keeps, whatever its length.
const (
	maxFindings = 32
	maxPath     = 64
)

func (c *conn) find(kind string, side, frame int, format string, args ...any) {
	if len(c.sum.Findings) >= maxFindings {
		c.sum.More++
		return
	}
	c.sum.Findings = append(c.sum.Findings, Finding{Kind: kind, Side: side, Frame: frame, Text: fmt.Sprintf(format, args...)})
}

// account adds verdict v to the connection's summary.
func (c *conn) account(v *Verdict) {
	s, d := v.Seg, v.Dir
	sum := &c.sum
	sum.Segments++
	sum.Last = s.Time
	for i, st := range v.States {
		if len(sum.Path[i]) == 0 {
			sum.Path[i] = []StateSpan{{State: v.Before[i], Since: s.Time}}
		}
		p := sum.Path[i]
		if p[len(p)-1].State != st && len(p) < maxPath {
			sum.Path[i] = append(p, StateSpan{State: st, Since: s.Time})
		}
	}
	if v.Kind&KindRetransmit != 0 {
		sum.Retransmits[d]++
		if v.Kind&KindFastRetransmit != 0 {
			sum.Fast[d]++
		}
	} else if s.Len > 0 {
		sum.Bytes[d] += int64(s.Len)
		if c.lastText != d {
			if d == 0 {
				sum.Requests++
			}
			c.lastText = d
		}
	}
	if s.Flags&machine.RST != 0 {
		c.find("rst", d, s.Frame, "%v sent RST (%s)", c.addr[d], ruleText(v.Send))
	}
	if v.Kind&KindChallengeAck != 0 {
		c.find("challenge-ack", d, s.Frame, "%v sent a challenge ACK (%s)", c.addr[d], ruleText(v.Send))
	}
	switch {
	case v.Kind&KindZeroWindow != 0 && c.zeroSince[d].IsZero():
		c.zeroSince[d] = s.Time
	case v.Kind&KindZeroWindow == 0 && s.Flags&machine.ACK != 0 && !c.zeroSince[d].IsZero():
		c.find("zero-window", d, s.Frame, "%v advertised a zero window for %v", c.addr[d], s.Time.Sub(c.zeroSince[d]).Round(time.Microsecond))
		c.zeroSince[d] = time.Time{}
	}
	if v.Deviation != nil {
		sum.Deviations++
		c.find("deviation", v.Deviation.Side, s.Frame, "%s", v.Deviation.Why)
	}
}

// finish completes the summary at time end (the capture's last frame, or
// the moment the connection was let go).
func (c *conn) finish(end time.Time) *ConnSummary {
	sum := &c.sum
	p := &c.cands[0].e
	for i := range p {
		e := &p[i]
		switch e.state {
		case machine.StateCloseWait:
			c.find("close-wait", i, 0, "%v sat in CLOSE-WAIT for %v to the end of the capture: the peer closed, its application never did", e.addr, end.Sub(e.since).Round(time.Millisecond))
		case machine.StateTimeWait:
			c.find("time-wait", i, 0, "%v holds TIME-WAIT (it closed first), from %v after the first segment", e.addr, e.since.Sub(c.first).Round(time.Microsecond))
		case machine.StateSynReceived, machine.StateSynSent:
			c.find("half-open", i, 0, "%v was left in %v: the handshake never completed", e.addr, e.state)
		}
		if !c.zeroSince[i].IsZero() {
			c.find("zero-window", i, 0, "%v's window was still zero at the end, after %v", e.addr, end.Sub(c.zeroSince[i]).Round(time.Millisecond))
		}
	}
	for i, n := range sum.Retransmits {
		if n > 0 {
			c.find("retransmissions", i, 0, "%v sent %d segments again: %d after duplicate ACKs or SACK, %d on its timer", c.addr[i], n, sum.Fast[i], n-sum.Fast[i])
		}
	}
	if sum.Requests > 1 {
		c.find("keep-alive", 0, 0, "%d requests on one connection", sum.Requests)
	}
	return sum
}

// Final returns each end's last state.
func (s *ConnSummary) Final() [2]machine.State {
	return [2]machine.State{s.Path[0][len(s.Path[0])-1].State, s.Path[1][len(s.Path[1])-1].State}
}

func ruleText(r machine.Rule) string {
	if r == machine.RuleNone {
		return "no rule"
	}
	return fmt.Sprintf("%s, %s", r, r.Info().RFC)
}
