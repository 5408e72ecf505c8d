package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func runCheckArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runCheck(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckHelp(t *testing.T) {
	code, out, _ := runCheckArgs("-h")
	if code != 0 {
		t.Fatalf("check -h: exit %d, want 0", code)
	}
	for _, want := range []string{"usage: tcpfsm check", "-depth", "-loss", "-dup", "-reorder", "-mutate", "lastack-timewait", "synack-ack-x"} {
		if !strings.Contains(out, want) {
			t.Errorf("check -h does not mention %q:\n%s", want, out)
		}
	}
}

func TestCheckBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-depth", "0"},
		{"-depth", "x"},
		{"-inflight", "0"},
		{"-mutate", "no-such-mutation"},
		{"-nosuchflag"},
		{"extra"},
	} {
		code, out, errs := runCheckArgs(args...)
		if code != 2 {
			t.Errorf("check %v: exit %d, want 2 (bad usage)", args, code)
		}
		if out != "" || !strings.Contains(errs, "tcpfsm check") {
			t.Errorf("check %v: want the problem on stderr only; stdout %q, stderr %q", args, out, errs)
		}
	}
}

func TestCheckSmall(t *testing.T) {
	code, out, errs := runCheckArgs("-depth", "6", "-q")
	if code != 0 {
		t.Fatalf("check -depth 6: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"states explored:", "transitions:", "max depth:       6", "states/s", "violations:      none"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if errs != "" {
		t.Errorf("check -q wrote to stderr: %q", errs)
	}
}

// TestCheckMutation: each built-in mutation yields a counterexample, as a
// Mermaid sequence diagram naming the broken invariant, and exit 1.
func TestCheckMutation(t *testing.T) {
	for _, tc := range []struct{ name, invariant string }{
		{"synack-ack-x", "invariant 4"},
		{"lastack-timewait", "invariant 8"},
	} {
		code, out, _ := runCheckArgs("-mutate", tc.name, "-depth", "12", "-writes", "0", "-q")
		if code != 1 {
			t.Errorf("check -mutate %s: exit %d, want 1\n%s", tc.name, code, out)
			continue
		}
		for _, want := range []string{"VIOLATION of " + tc.invariant, "```mermaid", "sequenceDiagram", "participant A", "participant Net", "participant B", "seq=", "ack="} {
			if !strings.Contains(out, want) {
				t.Errorf("check -mutate %s: output lacks %q:\n%s", tc.name, want, out)
			}
		}
	}
}

// TestCheckUnfinishedFails: a search cut short by -max-states must not
// exit 0, or CI could pass on a check that never covered its bound.
func TestCheckUnfinishedFails(t *testing.T) {
	code, out, errOut := runCheckArgs("-depth", "30", "-max-states", "50")
	if code != 1 {
		t.Fatalf("exit %d with -max-states 50, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "result:          STOPPED, INCOMPLETE: -max-states 50 was reached") || !strings.Contains(out, "raise -max-states") {
		t.Fatalf("an unfinished run must say so in one line:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// TestCheckMemoryBudget: a search that outgrows -mem stops, says so in one
// line and exits 1; the memory it reports stays near the budget.
func TestCheckMemoryBudget(t *testing.T) {
	code, out, errOut := runCheckArgs("-depth", "40", "-loss", "-dup", "-reorder", "-mem", "150MiB")
	if code != 1 {
		t.Fatalf("exit %d with -mem 150MiB, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "result:          STOPPED, INCOMPLETE: the memory budget (150 MiB) was reached") {
		t.Fatalf("the stop must be said in one line:\n%s", out)
	}
	var peak float64
	if _, err := fmt.Sscanf(out[strings.Index(out, "memory:"):], "memory:          peak %f MiB", &peak); err != nil || peak > 250 {
		t.Fatalf("peak %v MiB (%v) for a 150 MiB budget:\n%s", peak, err, out)
	}
	for _, v := range []string{"x", "2TB", "-1GiB", "1.5.2MB"} {
		if code, _, errOut := runCheckArgs("-mem", v); code != 2 || !strings.Contains(errOut, "-mem") {
			t.Errorf("-mem %q: exit %d, stderr %q; want a usage error", v, code, errOut)
		}
	}
}

func TestMemBudget(t *testing.T) {
	for v, want := range map[string]uint64{"0": 0, "500MB": 500e6, "2GiB": 2 << 30, "1.5KiB": 1536, "4096": 4096} {
		if got, err := memBudget(v); err != nil || got != want {
			t.Errorf("memBudget(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	if got, err := memBudget(""); err != nil || got == 0 {
		t.Errorf("the default budget is %d, %v; want a quarter of RAM", got, err)
	}
}
