package pathsim

import (
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

func bulk(alg cc.Algorithm, bytes int, start time.Duration) Flow {
	return Flow{Bytes: bytes, Start: start, Config: machine.Config{Congestion: alg, RcvBuf: 4 << 20, SndBuf: 4 << 20}}
}

// A lossless path with no rate limit: the transfer is window-limited, and
// with 4 MiB buffers slow start doubles cwnd each RTT from the initial
// window, so 10 MiB take about as many RTTs as doublings.
func TestLosslessSlowStart(t *testing.T) {
	for _, alg := range []cc.Algorithm{cc.Reno, cc.CUBIC} {
		r, err := Run(Path{Delay: 50 * time.Millisecond}, []Flow{bulk(alg, 10<<20, 0)}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Flows[0]
		if f.Done == 0 || f.Retransmits != 0 {
			t.Fatalf("%v: done %v, %d retransmits", alg, f.Done, f.Retransmits)
		}
		// IW 10 segments, doubling: 10 MiB need about 10 round trips once
		// the window is past the 4 MiB buffer; allow 20 (2 s).
		if f.Done > 2*time.Second {
			t.Errorf("%v: 10 MiB over a lossless 100 ms path took %v", alg, f.Done)
		}
	}
}

// Invariant 26's sender half on a real path: one lost segment with three
// or more behind it is repaired by fast retransmit, without a timeout.
func TestOneLossNoTimeout(t *testing.T) {
	for _, alg := range []cc.Algorithm{cc.Reno, cc.CUBIC} {
		for _, sack := range []bool{true, false} {
			// A 2% loss each way on a short transfer: the seeds where
			// exactly one forward data segment is lost, with data behind.
			f := bulk(alg, 200<<10, 0)
			f.Config.NoSACK = !sack
			found := 0
			for seed := uint64(1); seed <= 200 && found < 5; seed++ {
				r, err := Run(Path{Delay: 10 * time.Millisecond, Loss: 0.004, Seed: seed}, []Flow{f}, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				fr := r.Flows[0]
				if fr.Retransmits != 1 || r.Lost != 1 {
					continue
				}
				found++
				if fr.Timeouts != 0 || fr.FastRecovery != 1 {
					t.Errorf("invariant 26: %v, SACK %v, seed %d: one lost segment took %d timeouts and %d fast retransmits; want 0 and 1",
						alg, sack, seed, fr.Timeouts, fr.FastRecovery)
				}
			}
			if found == 0 {
				t.Errorf("%v, SACK %v: no seed lost exactly one segment", alg, sack)
			}
		}
	}
}

// Invariant 51: two flows through one bottleneck share it. The second
// starts 5 s (250 RTTs) after the first has the link to itself; from 15 s
// on (750 RTTs after it started), Jain's fairness index of their
// throughput is at least 0.95, for Reno and for CUBIC. The queue holds
// about one bandwidth-delay product (20 packets at 10 Mbit/s and 20 ms),
// where a decrease that is not multiplicative never lets the late flow
// catch up (0.79 for an additive one, when receivers sent a window update
// per read), or keeps the queue full, so that losses come in bursts that
// only timeouts end: neither flow may need more than five (an additive
// decrease took 73 and 66, which even out the flows; Reno and CUBIC take
// two at most).
func TestFairness(t *testing.T) {
	for _, alg := range []cc.Algorithm{cc.Reno, cc.CUBIC} {
		p := Path{Rate: 10e6, Delay: 10 * time.Millisecond, Queue: 20, Seed: 7}
		flows := []Flow{bulk(alg, 1<<30, 0), bulk(alg, 1<<30, 5*time.Second)}
		r, err := Run(p, flows, 40*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		from, to := int(15*time.Second/Interval), int(40*time.Second/Interval)
		var x []float64
		var total float64
		for _, f := range r.Flows {
			sum := 0
			for i := from; i < min(to, len(f.Received)); i++ {
				sum += f.Received[i]
			}
			x = append(x, float64(sum))
			total += float64(sum)
		}
		util := total * 8 / 25 / float64(p.Rate)
		j := Jain(x)
		t.Logf("%v: throughput %.0f and %.0f bytes in 25 s, Jain %.3f, utilisation %.2f", alg, x[0], x[1], j, util)
		if j < 0.95 {
			t.Errorf("invariant 51: %v: Jain's index %.3f < 0.95 (bytes %v)", alg, j, x)
		}
		for i, f := range r.Flows {
			if f.Timeouts > 5 {
				t.Errorf("invariant 51: %v: flow %d needed %d timeouts (and %d fast recoveries) to share the bottleneck", alg, i, f.Timeouts, f.FastRecovery)
			}
		}
		if util < 0.8 {
			t.Errorf("%v: two flows used %.0f%% of the bottleneck", alg, util*100)
		}
	}
}

func TestJain(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1}, 1},
		{[]float64{1, 0}, 0.5},
		{[]float64{3, 1}, 0.8},
		{[]float64{0, 0}, 1},
	} {
		if got := Jain(c.x); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("Jain(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// A bottleneck queue drops what does not fit: with a 1-packet queue and
// a burst of ten segments, most of the burst is dropped, and the transfer
// still completes.
func TestDropTail(t *testing.T) {
	r, err := Run(Path{Rate: 1e6, Delay: 5 * time.Millisecond, Queue: 1}, []Flow{bulk(cc.Reno, 64<<10, 0)}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dropped == 0 || r.Flows[0].Done == 0 {
		t.Fatalf("dropped %d, done %v", r.Dropped, r.Flows[0].Done)
	}
}
