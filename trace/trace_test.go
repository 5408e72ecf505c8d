package trace

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// collect is a Sink that keeps everything (tests only).
type collect struct {
	segs  []Verdict
	conns []ConnSummary
}

func (c *collect) Segment(v *Verdict) error {
	w := *v
	s := *v.Seg
	w.Seg = &s
	c.segs = append(c.segs, w)
	return nil
}

func (c *collect) Conn(s *ConnSummary) error {
	c.conns = append(c.conns, *s)
	return nil
}

func (c *collect) deviations() []Verdict {
	var out []Verdict
	for _, v := range c.segs {
		if v.Deviation != nil {
			out = append(out, v)
		}
	}
	return out
}

func runCapture(t *testing.T, pcap []byte) (*collect, *Summary) {
	t.Helper()
	return runCaptureWith(t, pcap, Options{})
}

func runCaptureWith(t *testing.T, pcap []byte, opts Options) (*collect, *Summary) {
	t.Helper()
	capt, err := OpenCapture(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var c collect
	sum, err := New(&c, opts).Run(capt)
	if err != nil {
		t.Fatal(err)
	}
	return &c, sum
}

// TestScenarios: every segment of every simulated scenario (a TCP that
// follows the spec, since it is the spec) is explained without a
// deviation, and each connection ends where the machines ended.
func TestScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			a, b := sc.cfgA, sc.cfgB
			s := newSim(t, &a, &b)
			sc.run(s)
			c, sum := runCapture(t, s.pcap())
			if len(c.segs) != len(s.segs) {
				t.Fatalf("%d verdicts for %d segments", len(c.segs), len(s.segs))
			}
			for _, v := range c.deviations() {
				t.Errorf("frame %d %v seq=%d ack=%d len=%d: %+v", v.Seg.Frame, v.Seg.Flags, v.Seg.Seq, v.Seg.Ack, v.Seg.Len, *v.Deviation)
			}
			if sum.Conns != 1 || len(c.conns) != 1 {
				t.Fatalf("%d connections, want 1", sum.Conns)
			}
			fin := c.conns[0].Final()
			want := [2]machine.State{s.a.State(), s.b.State()}
			// The capture cannot show a TIME-WAIT ending: the
			// observer leaves it there.
			for i := range want {
				if fin[i] == machine.StateTimeWait && want[i] == machine.StateClosed {
					want[i] = machine.StateTimeWait
				}
			}
			if fin != want {
				t.Errorf("final states %v, the machines ended %v", fin, want)
			}
		})
	}
}

// TestRstToUnseenCopy: the passive closer, CLOSED after the ACK of its FIN,
// answers with a RST a second copy of that ACK, or of the peer's FIN held
// back. The network duplicated or delayed it after the capture point, so
// the capture shows the RST alone (seen in TestKernelTrace, whose fault
// injector sits behind the capture). A capture taken anywhere explains it
// as closed_rcv_segment answering an unseen copy; one taken at the closer
// (Options.At), which sees every copy, and a RST at a sequence number the
// peer never acknowledged are deviations.
func TestRstToUnseenCopy(t *testing.T) {
	segs := record(t, scenarios()[0]) // client-closes: B ends in LAST-ACK -> CLOSED
	last := segs[len(segs)-1]
	if !last.fromA || last.seg.Flags != machine.ACK {
		t.Fatalf("the scenario's last segment is %v from A, want the ACK of B's FIN", last.seg.Flags)
	}
	var finAck uint32 // the ACK field of A's FIN
	for _, c := range segs {
		if c.fromA && c.seg.Flags&machine.FIN != 0 {
			finAck = c.seg.Ack
		}
	}
	if finAck == last.seg.Ack {
		t.Fatal("A's FIN acknowledges B's FIN: no earlier ACK to answer")
	}
	rst := func(seq uint32) []capSeg {
		out := append(clone(segs), capSeg{at: last.at + time.Millisecond, fromA: false, seg: machine.Segment{Seq: seq, Flags: machine.RST}})
		return out
	}
	for _, tc := range []struct {
		name    string
		seq     uint32
		opts    Options
		explain bool
	}{
		{"anywhere", last.seg.Ack, Options{}, true},
		{"earlier-fin", finAck, Options{}, true},
		{"at-the-closer", last.seg.Ack, Options{At: []netip.Addr{simB}}, false},
		{"never-acknowledged", last.seg.Ack + 1, Options{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := runCaptureWith(t, encodePcap(t, rst(tc.seq)), tc.opts)
			v := c.segs[len(c.segs)-1]
			if tc.explain {
				if v.Deviation != nil || v.Send != machine.RuleClosedRcvSegment || v.Kind&KindUnseenCopy == 0 {
					t.Fatalf("RST: send %v, kinds %v, deviation %+v; want closed_rcv_segment, unseen-copy", v.Send, v.Kind.Names(), v.Deviation)
				}
				return
			}
			if v.Deviation == nil {
				t.Fatalf("RST explained as %v %v; want a deviation", v.Send, v.Kind.Names())
			}
		})
	}
}

// TestInputLost: the passive closer sends its FIN again after the capture
// saw the peer's ACK of it: that ACK was lost after the capture point (seen
// in TestKernelTrace, whose fault injector drops behind the capture). A
// capture taken anywhere puts the closer back in LAST-ACK and explains the
// FIN as a retransmission and the peer's second ACK as closing it; one
// taken at the closer (Options.At) is a deviation.
func TestInputLost(t *testing.T) {
	segs := record(t, scenarios()[0]) // client-closes: B ends in LAST-ACK -> CLOSED
	last := segs[len(segs)-1]
	fin := -1
	for i, c := range segs {
		if !c.fromA && c.seg.Flags&machine.FIN != 0 {
			fin = i
		}
	}
	if !last.fromA || last.seg.Flags != machine.ACK || fin < 0 {
		t.Fatalf("the scenario does not end with B's FIN and A's ACK of it")
	}
	again := segs[fin]
	again.at = last.at + 200*time.Millisecond
	again.seg.TSVal += 200 // a retransmission, not a late copy
	ack := last
	ack.at = again.at + time.Millisecond
	out := append(clone(segs), again, ack)
	t.Run("anywhere", func(t *testing.T) {
		c, _ := runCaptureWith(t, encodePcap(t, out), Options{})
		for _, v := range c.deviations() {
			t.Errorf("frame %d: %+v", v.Seg.Frame, *v.Deviation)
		}
		v := c.segs[len(c.segs)-2]
		if v.Kind&(KindInputLost|KindRetransmit) != KindInputLost|KindRetransmit || v.Before[1] != machine.StateLastAck {
			t.Errorf("the FIN again: kinds %v, B %v before it; want input-lost, retransmit, from LAST-ACK", v.Kind.Names(), v.Before[1])
		}
		if fin := c.conns[0].Final(); fin[1] != machine.StateClosed {
			t.Errorf("B ends in %v, want CLOSED", fin[1])
		}
	})
	t.Run("at-the-closer", func(t *testing.T) {
		c, _ := runCaptureWith(t, encodePcap(t, out), Options{At: []netip.Addr{simB}})
		if v := c.segs[len(c.segs)-2]; v.Deviation == nil {
			t.Errorf("the FIN again explained as %v %v; want a deviation", v.Send, v.Kind.Names())
		}
	})
}
