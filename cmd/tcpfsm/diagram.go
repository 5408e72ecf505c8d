package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tcpfsm/tcpfsm/gen"
	"github.com/tcpfsm/tcpfsm/spec"
)

const diagramHelp = `
usage: tcpfsm diagram [-format dot|mermaid|markdown|svg] [-spec FILE]... [-o FILE] [-self]

Diagram draws the spec's state machine: Graphviz DOT, a Mermaid
stateDiagram-v2, the Markdown page of docs/ (Mermaid diagram and rule
table), or SVG rendered by Graphviz's dot (which must be installed).
The client path (path: active) is bold blue, the server path
(path: passive) dashed green, other transitions thin grey. Rules that keep
the state are left out unless -self is given. Output goes to stdout, or
to the file named by -o. The spec defaults to spec/tcp.yaml; with several
-spec flags, -o names a directory and each machine's diagram goes to
DIR/<machine>.<format's extension>.
`

func runDiagram(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("diagram")
	format := fs.String("format", "dot", "output `format`: dot, mermaid, markdown or svg")
	var specPaths specFlags
	fs.Var(&specPaths, "spec", "spec `file`; repeat for several (default spec/tcp.yaml, found from the module root)")
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
	paths := []string(specPaths)
	if len(paths) == 0 {
		paths = []string{findDefaultSpec()}
	}
	if len(paths) > 1 && *outPath == "" {
		return usageError(fs, stderr, "%d specs need -o DIR: each machine's diagram is a file of its own", len(paths))
	}
	specs, code := loadSpecs(fs.Name(), paths, stderr)
	if specs == nil {
		return code
	}
	if len(specs) > 1 {
		if err := os.MkdirAll(*outPath, 0o755); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			return 1
		}
	}
	for i, m := range specs {
		out, err := drawDiagram(m, *format, gen.DiagramOptions{SelfLoops: *self, SpecName: specName(paths[i])})
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			return 1
		}
		target := *outPath
		if len(specs) > 1 {
			target = filepath.Join(*outPath, m.Name+diagramExt[*format])
		}
		if code := writeOutput(fs.Name(), target, out, stdout, stderr); code != 0 {
			return code
		}
	}
	return 0
}

// diagramExt is the file extension of each -format.
var diagramExt = map[string]string{"dot": ".dot", "mermaid": ".mmd", "markdown": ".md", "md": ".md", "svg": ".svg"}

// drawDiagram renders one machine in one format.
func drawDiagram(m *spec.Machine, format string, opts gen.DiagramOptions) ([]byte, error) {
	switch format {
	case "mermaid":
		return gen.MermaidWith(m, opts), nil
	case "markdown", "md":
		return gen.Markdown(m, opts.SpecName), nil
	case "svg":
		return gen.SVGFile(gen.DOTWith(m, opts), opts.SpecName)
	}
	return gen.DOTWith(m, opts), nil
}

// writeOutput writes out to the file named path, or to stdout if path is "".
func writeOutput(cmd, path string, out []byte, stdout, stderr io.Writer) int {
	if path == "" {
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintf(stderr, "%s: write output: %v\n", cmd, err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	return 0
}
