package trace

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
)

// JSONSink writes JSON Lines: one object per segment ("type": "segment"),
// one per connection when it ends ("type": "conn") and one for the whole
// capture ("type": "summary").
type JSONSink struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewJSONSink writes to w; call Summary (or Flush) at the end.
func NewJSONSink(w io.Writer) *JSONSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSONSink{w: bw, enc: json.NewEncoder(bw)}
}

type jsonSegment struct {
	Type      string         `json:"type"`
	Frame     int            `json:"frame"`
	Time      time.Time      `json:"time"`
	Conn      int            `json:"conn"`
	Dir       int            `json:"dir"` // 0: from the connection's first end, 1: to it
	Src       string         `json:"src"`
	Dst       string         `json:"dst"`
	Flags     string         `json:"flags"`
	Seq       uint32         `json:"seq"`
	Ack       uint32         `json:"ack"`
	RelSeq    uint32         `json:"rel_seq"` // seq - the sender's ISS
	RelAck    uint32         `json:"rel_ack"` // ack - the receiver's ISS
	Len       int            `json:"len"`
	Window    uint16         `json:"win"`
	Rules     jsonRules      `json:"rules"`
	States    [2]string      `json:"states"` // both ends' states after the segment, end 0 first
	Before    [2]string      `json:"states_before"`
	Kinds     []string       `json:"kinds,omitempty"`
	CC        *jsonCC        `json:"cc,omitempty"`
	Deviation *jsonDeviation `json:"deviation"`
}

type jsonRules struct {
	Send      string `json:"send"`             // the sender's rule
	Hidden    string `json:"hidden,omitempty"` // the hidden event that fired it (user call or timer)
	Recv      string `json:"recv"`             // the receiver's rule
	RecvEvent string `json:"recv_event"`
	RFC       string `json:"rfc,omitempty"` // the receiver rule's section
}

// jsonCC is the congestion control machine's part: the rule the segment
// fired (at an ACK's receiver, or behind a retransmission) and both ends'
// congestion states after it.
type jsonCC struct {
	Rule   string    `json:"rule,omitempty"`
	States [2]string `json:"states"`
}

type jsonDeviation struct {
	Side     string `json:"side"` // the deviating end's address
	Expected string `json:"expected"`
	RFC      string `json:"rfc"`
	Why      string `json:"why"`
}

func (j *JSONSink) Segment(v *Verdict) error {
	s := v.Seg
	o := jsonSegment{
		Type: "segment", Frame: s.Frame, Time: s.Time, Conn: v.Conn, Dir: v.Dir,
		Src: s.Src.String(), Dst: s.Dst.String(), Flags: s.Flags.String(),
		Seq: s.Seq, Ack: s.Ack, RelSeq: s.Seq - v.ISS[v.Dir], RelAck: s.Ack - v.ISS[1-v.Dir],
		Len: s.Len, Window: s.Window,
		Rules:  jsonRules{Send: v.Send.String(), Recv: v.RecvR.String(), RecvEvent: v.Recv.String(), RFC: ruleRFC(v.RecvR)},
		States: [2]string{v.States[0].String(), v.States[1].String()},
		Before: [2]string{v.Before[0].String(), v.Before[1].String()},
		Kinds:  v.Kind.Names(),
	}
	if v.Hidden != HiddenNone {
		o.Rules.Hidden = v.Hidden.String()
	}
	o.CC = &jsonCC{States: [2]string{v.CCStates[0].String(), v.CCStates[1].String()}}
	if v.CC != cc.RuleNone {
		o.CC.Rule = v.CC.String()
	}
	if d := v.Deviation; d != nil {
		o.Deviation = &jsonDeviation{Side: endAddr(v, d.Side), Expected: d.Expected, RFC: d.RFC, Why: d.Why}
	}
	return j.enc.Encode(&o)
}

type jsonConn struct {
	Type        string        `json:"type"`
	Conn        int           `json:"conn"`
	Ends        [2]string     `json:"ends"`
	First       time.Time     `json:"first"`
	Last        time.Time     `json:"last"`
	Opened      bool          `json:"opened"` // the capture saw the handshake
	Segments    int           `json:"segments"`
	Bytes       [2]int64      `json:"bytes"`
	Final       [2]string     `json:"final"`
	Path        [2][]jsonSpan `json:"path"`
	Retransmits [2]int        `json:"retransmits"`
	Deviations  int           `json:"deviations"`
	Requests    int           `json:"requests"`
	Findings    []Finding     `json:"findings"`
}

type jsonSpan struct {
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

func (j *JSONSink) Conn(s *ConnSummary) error {
	fin := s.Final()
	o := jsonConn{Type: "conn", Conn: s.ID, Ends: [2]string{s.Ends[0].String(), s.Ends[1].String()},
		First: s.First, Last: s.Last, Opened: s.Opened, Segments: s.Segments, Bytes: s.Bytes,
		Final: [2]string{fin[0].String(), fin[1].String()}, Retransmits: s.Retransmits,
		Deviations: s.Deviations, Requests: s.Requests, Findings: s.Findings}
	for i, p := range s.Path {
		for _, sp := range p {
			o.Path[i] = append(o.Path[i], jsonSpan{sp.State.String(), sp.Since})
		}
	}
	return j.enc.Encode(&o)
}

// Summary writes the capture's summary and flushes.
func (j *JSONSink) Summary(s *Summary) error {
	o := struct {
		Type       string         `json:"type"`
		Frames     int            `json:"frames"`
		Segments   int            `json:"segments"`
		Skipped    int            `json:"skipped"`
		Conns      int            `json:"conns"`
		Deviations int            `json:"deviations"`
		Final      map[string]int `json:"final"`
		Findings   map[string]int `json:"findings"`
		Offloaded  int            `json:"checksum_offload"`
		Flood      []string       `json:"syn_flood,omitempty"`
		Malformed  int            `json:"malformed"`
		Named      []string       `json:"malformed_frames,omitempty"`
	}{"summary", s.Frames, s.Segments, s.Skipped, s.Conns, s.Deviations, s.Final, s.Findings, s.Offloaded, s.Flood, s.Malformed, s.MalformedFrames}
	if err := j.enc.Encode(&o); err != nil {
		return err
	}
	return j.w.Flush()
}
