package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/tcpfsm/tcpfsm/gen"
)

const genHelp = `
usage: tcpfsm gen [-spec FILE] [-out DIR] [-docs DIR] [-v]

Gen loads and validates the spec, then writes the generated Go files of
package machine (machine_gen.go, stateless_gen.go) into -out and the docs
(tcp.dot, tcp.md, tcp.svg) into -docs; -docs "" skips the docs. The SVG
needs Graphviz's dot. Files are written only when their content changed,
so unchanged files keep their modification times. Nothing is written if
any file fails to generate.

The headers name the spec by its path relative to the module root, so
machine/generate.go's

	//go:generate go run ../cmd/tcpfsm gen -spec ../spec/tcp.yaml -out . -docs ../docs

writes the same bytes as "tcpfsm gen" run from the repository root.
`

func runGen(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("gen")
	specPath := flags.String("spec", "", "spec `file` (default spec/tcp.yaml, found from the module root)")
	outDir := flags.String("out", "machine", "`dir`ectory for the generated Go files")
	docsDir := flags.String("docs", "docs", "`dir`ectory for tcp.dot, tcp.md and tcp.svg; empty to skip them")
	verbose := flags.Bool("v", false, "list the files written and those left unchanged")
	if code, ok := parse(flags, genHelp, args, stdout, stderr); !ok {
		return code
	}
	if flags.NArg() > 0 {
		return usageError(flags, stderr, "unexpected argument %q (the spec is given with -spec)", flags.Arg(0))
	}
	if *outDir == "" {
		return usageError(flags, stderr, "-out must name a directory")
	}
	path := *specPath
	if path == "" {
		path = findDefaultSpec()
	}
	m, code := loadSpec(flags.Name(), path, stderr)
	if m == nil {
		return code
	}
	name := specName(path)

	var files []outFile
	goFiles, err := gen.Go(m, name)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", flags.Name(), err)
		return 1
	}
	files = appendFiles(files, *outDir, goFiles)
	if *docsDir != "" {
		docs, err := gen.Docs(m, name)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", flags.Name(), err)
			if errors.Is(err, gen.ErrNoDot) {
				fmt.Fprintf(stderr, "%s: use -docs \"\" to generate only the Go files\n", flags.Name())
			}
			return 1
		}
		files = appendFiles(files, *docsDir, docs)
	}

	for _, f := range files {
		changed, err := writeIfChanged(f.path, f.data)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", flags.Name(), err)
			return 1
		}
		if *verbose {
			state := "unchanged"
			if changed {
				state = "wrote"
			}
			fmt.Fprintf(stdout, "%s %s\n", state, f.path)
		}
	}
	return 0
}

// outFile is one generated file and where it goes.
type outFile struct {
	path string
	data []byte
}

// appendFiles adds the files of one generator, sorted by name.
func appendFiles(list []outFile, dir string, files map[string][]byte) []outFile {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		list = append(list, outFile{filepath.Join(dir, name), files[name]})
	}
	return list
}

// writeIfChanged writes data to path, creating the directory, unless the
// file already holds exactly data. It writes to a temporary file in the same
// directory and renames it, so a reader never sees half a file.
func writeIfChanged(path string, data []byte) (changed bool, err error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
