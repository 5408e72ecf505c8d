package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/proptest/pathsim"
)

const bottleneckHelp = `
usage: tcpfsm bottleneck [-cc cubic|reno] [-bytes N] [-span D] [-svg FILE] [-quick]

Bottleneck runs tcpfsm's congestion control over simulated paths
(proptest/pathsim: simulated time, so minutes of transfers take seconds)
and prints two Markdown tables:

  - smoltcp's netsim grid: a 10 MiB transfer at 100 ms RTT for each send
    and receive buffer size and random loss rate (each way), in bytes per
    second, beside smoltcp's published numbers for the same grid, plus
    three larger buffers smoltcp does not run;
  - link utilisation of one bulk flow at 10 and 100 Mbit/s bottlenecks and
    10 and 100 ms RTT, Reno beside CUBIC, with a drop-tail queue of one
    and of a tenth of a bandwidth-delay product, and with 0.01% random
    loss.

-svg writes a chart of the grid (throughput against loss, log scale).
-quick runs a small sample (for tests).
`

func runBottleneck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bottleneck")
	algName := fs.String("cc", "cubic", "congestion control for the grid: cubic or reno")
	nbytes := fs.Int("bytes", 10<<20, "bytes per grid transfer")
	span := fs.Duration("span", 60*time.Second, "simulated duration of each utilisation run")
	svgPath := fs.String("svg", "", "write the grid's chart to this SVG `file`")
	quick := fs.Bool("quick", false, "a small sample of each table")
	if code, ok := parse(fs, bottleneckHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	alg, err := cc.ParseAlgorithm(*algName)
	if err != nil {
		return usageError(fs, stderr, "-cc: %v", err)
	}
	if *nbytes <= 0 || *span <= 0 {
		return usageError(fs, stderr, "-bytes and -span must be positive")
	}
	buffers := append(append([]int(nil), pathsim.SmoltcpBuffers...), 65536, 262144, 1<<20)
	losses := pathsim.SmoltcpLosses
	rates := []int64{10e6, 100e6}
	if *quick {
		buffers, losses, rates = []int{4096, 1 << 20}, []float64{0, 0.02}, []int64{10e6}
	}
	grid := pathsim.LossGrid(buffers, losses, *nbytes, 100*time.Millisecond, alg, 30*24*time.Hour)
	var b bytes.Buffer
	writeGrid(&b, grid, losses, alg, *nbytes)
	b.WriteString("\n")
	writeUtilisation(&b, rates, *span)
	if _, err := stdout.Write(b.Bytes()); err != nil {
		fmt.Fprintf(stderr, "tcpfsm bottleneck: %v\n", err)
		return 1
	}
	if *svgPath != "" {
		if err := os.WriteFile(*svgPath, gridSVG(grid, losses), 0o644); err != nil {
			fmt.Fprintf(stderr, "tcpfsm bottleneck: %v\n", err)
			return 1
		}
	}
	return 0
}

// smoltcpRow is smoltcp's snapshot row for a buffer size, if it has one.
func smoltcpRow(buffer int) []float64 {
	for i, b := range pathsim.SmoltcpBuffers {
		if b == buffer {
			return pathsim.Smoltcp[i]
		}
	}
	return nil
}

func writeGrid(w io.Writer, grid [][]pathsim.GridCell, losses []float64, alg cc.Algorithm, nbytes int) {
	fmt.Fprintf(w, "Throughput of a %d MiB transfer at 100 ms RTT, bytes/s: tcpfsm (%v) / smoltcp (its tests/netsim.rs snapshot); * = not finished in 30 simulated days\n\n", nbytes>>20, alg)
	fmt.Fprintf(w, "| buffer |")
	for _, l := range losses {
		fmt.Fprintf(w, " loss %g%% |", l*100)
	}
	fmt.Fprintf(w, "\n|---:|")
	for range losses {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, row := range grid {
		fmt.Fprintf(w, "| %d |", row[0].Buffer)
		ref := smoltcpRow(row[0].Buffer)
		for j, c := range row {
			mark := ""
			if !c.Finished {
				mark = "*"
			}
			if ref != nil {
				fmt.Fprintf(w, " %s%s / %s |", formatRate(c.Throughput), mark, formatRate(ref[indexOf(pathsim.SmoltcpLosses, losses[j])]))
			} else {
				fmt.Fprintf(w, " %s%s |", formatRate(c.Throughput), mark)
			}
		}
		fmt.Fprintln(w)
	}
}

func indexOf(xs []float64, x float64) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

func formatRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func writeUtilisation(w io.Writer, rates []int64, span time.Duration) {
	fmt.Fprintf(w, "Link utilisation of one bulk flow (goodput over the last three quarters of %v, as a fraction of the link's text capacity)\n\n", span)
	fmt.Fprintf(w, "| bottleneck | RTT | queue | random loss | Reno | CUBIC |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, rate := range rates {
		for _, rtt := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond} {
			for _, c := range []struct{ q, loss float64 }{{1, 0}, {0.1, 0}, {1, 0.0001}} {
				reno := pathsim.Utilisation(rate, rtt, c.q, c.loss, cc.Reno, span)
				cubic := pathsim.Utilisation(rate, rtt, c.q, c.loss, cc.CUBIC, span)
				fmt.Fprintf(w, "| %d Mbit/s | %v | %g BDP (%d packets) | %g%% | %.3f | %.3f |\n",
					rate/1e6, rtt, c.q, reno.Queue, c.loss*100, reno.Utilisation, cubic.Utilisation)
			}
		}
	}
}

// gridSVG draws throughput against loss, one line per buffer size: tcpfsm
// solid, smoltcp dashed, log scale.
func gridSVG(grid [][]pathsim.GridCell, losses []float64) []byte {
	const W, H, left, right, top, bottom = 760, 420, 70, 170, 30, 50
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	lo, hi := 0.0, 7.5 // log10 bytes/s: 1 B/s .. 30 MB/s
	x := func(j int) float64 { return left + pw*float64(j)/float64(len(losses)-1) }
	y := func(v float64) float64 {
		l := math.Log10(max(v, 1))
		return top + ph*(1-(l-lo)/(hi-lo))
	}
	colors := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13">10 MiB at 100 ms RTT: throughput (bytes/s, log) against loss; solid tcpfsm, dashed smoltcp</text>`+"\n", left)
	for e := 0; e <= 7; e++ {
		yy := y(math.Pow(10, float64(e)))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">1e%d</text>`+"\n", left, W-right, yy, yy, left-6, yy+4, e)
	}
	for j, l := range losses {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%g%%</text>`+"\n", x(j), H-bottom+16, l*100)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">random loss, each way</text>`+"\n", left+int(pw/2), H-12)
	for i, row := range grid {
		color := colors[i%len(colors)]
		var pts []string
		for j, c := range row {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(j), y(c.Throughput)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		if ref := smoltcpRow(row[0].Buffer); ref != nil {
			pts = pts[:0]
			for j := range row {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(j), y(ref[indexOf(pathsim.SmoltcpLosses, losses[j])])))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5,4" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		}
		ly := top + 14*i
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">buffer %d</text>`+"\n", W-right+10, W-right+30, ly, ly, color, W-right+36, ly+4, row[0].Buffer)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
