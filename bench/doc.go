// Command bench measures tcpfsm beside gVisor's netstack and the kernel, in
// one run, on this machine (issue 11). As root:
//
//	cd bench && go run . [-runs 3] [-bytes 512MiB] [-md FILE] [-svg FILE]
//
// It re-runs itself in a fresh network namespace (which dies with it), and
// for each setup builds what it needs there, measures, and tears it down:
//
//	A   kernel to kernel over a veth pair (a second namespace on one thread)
//	B   kernel to gVisor netstack over a plain TUN (fdbased, MTU 1500, SACK,
//	    receive-buffer moderation, 4 MiB buffers: netstack tuned for speed)
//	C   kernel to tcpfsm over a TUN with wireguard-go's offloads (GSO/GRO)
//	C0  kernel to tcpfsm over the same plain TUN as gVisor's
//
// The setups are interleaved, -runs times each, after waiting for a quiet
// machine (the load it saw is reported). Figures: bulk transfer each way
// (Gbit/s, and machine CPU-seconds per GiB from /proc/stat). Output: a
// Markdown table of medians with min-max and ratios to gVisor, and an SVG
// chart.
package main
