package main

import (
	"fmt"
	"io"
	"os"

	"github.com/tcpfsm/tcpfsm/gen"
)

const diagramHelp = `
usage: tcpfsm diagram [-format dot|mermaid|markdown|svg] [-spec FILE] [-o FILE] [-self]

Diagram draws the spec's state machine: Graphviz DOT, a Mermaid
stateDiagram-v2, the Markdown page of docs/ (Mermaid diagram and rule
table), or SVG rendered by Graphviz's dot (which must be installed).
The client path (path: active) is bold blue, the server path
(path: passive) dashed green, other transitions thin grey. Rules that keep
the state are left out unless -self is given. Output goes to stdout, or
to the file named by -o.
`

func runDiagram(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("diagram")
	format := fs.String("format", "dot", "output `format`: dot, mermaid, markdown or svg")
	specPath := fs.String("spec", "", "spec `file` (default spec/tcp.yaml, found from the module root)")
	outPath := fs.String("o", "", "write to `file` instead of stdout")
	self := fs.Bool("self", false, "also draw the rules that keep the state (to: same)")
	if code, ok := parse(fs, diagramHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q (the spec is given with -spec)", fs.Arg(0))
	}
	switch *format {
	case "dot", "mermaid", "markdown", "md", "svg":
	default:
		return usageError(fs, stderr, "unknown -format %q: want dot, mermaid, markdown or svg", *format)
	}
	if *self && (*format == "markdown" || *format == "md") {
		return usageError(fs, stderr, "-self does not apply to -format markdown (its table lists every rule)")
	}
	path := *specPath
	if path == "" {
		path = findDefaultSpec()
	}
	m, code := loadSpec(fs.Name(), path, stderr)
	if m == nil {
		return code
	}
	opts := gen.DiagramOptions{SelfLoops: *self, SpecName: specName(path)}
	var out []byte
	switch *format {
	case "dot":
		out = gen.DOTWith(m, opts)
	case "mermaid":
		out = gen.MermaidWith(m, opts)
	case "markdown", "md":
		out = gen.Markdown(m, opts.SpecName)
	case "svg":
		svg, err := gen.SVG(gen.DOTWith(m, opts))
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			return 1
		}
		out = svg
	}
	if *outPath == "" {
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintf(stderr, "%s: write output: %v\n", fs.Name(), err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*outPath, out, 0o644); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	return 0
}
