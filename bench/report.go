package main

import (
	"fmt"
	"slices"
	"strings"
)

// The figures, in table order.
const (
	figBulkIn = iota
	figBulkOut
	figCPUIn
	figCPUOut
	figConns
	figConnP50
	figConnP99
	figRTTP50
	figRTTP99
	figIdle
	numFigs
)

var figNames = [numFigs]string{
	figBulkIn:  "bulk into the stack (kernel sends), Gbit/s",
	figBulkOut: "bulk out of the stack (kernel receives), Gbit/s",
	figCPUIn:   "machine CPU per GiB in, CPU-seconds",
	figCPUOut:  "machine CPU per GiB out, CPU-seconds",
	figConns:   "connections/s (connect, 1 byte each way, close; 4 at a time)",
	figConnP50: "one connection, p50, ms",
	figConnP99: "one connection, p99, ms",
	figRTTP50:  "1-byte round trip, p50, µs",
	figRTTP99:  "1-byte round trip, p99, µs",
	figIdle:    "resident memory per idle connection, KiB (A: the harness's own)",
}

// results holds every sample by setup and figure.
type results struct {
	setups []setup
	v      map[string]*[numFigs][]float64
}

func newResults(s []setup) *results {
	r := &results{setups: s, v: map[string]*[numFigs][]float64{}}
	for _, su := range s {
		r.v[su.name] = &[numFigs][]float64{}
	}
	return r
}

func (r *results) add(setup string, fig int, x float64) { r.v[setup][fig] = append(r.v[setup][fig], x) }

// stats returns the median, minimum and maximum.
func stats(xs []float64) (med, lo, hi float64, ok bool) {
	if len(xs) == 0 {
		return 0, 0, 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1], true
}

func (r *results) median(setup string, fig int) (float64, bool) {
	v, ok := r.v[setup]
	if !ok {
		return 0, false
	}
	m, _, _, ok := stats(v[fig])
	return m, ok
}

// markdown renders the table: a column per setup (median, and min-max),
// then tcpfsm's ratios to gVisor and to the kernel.
func (r *results) markdown(env string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured on %s.\n\n", env)
	b.WriteString("| figure |")
	for _, su := range r.setups {
		fmt.Fprintf(&b, " %s: %s |", su.name, su.about)
	}
	pairs := [][2]string{{"C", "B"}, {"CQ", "B"}, {"C0", "B"}, {"C", "A"}}
	for _, p := range pairs {
		fmt.Fprintf(&b, " %s / %s |", p[0], p[1])
	}
	b.WriteString("\n|---|")
	for range len(r.setups) + len(pairs) {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for f := 0; f < numFigs; f++ {
		fmt.Fprintf(&b, "| %s |", figNames[f])
		for _, su := range r.setups {
			med, lo, hi, ok := stats(r.v[su.name][f])
			if !ok {
				b.WriteString(" - |")
				continue
			}
			fmt.Fprintf(&b, " %s (%s-%s) |", num(med), num(lo), num(hi))
		}
		for _, pair := range pairs {
			x, ok1 := r.median(pair[0], f)
			y, ok2 := r.median(pair[1], f)
			// A's idle figure is the harness's cost, not a stack's: no ratio.
			if !ok1 || !ok2 || y == 0 || f == figIdle && pair[1] == "A" {
				b.WriteString(" - |")
				continue
			}
			fmt.Fprintf(&b, " %.2fx |", x/y)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// num prints three significant digits or so, without an exponent.
func num(x float64) string {
	switch a := max(x, -x); {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// svg draws the bulk figures: for each setup a bar each way (median) with
// its min-max range.
func (r *results) svg() []byte {
	const w, h, left, bottom, top = 640, 360, 60, 40, 30
	var peak float64
	for _, su := range r.setups {
		for _, f := range []int{figBulkIn, figBulkOut} {
			if _, _, hi, ok := stats(r.v[su.name][f]); ok && hi > peak {
				peak = hi
			}
		}
	}
	if peak == 0 {
		peak = 1
	}
	y := func(v float64) float64 { return top + (h-top-bottom)*(1-v/peak) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Bulk throughput, Gbit/s (median, min-max)</text>`+"\n", left)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="black"/>`+"\n", left, top, left, y(0))
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", left, y(0), w-10, y(0))
	for i := 0; i <= 4; i++ {
		v := peak * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.1f</text>`+"\n", left-4, y(v)+4, v)
	}
	group := float64(w-left-20) / float64(len(r.setups))
	colors := [2]string{"#4477aa", "#ee7733"}
	for i, su := range r.setups {
		x0 := float64(left) + 10 + group*float64(i)
		for j, f := range []int{figBulkIn, figBulkOut} {
			med, lo, hi, ok := stats(r.v[su.name][f])
			if !ok {
				continue
			}
			bw := group/2 - 12
			x := x0 + float64(j)*(bw+4)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y(med), bw, y(0)-y(med), colors[j])
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x+bw/2, y(lo), x+bw/2, y(hi))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x0+group/2-10, h-bottom+16, su.name)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">into the stack</text>`+"\n", w-200, top, colors[0], w-186, top+9)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">out of the stack</text>`+"\n", w-200, top+16, colors[1], w-186, top+25)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
