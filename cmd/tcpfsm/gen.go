package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/tcpfsm/tcpfsm/gen"
	"github.com/tcpfsm/tcpfsm/spec"
)

const genHelp = `
usage: tcpfsm gen [-spec FILE]... [-out DIR] [-docs DIR] [-v]

Gen loads and validates specs (default: every spec/*.yaml of the module),
then writes, for each, the generated Go files of the package its go key
names (machine_gen.go and stateless_gen.go, led by the lower-cased prefix
when it has one) and its docs (<machine>.dot, .md and .svg) into -docs;
-docs "" skips the docs. The Go files go into the package's directory in
this module, or into -out when exactly one spec is given. The SVG needs
Graphviz's dot. Files are written only when their content changed, so
unchanged files keep their modification times. Nothing is written if any
file of any spec fails to generate.

The headers name each spec by its path relative to the module root, so
machine/generate.go's

	//go:generate go run ../cmd/tcpfsm gen -spec ../spec/tcp.yaml -out . -docs ../docs

writes the same bytes as "tcpfsm gen" run from the repository root.
`

func runGen(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("gen")
	var specPaths specFlags
	flags.Var(&specPaths, "spec", "spec `file`; repeat for several (default every spec/*.yaml, found from the module root)")
	outDir := flags.String("out", "", "`dir`ectory for the generated Go files of the one -spec (default the package's directory)")
	docsDir := flags.String("docs", "docs", "`dir`ectory for <machine>.dot, .md and .svg (default the module root's docs); empty to skip them")
	verbose := flags.Bool("v", false, "list the files written and those left unchanged")
	if code, ok := parse(flags, genHelp, args, stdout, stderr); !ok {
		return code
	}
	if flags.NArg() > 0 {
		return usageError(flags, stderr, "unexpected argument %q (specs are given with -spec)", flags.Arg(0))
	}
	docsSet := false
	flags.Visit(func(f *flag.Flag) { docsSet = docsSet || f.Name == "docs" })
	paths := []string(specPaths)
	if len(paths) == 0 {
		paths = findSpecs()
	}
	if *outDir != "" && len(paths) != 1 {
		return usageError(flags, stderr, "-out applies to one spec; with %d, each goes to its package's directory", len(paths))
	}
	docs := *docsDir
	if !docsSet {
		docs = findDocsDir()
	}
	specs, code := loadSpecs(flags.Name(), paths, stderr)
	if specs == nil {
		return code
	}

	var files []outFile
	for i, m := range specs {
		more, err := generate(m, paths[i], *outDir, docs)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", flags.Name(), err)
			if errors.Is(err, gen.ErrNoDot) {
				fmt.Fprintf(stderr, "%s: use -docs \"\" to generate only the Go files\n", flags.Name())
			}
			return 1
		}
		files = append(files, more...)
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

// generate returns the files of one spec: its Go files in outDir (or its
// package's directory) and, unless docsDir is "", its docs.
func generate(m *spec.Machine, path, outDir, docsDir string) ([]outFile, error) {
	name := specName(path)
	dir := outDir
	if dir == "" {
		var err error
		if dir, err = packageDir(m, path); err != nil {
			return nil, err
		}
	}
	goFiles, err := gen.Go(m, name)
	if err != nil {
		return nil, err
	}
	files := appendFiles(nil, dir, goFiles)
	if docsDir != "" {
		docs, err := gen.Docs(m, name)
		if err != nil {
			return nil, err
		}
		files = appendFiles(files, docsDir, docs)
	}
	return files, nil
}

// findDocsDir is the module root's docs directory, relative to the current
// one; "docs" outside a module.
func findDocsDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "docs"
	}
	if root, ok := moduleRoot(wd); ok {
		return relToWD(wd, filepath.Join(root, "docs"))
	}
	return "docs"
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
