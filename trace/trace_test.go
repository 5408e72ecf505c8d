package trace

import (
	"bytes"
	"testing"

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
