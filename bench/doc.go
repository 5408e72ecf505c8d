// Command bench measures tcpfsm beside gVisor's netstack and the kernel, in
// one run, on this machine (issue 11). As root:
//
//	cd bench && go run . [-runs 3] [-bytes 512MiB] [-setups A,B,C,CQ,C0] [-md FILE] [-svg FILE]
//	cd bench && go run . -scale [-runs 3] [-bytes 256MiB] [-setups ...] [-md FILE]
//
// It re-runs itself in a fresh network namespace (which dies with it), and
// for each setup builds what it needs there, measures, and tears it down:
//
//	A   kernel to kernel over a veth pair (a second namespace on one thread)
//	B   kernel to gVisor netstack over a plain TUN (fdbased, MTU 1500, SACK,
//	    receive-buffer moderation, 4 MiB buffers: netstack tuned for speed)
//	C   kernel to tcpfsm over a TUN with offloads (TSO super-segments both
//	    ways, checksums left to the kernel)
//	CQ  C with a TUN queue, and a reader goroutine, per core
//	C0  kernel to tcpfsm over the same plain TUN as gVisor's
//
// The setups are interleaved, -runs times each, after waiting for a quiet
// machine (the load it saw is reported). Figures: bulk transfer each way
// (Gbit/s, and machine CPU-seconds per GiB from /proc/stat), connections
// per second with their p50 and p99, the 1-byte round trip's p50 and p99,
// and resident memory per idle connection. Output: a Markdown table of
// medians with min-max and ratios to gVisor and to the kernel, and an SVG
// chart of the bulk figures.
//
// -scale measures instead what a second core gives: connections/s with 8
// at a time and bulk over 8 flows each way, at GOMAXPROCS 1 and 2 (the
// harness's kernel-side goroutines share those Ps). -profile SETUP with
// -cpuprofile and -memprofile writes pprof profiles of one setup.
package main
