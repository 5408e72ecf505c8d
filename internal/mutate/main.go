package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

const usage = `usage: go run ./internal/mutate [flags]

Plants one bug at a time in machine/*.go (hand-written) and spec/tcp.yaml,
runs the property suite and the checker on each mutant, and prints
"mutants: K killed of N (P%)". Exits 1 if a mutant survives that
internal/mutate/survivors.txt does not list (with -min: if the score is
below it), 2 on a usage error.

flags:
`

// Paths, relative to the module root.
const (
	machineDir    = "machine"
	specFile      = "spec/tcp.yaml"
	survivorsFile = "internal/mutate/survivors.txt"
)

type options struct {
	sample  int
	seed    uint64
	jobs    int
	checks  int
	timeout time.Duration
	run     *regexp.Regexp
	list    bool
	planted bool
	verbose bool
	min     float64 // fail below this score (percent); 0: fail on unlisted survivors instead

	survivors string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var o options
	var runExpr string
	fs.IntVar(&o.sample, "sample", 0, "test a random sample of `N` mutants (0: all)")
	fs.Uint64Var(&o.seed, "seed", 0, "`seed` of the sample (0: from the clock; printed, to repeat a run)")
	fs.IntVar(&o.jobs, "j", max(runtime.NumCPU()/2, 1), "mutants tested at once")
	fs.IntVar(&o.checks, "checks", 1000, "rapid cases of the property test per mutant")
	fs.DurationVar(&o.timeout, "timeout", 45*time.Second, "per test run, compiling included (the suite takes about 10 s on 2 busy vCPUs); a mutant that hangs is killed by it")
	fs.StringVar(&runExpr, "run", "", "only mutants whose ID matches `regexp`")
	fs.BoolVar(&o.list, "list", false, "list the mutants and exit")
	fs.BoolVar(&o.planted, "planted", false, "run the hand-written planted bugs (planted.go) instead: each must be caught by its invariant")
	fs.BoolVar(&o.verbose, "v", false, "print every mutant's result (default: killed ones are counted, not printed)")
	fs.StringVar(&o.survivors, "survivors", "", "`file` of known survivors (default "+survivorsFile+")")
	fs.Float64Var(&o.min, "min", 0, "exit 1 if fewer than `P` percent of the mutants tested are killed, and only print survivors missing from the survivors file (for a small random sample, where a mutant killed by luck in the full run may survive)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mutate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.sample < 0 || o.jobs < 1 || o.checks < 1 || o.timeout <= 0 {
		fmt.Fprintln(stderr, "mutate: -sample must be >= 0, -j and -checks >= 1, -timeout > 0")
		return 2
	}
	if runExpr != "" {
		re, err := regexp.Compile(runExpr)
		if err != nil {
			fmt.Fprintf(stderr, "mutate: -run: %v\n", err)
			return 2
		}
		o.run = re
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 2
	}
	if o.survivors == "" {
		o.survivors = filepath.Join(root, survivorsFile)
	}
	known, err := readSurvivors(o.survivors)
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 2
	}

	goMs, err := goMutants(root, machineDir)
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 1
	}
	specMs, err := specMutants(root, specFile, machineDir)
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 1
	}
	all := append(goMs, specMs...)
	if o.run != nil {
		all = filter(all, func(m Mutant) bool { return o.run.MatchString(m.ID) })
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	if o.sample > 0 && o.sample < len(all) {
		r := rand.New(rand.NewPCG(o.seed, 0x6d7574616e74))
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		all = all[:o.sample]
		sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	}
	if o.list {
		for _, m := range all {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", m.ID, m.Pos, m.Desc)
		}
		fmt.Fprintf(stdout, "%d mutants (%d in Go, %d in the spec)\n", len(all), len(goMs), len(specMs))
		return 0
	}

	fmt.Fprintf(stdout, "mutate: %d mutants (of %d in Go and %d in the spec), seed %d, %d at once, %d rapid cases each\n",
		len(all), len(goMs), len(specMs), o.seed, o.jobs, o.checks)
	tmp, err := os.MkdirTemp("", "tcpfsm-mutate-")
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	r := &runner{root: root, tmp: tmp, o: o}
	if res := r.test(Mutant{ID: "baseline", Files: nil}, 0); res.verdict != survived {
		fmt.Fprintf(stderr, "mutate: the unmutated tree fails its own tests (%s); fix that first:\n%s\n", res.why, res.output)
		return 1
	}
	if o.planted {
		return runPlanted(stdout, r)
	}

	start := time.Now()
	results := make([]result, len(all))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	done := 0
	for w := 0; w < o.jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(all) {
					return
				}
				res := r.test(all[i], i+1)
				mu.Lock()
				results[i] = res
				done++
				m := all[i]
				switch {
				case res.verdict == survived:
					note := ""
					if _, ok := known[m.ID]; ok {
						note = " (listed in survivors.txt)"
					}
					fmt.Fprintf(stdout, "SURVIVED %s  %s: %s%s\n", m.ID, m.Pos, m.Desc, note)
				case o.verbose:
					fmt.Fprintf(stdout, "%-8s %s  %s: %s  [%s]\n", strings.ToUpper(res.verdict.String()), m.ID, m.Pos, m.Desc, res.why)
				}
				if done%25 == 0 {
					fmt.Fprintf(stdout, "mutate: %d of %d tested, %v\n", done, len(all), time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return report(stdout, all, results, known, time.Since(start), o.min)
}

// report prints the summary and returns the exit code.
func report(w io.Writer, all []Mutant, results []result, known map[string]string, took time.Duration, minScore float64) int {
	var killed, valid, invalid int
	byHow := map[string]int{}
	var unlisted []string
	var goKilled, goValid, goEquivalent int
	for i, res := range results {
		if res.verdict == survived && !strings.HasPrefix(all[i].ID, specFile) && strings.HasPrefix(known[all[i].ID], "equivalent") {
			goEquivalent++
		}
		if res.verdict != invalidMutant && !strings.HasPrefix(all[i].ID, specFile) {
			goValid++
			if res.verdict == killedMutant {
				goKilled++
			}
		}
		switch res.verdict {
		case invalidMutant:
			invalid++
			continue
		case killedMutant:
			killed++
			byHow[res.by]++
		case survived:
			if _, ok := known[all[i].ID]; !ok {
				unlisted = append(unlisted, all[i].ID)
			}
		}
		valid++
	}
	fmt.Fprintf(w, "mutate: %d invalid (did not compile), killed by the property suite %d, by the checker %d; %v\n",
		invalid, byHow["property"], byHow["checker"], took.Round(time.Second))
	if len(unlisted) > 0 {
		fmt.Fprintf(w, "mutate: %d survivors are not in %s: a blind spot of the checks, or an equivalent mutant to list with its reason:\n", len(unlisted), survivorsFile)
		for _, id := range unlisted {
			fmt.Fprintf(w, "  %s\n", id)
		}
	}
	fmt.Fprintf(w, "mutate: machine/*.go %d killed of %d (%.1f%%), %s %d killed of %d (%.1f%%)\n",
		goKilled, goValid, percent(goKilled, goValid), specFile, killed-goKilled, valid-goValid, percent(killed-goKilled, valid-goValid))
	if goEquivalent > 0 {
		// The usual mutation score leaves out equivalent mutants: no test
		// could tell them from the original.
		fmt.Fprintf(w, "mutate: machine/*.go without the %d survivors listed as equivalent: %d killed of %d (%.1f%%)\n",
			goEquivalent, goKilled, goValid-goEquivalent, percent(goKilled, goValid-goEquivalent))
	}
	fmt.Fprintf(w, "mutants: %d killed of %d (%.1f%%)\n", killed, valid, percent(killed, valid))
	if minScore > 0 {
		if percent(killed, valid) < minScore {
			fmt.Fprintf(w, "mutate: the score is below -min %.0f%%: a property went blind\n", minScore)
			return 1
		}
		return 0
	}
	if len(unlisted) > 0 {
		return 1
	}
	return 0
}

func percent(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(k) / float64(n)
}

func filter(ms []Mutant, keep func(Mutant) bool) []Mutant {
	var out []Mutant
	for _, m := range ms {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// readSurvivors reads "ID reason" lines; # starts a comment.
func readSurvivors(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		id, reason, _ := strings.Cut(t, " ")
		if strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: survivor %s has no reason", path, line, id)
		}
		out[id] = strings.TrimSpace(reason)
	}
	return out, sc.Err()
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above: run from the tcpfsm module")
		}
		dir = parent
	}
}
