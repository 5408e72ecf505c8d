package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tcpfsm/tcpfsm/spec"
)

// defaultSpec is the spec every command reads unless told otherwise,
// relative to the module root.
const defaultSpec = "spec/tcp.yaml"

const validateHelp = `
usage: tcpfsm validate [SPEC]

Validate parses and checks a spec (default spec/tcp.yaml, found from the
module root if not in the current directory). It prints a one-line summary
and exits 0 if the spec is valid; otherwise it prints every problem as
file:line:col: message, one per line, on stderr and exits 1.
`

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate")
	if code, ok := parse(fs, validateHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 1 {
		return usageError(fs, stderr, "want at most one spec file, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	if path == "" {
		path = findDefaultSpec()
	}
	m, code := loadSpec(fs.Name(), path, stderr)
	if m == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: %d states, %d events, %d rules: ok\n", path, len(m.States), len(m.Events), len(m.Rules))
	return 0
}

// loadSpec loads and validates the spec at path. On failure it prints every
// positioned error, one per line, or the read error, on stderr and returns
// nil and exit code 1.
func loadSpec(cmd, path string, stderr io.Writer) (*spec.Machine, int) {
	m, err := spec.Load(path)
	if err == nil {
		return m, 0
	}
	var list spec.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(stderr, e)
		}
	} else {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	}
	return nil, 1
}

// findDefaultSpec returns defaultSpec if it exists relative to the current
// directory, else the module root's copy if there is one (as a path relative
// to the current directory), else defaultSpec (so the error names it).
func findDefaultSpec() string {
	if _, err := os.Stat(defaultSpec); err == nil {
		return defaultSpec
	}
	wd, err := os.Getwd()
	if err != nil {
		return defaultSpec
	}
	root, ok := moduleRoot(wd)
	if !ok {
		return defaultSpec
	}
	p := filepath.Join(root, filepath.FromSlash(defaultSpec))
	if _, err := os.Stat(p); err != nil {
		return defaultSpec
	}
	if rel, err := filepath.Rel(wd, p); err == nil {
		return rel
	}
	return p
}

// moduleRoot walks up from dir to the nearest directory holding go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// specName names a spec in generated-file headers: its path relative to the
// module root, slash-separated ("spec/tcp.yaml" whether tcpfsm runs from the
// root or from machine/ under go generate). Outside a module it is the path
// as given, cleaned and slash-separated.
func specName(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(filepath.Clean(path))
	}
	if root, ok := moduleRoot(filepath.Dir(abs)); ok {
		if rel, err := filepath.Rel(root, abs); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}
