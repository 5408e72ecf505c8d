package trace

import (
	"bytes"
	"os"
	"testing"
)

func TestDebugScenario(t *testing.T) {
	for _, sc := range scenarios() {
		if sc.name != os.Getenv("SC") {
			continue
		}
		a, b := sc.cfgA, sc.cfgB
		s := newSim(t, &a, &b)
		sc.run(s)
		capt, _ := OpenCapture(bytes.NewReader(s.pcap()))
		ts := NewTextSink(os.Stdout)
		sum, _ := New(ts, Options{}).Run(capt)
		ts.Summary(sum)
		t.Logf("%v %v", s.a.State(), s.b.State())
	}
}
