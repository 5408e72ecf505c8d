package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcpfsm/tcpfsm/internal/netns"
)

func main() { os.Exit(run()) }

func run() int {
	runs := flag.Int("runs", 3, "measurements of each figure per setup (the table gives the median and the range)")
	size := flag.String("bytes", "512MiB", "bytes per bulk transfer (suffixes KiB, MiB, GiB)")
	only := flag.String("setups", "A,B,C,CQ,C0", "the setups to run, comma-separated")
	mdPath := flag.String("md", "", "also write the table to this Markdown `file`")
	svgPath := flag.String("svg", "", "write the chart to this SVG `file`")
	quick := flag.Bool("quick", false, "one run of 32 MiB each (CI's sample)")
	scale := flag.Bool("scale", false, "measure instead how connections/s and bulk over many flows scale from GOMAXPROCS=1 to 2")
	profSetup := flag.String("profile", "", "profile this `setup`: its bulk transfers (-cpuprofile; with -scale, everything at GOMAXPROCS=2) and its idle connections (-memprofile)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the CPU profile of the -profile setup's bulk transfers to `file`")
	flag.StringVar(&memProfile, "memprofile", "", "write a heap profile with the -profile setup's idle connections open to `file`")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil || *runs < 1 {
		fmt.Fprintf(os.Stderr, "bench: -bytes %q, -runs %d: %v\n", *size, *runs, err)
		return 2
	}
	if *quick {
		*runs, n = 1, 32<<20
		connSpan, pings, idleConns = 300*time.Millisecond, 500, 500
	}
	profiled = *profSetup
	chosen, err := pick(*only)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: -setups: %v\n", err)
		return 2
	}
	// 10,000 idle connections hold 20,000 descriptors in this process in
	// setup A (both ends are kernel sockets): raise the limit where the
	// process may; idleFor fits the count to what it got.
	unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20})
	inside, code, err := netns.Reexec(netns.EnvMarker)
	switch {
	case errors.Is(err, netns.ErrNotRoot):
		fmt.Fprintln(os.Stderr, "bench: needs root: it creates a network namespace, TUN devices and a veth pair (all gone when it exits)")
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	case !inside:
		return code
	}

	// This namespace's own sysctls: setups run back to back leave tens of
	// thousands of kernel connections in TIME-WAIT to one address and
	// port (10,000 idle ones a run); more ephemeral ports, and reuse of
	// TIME-WAIT ones, keep the next run's connects from failing.
	for path, v := range map[string]string{
		"/proc/sys/net/ipv4/ip_local_port_range": "10000 65000",
		"/proc/sys/net/ipv4/tcp_tw_reuse":        "1",
	} {
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}
	wait := time.Minute
	if *quick {
		wait = 5 * time.Second // CI's sample: the figures are not quoted
	}
	seen, quiet := waitQuiet(0.10, wait)
	env := environment(seen, quiet, *runs, n)
	if *scale {
		table, err := scaling(chosen, n, *runs, env)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Print(table)
		return writeOut(*mdPath, []byte(table))
	}
	res := newResults(chosen)
	for r := 0; r < *runs; r++ {
		for _, su := range chosen {
			if err := measure(su, n, res); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s (%s), run %d: %v\n", su.name, su.about, r+1, err)
				return 1
			}
		}
	}
	table := res.markdown(env)
	fmt.Print(table)
	if code := writeOut(*mdPath, []byte(table)); code != 0 {
		return code
	}
	return writeOut(*svgPath, res.svg())
}

// writeOut writes b to path unless path is empty, and returns the exit
// status.
func writeOut(path string, b []byte) int {
	if path == "" {
		return 0
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// measure builds one setup, takes its figures and tears it down.
func measure(su setup, n int64, res *results) error {
	s, err := su.start()
	if err != nil {
		return fmt.Errorf("setting up: %w", err)
	}
	defer s.Close()
	stopCPU := startCPUProfile(su.name)
	in, err := bulkIn(s, n, 1)
	if err != nil {
		return fmt.Errorf("bulk in: %w", err)
	}
	res.add(su.name, figBulkIn, in.gbps)
	res.add(su.name, figCPUIn, in.cpuPerGiB)
	out, err := bulkOut(s, n, 1)
	stopCPU()
	if err != nil {
		return fmt.Errorf("bulk out: %w", err)
	}
	res.add(su.name, figBulkOut, out.gbps)
	res.add(su.name, figCPUOut, out.cpuPerGiB)
	rate, c50, c99, err := connRate(s, connSpan, 4)
	if err != nil {
		return fmt.Errorf("connections: %w", err)
	}
	res.add(su.name, figConns, rate)
	res.add(su.name, figConnP50, ms(c50))
	res.add(su.name, figConnP99, ms(c99))
	r50, r99, err := pingPong(s, pings)
	if err != nil {
		return fmt.Errorf("ping-pong: %w", err)
	}
	res.add(su.name, figRTTP50, float64(r50.Nanoseconds())/1e3)
	res.add(su.name, figRTTP99, float64(r99.Nanoseconds())/1e3)
	perConn, err := idleRSS(s, idleFor(su))
	if err != nil {
		return fmt.Errorf("idle connections: %w", err)
	}
	res.add(su.name, figIdle, perConn/1024)
	fmt.Fprintf(os.Stderr, "bench: %-2s in %6.2f Gbit/s (%.2f CPU-s/GiB), out %6.2f Gbit/s (%.2f CPU-s/GiB), %.0f conn/s (p50 %v), RTT p50 %v p99 %v, %.1f KiB per idle connection\n",
		su.name, in.gbps, in.cpuPerGiB, out.gbps, out.cpuPerGiB, rate, c50, r50, r99, perConn/1024)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// idleFor is how many idle connections setup su can hold within this
// process's descriptor limit: idleConns, or fewer.
func idleFor(su setup) int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return idleConns
	}
	return min(idleConns, int(lim.Cur-1024)/su.fdsPerConn)
}

// The connection and round-trip measurements' sizes (-quick shrinks them).
var (
	connSpan  = 2 * time.Second
	pings     = 10000
	idleConns = 10000
)

func pick(list string) ([]setup, error) {
	all := setups()
	var out []setup
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, s := range all {
			if s.name == strings.TrimSpace(name) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown setup %q (A, B, C, CQ, C0)", name)
		}
	}
	return out, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("not a positive size")
	}
	return v * mult, nil
}

// environment describes the machine and the run, for the table.
func environment(seen float64, quiet bool, runs int, n int64) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	q := "quiet"
	if !quiet {
		q = "NOT quiet after a minute of waiting"
	}
	return fmt.Sprintf("%d cores (%s), %s, %s; background load before the run %.0f%% (%s); %d runs of %d MiB each way per setup, interleaved",
		runtime.NumCPU(), model, kernel, runtime.Version(), 100*seen, q, runs, n>>20)
}
