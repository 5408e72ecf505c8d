package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// The scaling figures: what many connections at once get from a second
// core (-scale).
const (
	scaleConns = iota
	scaleBulkIn
	scaleBulkOut
	numScaleFigs
)

// scaleFlows is how many connections the scaling figures use at once.
const scaleFlows = 8

var scaleNames = [numScaleFigs]string{
	scaleConns:   fmt.Sprintf("connections/s (%d at a time)", scaleFlows),
	scaleBulkIn:  fmt.Sprintf("bulk in over %d flows, Gbit/s", scaleFlows),
	scaleBulkOut: fmt.Sprintf("bulk out over %d flows, Gbit/s", scaleFlows),
}

// scaling measures, for each setup, the scaling figures with GOMAXPROCS 1
// and 2, interleaved, runs times, and returns the Markdown table. The
// harness's kernel-side goroutines run in the same process and share
// those Ps; the kernel's own work is not bounded by them.
func scaling(chosen []setup, n int64, runs int, env string) (string, error) {
	procs := []int{1, 2}
	v := map[string]*[numScaleFigs][2][]float64{}
	for _, su := range chosen {
		v[su.name] = &[numScaleFigs][2][]float64{}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for r := 0; r < runs; r++ {
		for _, su := range chosen {
			for i, p := range procs {
				runtime.GOMAXPROCS(p)
				figs, err := measureScale(su, n)
				if err != nil {
					return "", fmt.Errorf("%s (%s), GOMAXPROCS=%d, run %d: %w", su.name, su.about, p, r+1, err)
				}
				for f, x := range figs {
					v[su.name][f][i] = append(v[su.name][f][i], x)
				}
				fmt.Fprintf(os.Stderr, "bench: %-2s GOMAXPROCS=%d: %.0f conn/s, in %.2f Gbit/s, out %.2f Gbit/s over %d flows\n",
					su.name, p, figs[scaleConns], figs[scaleBulkIn], figs[scaleBulkOut], scaleFlows)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Scaling from one core to two, measured on %s.\n\n", env)
	b.WriteString("| setup | figure | GOMAXPROCS=1 | GOMAXPROCS=2 | 2 / 1 |\n|---|---|---:|---:|---:|\n")
	for _, su := range chosen {
		for f := range numScaleFigs {
			one, lo1, hi1, _ := stats(v[su.name][f][0])
			two, lo2, hi2, _ := stats(v[su.name][f][1])
			ratio := "-"
			if one > 0 {
				ratio = fmt.Sprintf("%.2fx", two/one)
			}
			fmt.Fprintf(&b, "| %s | %s | %s (%s-%s) | %s (%s-%s) | %s |\n", su.name, scaleNames[f],
				num(one), num(lo1), num(hi1), num(two), num(lo2), num(hi2), ratio)
		}
	}
	return b.String(), nil
}

// measureScale builds one setup and takes its scaling figures.
func measureScale(su setup, n int64) ([numScaleFigs]float64, error) {
	var figs [numScaleFigs]float64
	s, err := su.start()
	if err != nil {
		return figs, fmt.Errorf("setting up: %w", err)
	}
	defer s.Close()
	stopCPU := func() {}
	if runtime.GOMAXPROCS(0) > 1 {
		stopCPU = startCPUProfile(su.name) // -profile: the two-core run
	}
	defer stopCPU()
	rate, _, _, err := connRate(s, connSpan, scaleFlows)
	if err != nil {
		return figs, fmt.Errorf("connections: %w", err)
	}
	in, err := bulkIn(s, n, scaleFlows)
	if err != nil {
		return figs, fmt.Errorf("bulk in: %w", err)
	}
	out, err := bulkOut(s, n, scaleFlows)
	if err != nil {
		return figs, fmt.Errorf("bulk out: %w", err)
	}
	figs[scaleConns], figs[scaleBulkIn], figs[scaleBulkOut] = rate, in.gbps, out.gbps
	return figs, nil
}
