// SVG (Graphviz's dot) and the bundle of docs files Docs writes.

package gen

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/tcpfsm/tcpfsm/spec"
)

// SVG renders DOT source to SVG with Graphviz (`dot -Tsvg`). It returns
// ErrNoDot if Graphviz is not installed. Graphviz's output for the same
// input and version is the same bytes every run.
func SVG(dot []byte) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, ErrNoDot
	}
	ctx, cancel := context.WithTimeout(context.Background(), dotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return nil, fmt.Errorf("graphviz dot -Tsvg: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("graphviz dot -Tsvg: %w", err)
	}
	return out.Bytes(), nil
}

// Docs returns the generated documentation for the docs directory, named
// after the machine (for spec/tcp.yaml, machine tcp): "tcp.dot" (DOTWith,
// rules that keep the state left out), "tcp.md" (Markdown) and "tcp.svg"
// (the DOT rendered by SVG), each with a generated-file header naming
// specName. It needs Graphviz for the SVG and returns an error wrapping
// ErrNoDot without it.
func Docs(m *spec.Machine, specName string) (map[string][]byte, error) {
	if !docsName(m.Name) {
		return nil, fmt.Errorf("%s: machine name %q cannot name the docs files: want letters, digits, '_' and '-'", m.Pos, m.Name)
	}
	dot := DOTWith(m, DiagramOptions{SpecName: specName})
	svg, err := SVG(dot)
	if err != nil {
		return nil, fmt.Errorf("render %s.svg: %w", m.Name, err)
	}
	return map[string][]byte{
		m.Name + ".dot": dot,
		m.Name + ".md":  Markdown(m, specName),
		m.Name + ".svg": svgHeader(svg, specName),
	}, nil
}

// docsName reports whether a machine name is safe as a file name.
func docsName(name string) bool {
	if name == "" || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// SVGFile is SVG with the generated-file comment naming specName, as the
// diagrams gen writes carry it.
func SVGFile(dot []byte, specName string) ([]byte, error) {
	svg, err := SVG(dot)
	if err != nil {
		return nil, err
	}
	return svgHeader(svg, specName), nil
}

// svgHeader puts the generated-file comment after the XML declaration.
func svgHeader(svg []byte, specName string) []byte {
	comment := "<!-- " + diagHeader(specName) + " -->\n"
	if bytes.HasPrefix(svg, []byte("<?xml")) {
		if i := bytes.IndexByte(svg, '\n'); i >= 0 {
			out := make([]byte, 0, len(svg)+len(comment))
			out = append(out, svg[:i+1]...)
			out = append(out, comment...)
			return append(out, svg[i+1:]...)
		}
	}
	return append([]byte(comment), svg...)
}
