package main

import (
	"bytes"
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
	if !strings.Contains(out, "unfinished") || !strings.Contains(errOut, "raise -max-states") {
		t.Fatalf("an unfinished run must say so:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
}
