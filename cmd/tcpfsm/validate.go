package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/tcpfsm/tcpfsm/spec"
)

const validateHelp = `
usage: tcpfsm validate [SPEC...]

Validate parses and checks specs (default: every spec/*.yaml of the module,
found from the module root if not in the current directory). It prints a
one-line summary per spec and exits 0 if all are valid; otherwise it prints
every problem as file:line:col: message, one per line, on stderr and
exits 1. Specs that generate into one Go package must have different
go.prefix values, or their names would collide.
`

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate")
	if code, ok := parse(fs, validateHelp, args, stdout, stderr); !ok {
		return code
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = findSpecs()
	}
	specs, code := loadSpecs(fs.Name(), paths, stderr)
	if specs == nil {
		return code
	}
	for i, m := range specs {
		fmt.Fprintf(stdout, "%s: machine %s, %d states, %d events, %d rules: ok\n", paths[i], m.Name, len(m.States), len(m.Events), len(m.Rules))
	}
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
