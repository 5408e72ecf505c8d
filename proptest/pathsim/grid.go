package pathsim

import (
	"runtime"
	"sync"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
)

// smoltcp's netsim test (tests/netsim.rs in smoltcp-rs/smoltcp) moves 10 MiB
// over a path of 100 ms RTT with no rate limit and random loss each way,
// with send and receive buffers of the same size, and snapshots the
// throughput in bytes per second. These are its buffers, losses and
// numbers, from tests/snapshots/netsim__netsim.snap at commit 24f83e97
// ("accept new netsim results", 2026-06-16).
var (
	SmoltcpBuffers = []int{128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}
	SmoltcpLosses  = []float64{0, 0.001, 0.01, 0.02, 0.05, 0.10, 0.20, 0.30}
	Smoltcp        = [][]float64{
		{1279.98, 1255.76, 1054.15, 886.36, 538.66, 227.84, 33.99, 7.18},
		{2559.91, 2507.27, 2100.03, 1770.30, 1070.71, 468.24, 66.71, 14.35},
		{5119.63, 5011.95, 4172.36, 3531.57, 2098.73, 942.38, 144.73, 29.45},
		{10238.50, 10023.19, 8340.90, 7084.25, 4003.34, 1869.94, 290.74, 60.92},
		{17535.11, 17171.82, 14093.50, 11963.68, 7399.06, 3416.41, 690.50, 126.57},
		{35062.41, 33859.80, 26937.41, 21886.99, 14073.67, 7870.66, 1603.60, 401.79},
		{77374.28, 72992.18, 58490.74, 46527.73, 29421.45, 15515.23, 3737.20, 710.80},
		{161842.28, 159310.62, 127090.53, 104233.16, 55319.33, 27269.28, 7654.51, 1277.32},
		{322944.88, 314779.73, 219670.76, 166587.86, 76626.48, 37774.62, 6079.34, 1156.40},
	}
)

// GridCell is one transfer of the loss grid.
type GridCell struct {
	Buffer     int
	Loss       float64
	Throughput float64 // bytes per second, from the start to the last byte read
	Finished   bool    // every byte arrived within the run's limit
	Timeouts   uint64
}

// LossGrid runs smoltcp's experiment for tcpfsm: one transfer of bytes per
// (buffer, loss) pair over a path of the given RTT, buffers of that size at
// both ends, alg's congestion control; cells run in parallel on every core.
// A transfer not done by limit reports the throughput it had reached.
func LossGrid(buffers []int, losses []float64, bytes int, rtt time.Duration, alg cc.Algorithm, limit time.Duration) [][]GridCell {
	out := make([][]GridCell, len(buffers))
	type job struct{ i, j int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jb := range jobs {
				buf, loss := buffers[jb.i], losses[jb.j]
				cfg := machine.Config{Congestion: alg, RcvBuf: buf, SndBuf: buf}
				r, err := Run(Path{Delay: rtt / 2, Loss: loss, Seed: uint64(jb.i*100 + jb.j + 1)}, []Flow{{Bytes: bytes, Config: cfg}}, limit)
				f := r.Flows[0]
				out[jb.i][jb.j] = GridCell{Buffer: buf, Loss: loss, Throughput: f.Throughput(0, r.End), Finished: err == nil && f.Done > 0, Timeouts: f.Timeouts}
			}
		}()
	}
	for i := range buffers {
		out[i] = make([]GridCell, len(losses))
		for j := range losses {
			jobs <- job{i, j}
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

// UtilisationCell is one bulk flow alone on a bottleneck.
type UtilisationCell struct {
	Rate        int64 // bits per second
	RTT         time.Duration
	Queue       int // packets
	Alg         cc.Algorithm
	Utilisation float64 // goodput over the measured span, as a fraction of what the link carries in text (Rate less the headers)
	Timeouts    uint64
	Dropped     int
}

// Utilisation runs one unending flow over a bottleneck of rate and base
// RTT rtt, with a drop-tail queue of queueBDP bandwidth-delay products
// (at least 4 packets) and random loss, for span, and reports the goodput
// of its last three quarters (after slow start) as a fraction of what the
// link can carry in text: Rate times MSS/(MSS+HeaderBytes).
func Utilisation(rate int64, rtt time.Duration, queueBDP, loss float64, alg cc.Algorithm, span time.Duration) UtilisationCell {
	bdp := float64(rate) / 8 * rtt.Seconds() / (machine.DefaultMSS + HeaderBytes)
	queue := max(int(queueBDP*bdp), 4)
	buf := max(4<<20, int(4*bdp)*machine.DefaultMSS)
	cfg := machine.Config{Congestion: alg, RcvBuf: buf, SndBuf: buf}
	r, _ := Run(Path{Rate: rate, Delay: rtt / 2, Queue: queue, Loss: loss, Seed: 1}, []Flow{{Bytes: 1 << 40, Config: cfg}}, span)
	f := r.Flows[0]
	from := int(span / 4 / Interval)
	sum := 0
	for i := from; i < len(f.Received); i++ {
		sum += f.Received[i]
	}
	secs := (span - time.Duration(from)*Interval).Seconds()
	textRate := float64(rate) * machine.DefaultMSS / (machine.DefaultMSS + HeaderBytes)
	return UtilisationCell{Rate: rate, RTT: rtt, Queue: queue, Alg: alg, Utilisation: float64(sum) * 8 / secs / textRate, Timeouts: f.Timeouts, Dropped: r.Dropped}
}
