package faults

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Direction is the way a packet crosses the injector.
type Direction uint8

const (
	In  Direction = iota // from the TUN to the stack
	Out                  // from the stack to the TUN
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Defaults for a reorder rule given without gap= or hold=.
const (
	DefaultReorderGap  = 3
	DefaultReorderHold = 10 * time.Millisecond
)

// Rule is what happens to packets in one direction. Probabilities are in
// [0, 1]. A reordered packet is held back until ReorderGap later packets have
// passed or ReorderHold has elapsed, whichever comes first. A delayed packet
// is released after a delay drawn uniformly from [DelayMin, DelayMax].
type Rule struct {
	Loss, Dup, Reorder float64
	ReorderGap         int
	ReorderHold        time.Duration
	DelayMin, DelayMax time.Duration
}

// Active reports whether the rule does anything.
func (r Rule) Active() bool {
	return r.Loss > 0 || r.Dup > 0 || r.Reorder > 0 || r.DelayMax > 0
}

// Config holds a Rule per direction (indexed by Direction) and the seed.
type Config struct {
	Dir  [2]Rule
	Seed uint64
}

// Active reports whether the config injects any fault.
func (c Config) Active() bool { return c.Dir[In].Active() || c.Dir[Out].Active() }

// String formats c as a spec that Parse reads back to c.
func (c Config) String() string {
	var toks []string
	for d, r := range c.Dir {
		p := Direction(d).String() + ":"
		if r.Loss > 0 {
			toks = append(toks, p+"loss="+pct(r.Loss))
		}
		if r.Dup > 0 {
			toks = append(toks, p+"dup="+pct(r.Dup))
		}
		if r.Reorder > 0 {
			toks = append(toks, p+"reorder="+pct(r.Reorder),
				p+"gap="+strconv.Itoa(r.ReorderGap), p+"hold="+r.ReorderHold.String())
		}
		if r.DelayMax > 0 {
			toks = append(toks, p+"delay="+r.DelayMin.String()+".."+r.DelayMax.String())
		}
	}
	toks = append(toks, "seed="+strconv.FormatUint(c.Seed, 10))
	return strings.Join(toks, ",")
}

func pct(p float64) string { return strconv.FormatFloat(p*100, 'g', -1, 64) + "%" }

// Parse reads a comma-separated list of key=value tokens:
//
//	loss=P     drop a packet with probability P
//	dup=P      send a packet twice with probability P
//	reorder=P  hold a packet back with probability P ...
//	gap=N      ... until N later packets have passed (default 3)
//	hold=D     ... or for at most D (default 10ms)
//	delay=D    delay every packet by D, or by a uniform draw from D1..D2
//	seed=N     PRNG seed (default 1)
//
// P is a percentage ("5%") or a fraction ("0.05"); D is a Go duration
// ("1ms", "250us"). A key may carry an "in:" or "out:" prefix to apply to one
// direction only; without one it applies to both. Tokens apply in order, so
// "loss=1%,out:loss=5%" means 1% in and 5% out. An empty spec injects
// nothing. Errors name the offending token.
func Parse(spec string) (Config, error) {
	c := Config{Seed: 1}
	for d := range c.Dir {
		c.Dir[d].ReorderGap = DefaultReorderGap
		c.Dir[d].ReorderHold = DefaultReorderHold
	}
	if strings.TrimSpace(spec) == "" {
		return c, nil
	}
	seen := map[string]bool{}
	for i, tok := range strings.Split(spec, ",") {
		tok = strings.TrimSpace(tok)
		if err := c.apply(tok, seen); err != nil {
			return Config{}, fmt.Errorf("faults: token %d %q: %w", i+1, tok, err)
		}
	}
	return c, nil
}

func (c *Config) apply(tok string, seen map[string]bool) error {
	key, val, ok := strings.Cut(tok, "=")
	if !ok || val == "" {
		return fmt.Errorf("want key=value")
	}
	if seen[key] {
		return fmt.Errorf("%s given twice", key)
	}
	seen[key] = true
	dirs := []Direction{In, Out}
	if p, k, ok := strings.Cut(key, ":"); ok {
		switch p {
		case "in":
			dirs = dirs[:1]
		case "out":
			dirs = dirs[1:]
		default:
			return fmt.Errorf("unknown direction %q (want in: or out:)", p)
		}
		key = k
	}
	set := func(f func(r *Rule)) {
		for _, d := range dirs {
			f(&c.Dir[d])
		}
	}
	switch key {
	case "loss", "dup", "reorder":
		p, err := parseProb(val)
		if err != nil {
			return err
		}
		set(func(r *Rule) {
			switch key {
			case "loss":
				r.Loss = p
			case "dup":
				r.Dup = p
			default:
				r.Reorder = p
			}
		})
	case "gap":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 1<<20 {
			return fmt.Errorf("gap %q: want a packet count in [1, %d]", val, 1<<20)
		}
		set(func(r *Rule) { r.ReorderGap = n })
	case "hold":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("hold %q: want a positive duration like 10ms", val)
		}
		set(func(r *Rule) { r.ReorderHold = d })
	case "delay":
		lo, hi, err := parseDelay(val)
		if err != nil {
			return err
		}
		set(func(r *Rule) { r.DelayMin, r.DelayMax = lo, hi })
	case "seed":
		if len(dirs) != 2 {
			return fmt.Errorf("seed applies to both directions; drop the prefix")
		}
		s, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q: want an unsigned integer", val)
		}
		c.Seed = s
	default:
		return fmt.Errorf("unknown key %q (want loss, dup, reorder, gap, hold, delay or seed)", key)
	}
	return nil
}

func parseProb(s string) (float64, error) {
	num, percent := strings.CutSuffix(s, "%")
	p, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("probability %q: want a percentage like 5%% or a fraction like 0.05", s)
	}
	if percent {
		p /= 100
	}
	if !(p >= 0 && p <= 1) { // also rejects NaN
		return 0, fmt.Errorf("probability %q outside 0%%..100%%", s)
	}
	return p, nil
}

func parseDelay(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(s, "..")
	if lo, err = time.ParseDuration(a); err != nil || lo < 0 {
		return 0, 0, fmt.Errorf("delay %q: want a duration like 2ms or a range like 1ms..5ms", s)
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(b); err != nil || hi < lo {
			return 0, 0, fmt.Errorf("delay %q: want a range lo..hi with 0 <= lo <= hi", s)
		}
	}
	if hi > time.Minute {
		return 0, 0, fmt.Errorf("delay %q: above one minute", s)
	}
	return lo, hi, nil
}
