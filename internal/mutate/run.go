package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type verdict uint8

// shrinkTime bounds rapid's search for a smaller failing case.
const shrinkTime = 2 * time.Second

const (
	survived verdict = iota
	killedMutant
	invalidMutant
)

func (v verdict) String() string {
	return [...]string{"survived", "killed", "invalid"}[v]
}

type result struct {
	verdict verdict
	by      string // "property" or "checker"
	why     string // the first invariant named, "panic", "timeout", ...
	output  string // the failing run's output (baseline only)
}

type runner struct {
	root, tmp string
	o         options
}

// test runs the property suite, then (if the mutant survived it) the
// checker's exploration test, on the tree with m's files in place.
func (r *runner) test(m Mutant, n int) result {
	var overlay string
	if len(m.Files) > 0 {
		dir := filepath.Join(r.tmp, strconv.Itoa(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return result{verdict: invalidMutant, why: err.Error()}
		}
		replace := map[string]string{}
		k := 0
		for path, data := range m.Files {
			k++
			f := filepath.Join(dir, fmt.Sprintf("%d_%s", k, filepath.Base(path)))
			if err := os.WriteFile(f, data, 0o644); err != nil {
				return result{verdict: invalidMutant, why: err.Error()}
			}
			replace[path] = f
		}
		b, _ := json.Marshal(map[string]any{"Replace": replace})
		overlay = filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(overlay, b, 0o644); err != nil {
			return result{verdict: invalidMutant, why: err.Error()}
		}
		defer os.RemoveAll(dir)
	}
	runs := []struct {
		by   string
		args []string
	}{
		// TestNearWrapKey searches for a key, whatever the machine does.
		// A kill needs a failure, not its smallest form: rapid's default
		// 30 s of shrinking would outlast the run's timeout and hide
		// which invariant failed.
		{"property", []string{"test", "-count=1", "-skip", "TestMutation|TestNearWrapKey", "./proptest", "./cc", "-rapid.nofailfile", "-rapid.shrinktime=" + shrinkTime.String(), "-rapid.checks=" + strconv.Itoa(r.o.checks)}},
		{"checker", []string{"test", "-count=1", "-run", "TestPropertyExhaustive", "./proptest/check"}},
	}
	if len(m.Tests) > 0 {
		runs = runs[:1]
		runs[0].args = append([]string{"test", "-count=1"}, m.Tests...)
	} else if !touches(m, filepath.Join(r.root, "cc")) {
		// cc does not import machine: its tests cannot see a mutant
		// elsewhere, and take seconds per run.
		runs[0].args = slices.DeleteFunc(slices.Clone(runs[0].args), func(a string) bool { return a == "./cc" })
	}
	for _, run := range runs {
		args := append([]string{run.args[0], "-timeout", r.o.timeout.String()}, run.args[1:]...)
		if overlay != "" {
			args = append([]string{args[0], "-overlay", overlay}, args[1:]...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*r.o.timeout+time.Minute)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = r.root
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			continue
		}
		if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
			return result{verdict: invalidMutant, why: "does not compile", output: string(out)}
		}
		return result{verdict: killedMutant, by: run.by, why: why(out), output: string(out)}
	}
	return result{verdict: survived}
}

// touches reports whether m changes a file under dir.
func touches(m Mutant, dir string) bool {
	for path := range m.Files {
		if strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

var invariantRE = regexp.MustCompile(`invariant (\d+):`)

// why names what killed a mutant: the first invariant a failure names, a
// panic, a timeout, or a failed test.
func why(out []byte) string {
	switch {
	case bytes.Contains(out, []byte("panic: test timed out")):
		return "timeout"
	case bytes.Contains(out, []byte("panic:")):
		return "panic"
	}
	if m := invariantRE.FindSubmatch(out); m != nil {
		return "invariant " + string(m[1])
	}
	if i := bytes.Index(out, []byte("--- FAIL: ")); i >= 0 {
		line, _, _ := bytes.Cut(out[i+len("--- FAIL: "):], []byte("\n"))
		return "failed " + string(line)
	}
	return "failed"
}
