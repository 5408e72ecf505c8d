package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestValidateOK(t *testing.T) {
	m := loadTCP(t)
	want := fmt.Sprintf("%s: machine tcp, %d states, %d events, %d rules: ok\n", tcpSpec, len(m.States), len(m.Events), len(m.Rules))
	code, out, errOut := call("validate", tcpSpec)
	if code != 0 || out != want || errOut != "" {
		t.Errorf("validate %s: exit %d, stdout %q, stderr %q; want 0, %q", tcpSpec, code, out, errOut, want)
	}
}

// With no argument, validate finds every spec/*.yaml from the module root
// (the test runs in cmd/tcpfsm): the TCP machine and the congestion one.
func TestValidateDefaultSpec(t *testing.T) {
	code, out, errOut := call("validate")
	if code != 0 || errOut != "" {
		t.Fatalf("validate: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var names []string
	for _, l := range lines {
		if !strings.HasSuffix(l, ": ok") {
			t.Errorf("validate printed %q, want ok", l)
		}
		names = append(names, strings.SplitN(l, ":", 2)[0])
	}
	want := []string{filepath.Join("..", "..", "spec", "cc.yaml"), filepath.Join("..", "..", "spec", "tcp.yaml")}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("validate read %v, want the module's specs %v", names, want)
	}
}

// writeBroken writes the TCP spec with old replaced by new into a temp dir
// and returns its path and the 1-based line of the change.
func writeBroken(t *testing.T, old, new string) (path string, line int) {
	t.Helper()
	data, err := os.ReadFile(tcpSpec)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), old)
	if i < 0 {
		t.Fatalf("%q not in %s", old, tcpSpec)
	}
	line = strings.Count(string(data[:i]), "\n") + 1
	path = filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, line
}

func TestValidateBrokenSpec(t *testing.T) {
	for _, c := range []struct {
		name, old, new, msg string
	}{
		{"unknown state", "to: SYN-SENT, rfc", "to: SYN-SNET, rfc", "SYN-SNET"},
		{"unknown key", "{id: closed_open_passive,", "{id: closed_open_passive, colour: red,", "colour"},
		{"yaml syntax", "machine: tcp", "machine: [tcp", "syntax error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, _ := writeBroken(t, c.old, c.new)
			code, out, errOut := call("validate", path)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q; want 1 and nothing (stderr %q)", code, out, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			positioned := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:\d+:\d+: \S`)
			found := false
			for _, l := range lines {
				if !positioned.MatchString(l) {
					t.Errorf("stderr line is not file:line:col: msg: %q", l)
				}
				if strings.Contains(l, c.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error mentions %q:\n%s", c.msg, errOut)
			}
		})
	}
}

// The position points at the broken line.
func TestValidateErrorLine(t *testing.T) {
	path, line := writeBroken(t, "to: SYN-SENT, rfc", "to: SYN-SNET, rfc")
	_, _, errOut := call("validate", path)
	want := fmt.Sprintf("%s:%d:", path, line)
	if !strings.Contains(errOut, want) {
		t.Errorf("no error at %s:\n%s", want, errOut)
	}
}

func TestValidateMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, errOut := call("validate", path)
	if code != 1 || !strings.Contains(errOut, "nope.yaml") {
		t.Errorf("exit %d, stderr %q; want 1 naming the file", code, errOut)
	}
}

// Two specs naming one machine would write the same docs files.
func TestValidateSameMachineTwice(t *testing.T) {
	code, out, errOut := call("validate", tcpSpec, tcpSpec)
	if code != 1 || out != "" || !strings.Contains(errOut, `both name machine "tcp"`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 naming the clash", code, out, errOut)
	}
}

// Two specs generating into one package need different prefixes.
func TestValidatePrefixClash(t *testing.T) {
	dir := t.TempDir()
	const body = `machine: %s
go: {package: "example.com/p", prefix: %q}
initial: A
states: [{name: A}]
events: {go: {kind: user, doc: "x"}}
rules: [{id: r, from: A, on: go, do: [], to: same, rfc: "1"}]
`
	a, b, c := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yaml")
	for _, f := range []struct{ path, name, prefix string }{{a, "a", "P"}, {b, "b", "P"}, {c, "c", "Q"}} {
		if err := os.WriteFile(f.path, []byte(fmt.Sprintf(body, f.name, f.prefix)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := call("validate", a, b)
	if code != 1 || !strings.Contains(errOut, `both generate into package example.com/p with prefix "P"`) {
		t.Errorf("validate a b: exit %d, stderr %q; want 1 naming the clash", code, errOut)
	}
	if code, out, errOut := call("validate", a, c); code != 0 || strings.Count(out, ": ok\n") != 2 {
		t.Errorf("validate a c: exit %d, stdout %q, stderr %q; want both ok", code, out, errOut)
	}
}

func TestSpecName(t *testing.T) {
	abs, err := filepath.Abs(tcpSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tcpSpec, abs, "../../machine/../spec/tcp.yaml"} {
		if got := specName(p); got != "spec/tcp.yaml" {
			t.Errorf("specName(%q) = %q, want spec/tcp.yaml", p, got)
		}
	}
	// Outside any module: the cleaned path as given.
	dir := t.TempDir()
	if _, ok := moduleRoot(dir); ok {
		t.Skipf("%s is inside a module", dir)
	}
	p := filepath.Join(dir, "x", "..", "s.yaml")
	if got, want := specName(p), filepath.ToSlash(filepath.Join(dir, "s.yaml")); got != want {
		t.Errorf("specName(%q) = %q, want %q", p, got, want)
	}
}
